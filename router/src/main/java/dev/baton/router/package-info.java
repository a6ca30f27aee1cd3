/**
 * The router: OpenAI-compatible HTTP API (Pekko HTTP), admission, routing policy, cluster view and
 * the SLO planner. Uses only the tokenizer part of the engine. Filled by the cluster issue.
 */
package dev.baton.router;
