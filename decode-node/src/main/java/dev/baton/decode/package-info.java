/**
 * The decode role: receives KV blocks, admits sequences into a continuous-batching decode loop and
 * streams token chunks to the router. Filled by the cluster issue.
 */
package dev.baton.decode;
