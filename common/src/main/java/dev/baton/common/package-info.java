/**
 * Types every module shares: id records, the one {@link dev.baton.common.BlockHasher} (DESIGN.md §6),
 * settings records, and (with the kv-transfer issue) the SBE wire schemas and KV event types.
 */
package dev.baton.common;
