/**
 * Moving KV blocks between processes: the Aeron transport (IPC and UDP), the Chronicle Map host
 * tier and host prefix index, and the NCCL transport. No Pekko here. Filled by the kv-transfer issue.
 */
package dev.baton.kvtransfer;
