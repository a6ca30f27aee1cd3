package dev.baton.bench.chaos;

/**
 * How long the cluster took to serve at its pre-fault rate again, from the output it streamed: content chunks
 * counted per time bucket over the whole run. The pre-fault rate is the mean over a window before the fault;
 * the cluster has recovered at the start of the first window after the fault (as long as the recovery window,
 * starting at or after the fault) whose rate is at least {@code fraction} of it. A fault that does not slow the
 * cluster down recovers in 0 ms. Pure.
 */
public final class Recovery {

    private Recovery() {}

    /**
     * The result for one fault.
     *
     * @param preFaultPerSecond content chunks per second in the window before the fault
     * @param recoveryMs        the time from the fault to the start of the first window at the pre-fault rate; -1 when
     *                          no such window began before {@code untilMs}
     */
    public record Result(double preFaultPerSecond, long recoveryMs) {

        public boolean recovered() {
            return recoveryMs >= 0;
        }
    }

    /**
     * @param counts      content chunks per bucket, bucket 0 starting at time 0
     * @param bucketMs    the bucket length
     * @param faultMs     when the fault happened
     * @param preWindowMs the window before the fault that sets the rate to get back to (cut at time 0)
     * @param windowMs    the recovery window
     * @param fraction    the share of the pre-fault rate that counts as recovered, in (0, 1]
     * @param untilMs     windows must start before this (the next fault, or the end of the load)
     */
    public static Result of(long[] counts, long bucketMs, long faultMs, long preWindowMs, long windowMs, double fraction,
            long untilMs) {
        if (bucketMs <= 0 || windowMs < bucketMs || preWindowMs < bucketMs || !(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("bad recovery parameters: bucket " + bucketMs + " ms, window " + windowMs
                    + " ms, pre-fault window " + preWindowMs + " ms, fraction " + fraction);
        }
        int fault = (int) (faultMs / bucketMs);
        int pre = (int) Math.min(fault, preWindowMs / bucketMs);
        double preRate = pre == 0 ? 0 : sum(counts, fault - pre, fault) * 1000.0 / (pre * bucketMs);
        int window = (int) (windowMs / bucketMs);
        int until = (int) Math.min(counts.length - window + 1L, untilMs / bucketMs);
        for (int s = fault; s < until; s++) {
            double rate = sum(counts, s, s + window) * 1000.0 / (window * bucketMs);
            if (rate >= fraction * preRate) {
                return new Result(preRate, Math.max(0, s * bucketMs - faultMs));
            }
        }
        return new Result(preRate, -1);
    }

    /**
     * Content chunks per bucket from their arrival times.
     *
     * @param arrivalsMs arrival times in ms since the start (negative ones and those past {@code lengthMs} are left out)
     */
    public static long[] buckets(long[] arrivalsMs, long bucketMs, long lengthMs) {
        long[] counts = new long[(int) ((lengthMs + bucketMs - 1) / bucketMs)];
        for (long t : arrivalsMs) {
            if (t >= 0 && t < lengthMs) {
                counts[(int) (t / bucketMs)]++;
            }
        }
        return counts;
    }

    private static long sum(long[] counts, int from, int to) {
        long s = 0;
        for (int i = Math.max(0, from); i < Math.min(counts.length, to); i++) {
            s += counts[i];
        }
        return s;
    }
}
