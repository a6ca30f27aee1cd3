package dev.baton.engine.sampling;

import java.util.Arrays;
import java.util.Objects;

/**
 * Decides when one sequence finishes and which of its text may be streamed yet. One per sequence,
 * fed every generated token in order; not thread-safe.
 *
 * <ul>
 *   <li><b>stop token</b>: a token in {@code stop_token_ids}, or an end-of-sequence token unless
 *       {@code ignore_eos}: finish {@link FinishReason#STOP}; the token's text is not emitted.</li>
 *   <li><b>stop string</b>: the text is cut just before the first occurrence of any stop string
 *       (which may span several tokens): finish {@link FinishReason#STOP}; the stop string and
 *       anything after it are never emitted.</li>
 *   <li><b>length</b>: the {@code max_tokens}-th token (counting stop tokens) finishes the sequence
 *       with {@link FinishReason#LENGTH} unless it stopped it first; held text is released.</li>
 * </ul>
 * Text that could be the beginning of a stop string (the longest suffix of the pending text that is
 * a prefix of one) is held back until the next piece shows whether it is. Pieces are decoded text:
 * the detokenizer must already have joined partial UTF-8 sequences.
 *
 * <p>{@link #onToken} allocates nothing (the pending text lives in a reused builder); it costs about
 * (pending length + held length &times; stop string length) per stop string.
 */
public final class StopChecker {

    private final int[] stopTokens;
    private final String[] stopStrings;
    private final int maxTokens;
    private final StringBuilder pending = new StringBuilder(64);
    private int generated;
    private FinishReason finishReason;
    private int matchedToken = -1;
    private String matchedString;

    /**
     * @param params      validated parameters (stop ids, stop strings, max tokens, ignore_eos)
     * @param eosTokenIds the model's end-of-sequence tokens (ignored when {@code ignore_eos})
     */
    public StopChecker(SamplingParams params, int... eosTokenIds) {
        Objects.requireNonNull(params, "params");
        int[] ids = params.stopTokenIds().stream().mapToInt(Integer::intValue).toArray();
        if (!params.ignoreEos()) {
            int n = ids.length;
            ids = Arrays.copyOf(ids, n + eosTokenIds.length);
            System.arraycopy(eosTokenIds, 0, ids, n, eosTokenIds.length);
        }
        Arrays.sort(ids);
        this.stopTokens = ids;
        this.stopStrings = params.stopStrings().toArray(String[]::new);
        this.maxTokens = params.maxTokens();
    }

    /**
     * Feeds the next generated token and its text; appends to {@code out} the text that can be
     * streamed now.
     *
     * @return {@code true} if the sequence is finished (see {@link #finishReason()})
     * @throws IllegalStateException if called after the sequence finished
     */
    public boolean onToken(int tokenId, CharSequence piece, StringBuilder out) {
        if (finishReason != null) {
            throw new IllegalStateException("sequence already finished (" + finishReason.wireName() + ")");
        }
        generated++;
        if (Arrays.binarySearch(stopTokens, tokenId) >= 0) {
            matchedToken = tokenId;
            return finish(FinishReason.STOP, out);
        }
        pending.append(piece);
        int cut = -1;
        for (String s : stopStrings) {
            int at = pending.indexOf(s);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
                matchedString = s;
            }
        }
        if (cut >= 0) {
            pending.setLength(cut);
            return finish(FinishReason.STOP, out);
        }
        if (generated >= maxTokens) {
            return finish(FinishReason.LENGTH, out);
        }
        int emit = pending.length() - heldLength();
        if (emit > 0) {
            out.append(pending, 0, emit);
            pending.delete(0, emit);
        }
        return false;
    }

    /** Releases held text (for a sequence ended by other means, e.g. cancelled). */
    public void flush(StringBuilder out) {
        out.append(pending);
        pending.setLength(0);
    }

    public boolean isFinished() {
        return finishReason != null;
    }

    /** {@code null} while the sequence runs. */
    public FinishReason finishReason() {
        return finishReason;
    }

    /** The stop or end-of-sequence token that finished the sequence, or -1. */
    public int matchedStopToken() {
        return matchedToken;
    }

    /** The stop string that finished the sequence, or {@code null}. */
    public String matchedStopString() {
        return matchedString;
    }

    /** Tokens fed so far. */
    public int generatedCount() {
        return generated;
    }

    /** Characters held back right now. */
    public int heldBackChars() {
        return pending.length();
    }

    private boolean finish(FinishReason reason, StringBuilder out) {
        finishReason = reason;
        flush(out);
        return true;
    }

    /** The longest suffix of the pending text that is a proper prefix of some stop string. */
    private int heldLength() {
        int len = pending.length();
        int held = 0;
        for (String s : stopStrings) {
            for (int k = Math.min(s.length() - 1, len); k > held; k--) {
                if (endsWithPrefix(s, k, len)) {
                    held = k;
                    break;
                }
            }
        }
        return held;
    }

    private boolean endsWithPrefix(String s, int k, int len) {
        for (int i = 0; i < k; i++) {
            if (pending.charAt(len - k + i) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
