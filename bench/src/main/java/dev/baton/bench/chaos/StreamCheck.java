package dev.baton.bench.chaos;

/**
 * How the text one stream delivered compares with the undisturbed text of the same request (greedy or seeded,
 * so the same prompt always gives the same text): identical, a clean prefix of it (the stream failed and said
 * so: a client-visible failure, not a corruption), or corrupted — text left out (a gap), text sent twice (a
 * repeat), or otherwise different. Pure.
 *
 * @param kind  the verdict
 * @param at    where in the delivered text the stream leaves the undisturbed one (characters); -1 when it does not
 * @param chars how many characters are missing ({@link Kind#GAP}) or repeated ({@link Kind#REPEAT}); 0 otherwise
 */
public record StreamCheck(Kind kind, int at, int chars) {

    /** The verdicts; {@link #corrupt()} says which ones must never happen. */
    public enum Kind {
        /** The delivered text equals the undisturbed one. */
        IDENTICAL,
        /** The stream failed visibly (HTTP status, error event, cut off) after a clean prefix of the text. */
        PREFIX,
        /** Text is missing: the stream jumps ahead in the undisturbed text. */
        GAP,
        /** Text is delivered twice: the stream jumps back in the undisturbed text. */
        REPEAT,
        /** The delivered text departs from the undisturbed one in another way. */
        DIFFERENT;

        /** Whether the stream's content is wrong (a gap, a repeat or different text), not just cut short. */
        public boolean corrupt() {
            return this == GAP || this == REPEAT || this == DIFFERENT;
        }
    }

    /**
     * Compares one stream with the undisturbed text.
     *
     * @param expected the undisturbed text of the request
     * @param received what the stream delivered (all its content chunks in order)
     * @param complete whether the stream ended cleanly ({@code [DONE]} with no error event): then the text must be
     *     whole; a stream that failed visibly may stop anywhere, as long as what it delivered is right
     */
    public static StreamCheck of(String expected, String received, boolean complete) {
        if (received.equals(expected)) {
            return new StreamCheck(Kind.IDENTICAL, -1, 0);
        }
        int p = commonPrefix(expected, received);
        if (p == received.length()) {
            // a strict prefix: fine for a failed stream, text missing at the end of a "complete" one
            return complete ? new StreamCheck(Kind.GAP, p, expected.length() - p) : new StreamCheck(Kind.PREFIX, -1, 0);
        }
        String rest = received.substring(p);
        int q = -1;
        if (complete) {
            // the rest must be the end of the undisturbed text
            if (expected.endsWith(rest)) {
                q = expected.length() - rest.length();
            }
        } else {
            // the rest must continue the undisturbed text from some other point: take the one nearest to p
            for (int d = 1; d <= expected.length() && q < 0; d++) {
                if (p - d >= 0 && expected.startsWith(rest, p - d)) {
                    q = p - d;
                } else if (p + d <= expected.length() && expected.startsWith(rest, p + d)) {
                    q = p + d;
                }
            }
        }
        if (q < 0 || q == p) {
            return new StreamCheck(Kind.DIFFERENT, p, 0);
        }
        return q > p ? new StreamCheck(Kind.GAP, p, q - p) : new StreamCheck(Kind.REPEAT, p, p - q);
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }
}
