/**
 * The prefill role: Pekko membership and actors around a batched, chunked prefill loop that ships
 * KV blocks to decode nodes. Filled by the cluster issue.
 */
package dev.baton.prefill;
