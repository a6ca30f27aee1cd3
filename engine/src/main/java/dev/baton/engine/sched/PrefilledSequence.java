package dev.baton.engine.sched;

import dev.baton.common.RequestId;
import dev.baton.engine.kv.KvSequence;

/**
 * A prompt whose KV is computed on a prefill node, ready to be handed to a decode node.
 *
 * @param id          the request
 * @param kv          the prompt's KV ({@code kv.length()} is the prompt length); owned by the receiver
 * @param prompt      the prompt's token ids (not a copy)
 * @param firstToken  the token sampled from the last prompt position's logits
 * @param firstText   the text that token completed (what the client has been sent)
 * @param seed        the sampler's seed, which the decode node must use to continue the same draws
 * @param cacheSalt   the request's tenant cache salt (its blocks' hashes start from its root)
 */
public record PrefilledSequence(RequestId id, KvSequence kv, int[] prompt, int firstToken, String firstText,
        long seed, String cacheSalt) {}
