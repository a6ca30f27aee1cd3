package dev.baton.router.planner;

import dev.baton.planner.Observation;
import dev.baton.planner.Pool;
import dev.baton.planner.RequestTrace;
import dev.baton.planner.Summary;
import dev.baton.router.api.RequestObserver;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Collects one planner interval of the API's requests: arrivals, the lengths and latencies of finished
 * requests, first-token times. {@link #take} hands the interval over and starts the next. Past
 * {@value #CAP} samples in one interval, percentiles come from a uniform reservoir of that many.
 *
 * <p>Thread-safe (one lock, held for a few array stores per request).
 */
final class IntervalRecorder implements RequestObserver {

    static final int CAP = 50_000;

    private final long startNanos;
    private final boolean tracing;
    private long arrivals;
    private long finished;
    private long firsts;
    private int n;
    private int nt;
    private int ni;
    private double[] prompt = new double[256];
    private double[] effective = new double[256];
    private double[] output = new double[256];
    private double[] ttft = new double[256];
    private double[] itl = new double[256];
    private long seed = 0x9E3779B97F4A7C15L;
    private List<RequestTrace.Entry> trace = new ArrayList<>();

    /** @param tracing whether finished requests are kept as trace entries for {@link #takeTrace} */
    IntervalRecorder(long startNanos, boolean tracing) {
        this.startNanos = startNanos;
        this.tracing = tracing;
    }

    @Override
    public synchronized void arrived() {
        arrivals++;
    }

    @Override
    public synchronized void firstToken(long ttftNanos) {
        firsts++;
        int i = slot(nt, firsts);
        if (i >= 0) {
            ttft = room(ttft, i);
            ttft[i] = ttftNanos / 1e6;
            nt = Math.max(nt, i + 1);
        }
    }

    @Override
    public synchronized void finished(long arrivalNanos, int promptTokens, int cachedTokens, int completionTokens, long ttftNanos,
            long tpotNanos) {
        finished++;
        int i = slot(n, finished);
        if (i >= 0) {
            prompt = room(prompt, i);
            effective = room(effective, i);
            output = room(output, i);
            prompt[i] = promptTokens;
            effective[i] = Math.max(0, promptTokens - cachedTokens);
            output[i] = completionTokens;
            n = Math.max(n, i + 1);
        }
        if (tpotNanos >= 0) {
            int j = ni < CAP ? ni : -1;
            if (j >= 0) {
                itl = room(itl, j);
                itl[j] = tpotNanos / 1e6;
                ni++;
            }
        }
        if (tracing && promptTokens > 0 && trace.size() < 1_000_000) {
            trace.add(new RequestTrace.Entry(Math.max(0, (arrivalNanos - startNanos) / 1e9), promptTokens,
                    Math.min(cachedTokens, promptTokens), completionTokens, ttftNanos < 0 ? Double.NaN : ttftNanos / 1e6,
                    tpotNanos < 0 ? Double.NaN : tpotNanos / 1e6));
        }
    }

    /** Where the {@code seen}-th sample goes: appended under the cap, else a reservoir slot or -1 (dropped). */
    private int slot(int filled, long seen) {
        if (filled < CAP) {
            return filled;
        }
        seed ^= seed << 13;
        seed ^= seed >>> 7;
        seed ^= seed << 17;
        long j = Math.floorMod(seed, seen);
        return j < CAP ? (int) j : -1;
    }

    private static double[] room(double[] a, int i) {
        return i < a.length ? a : Arrays.copyOf(a, Math.min(CAP, Math.max(i + 1, a.length * 2)));
    }

    /** The interval so far as an observation ending at {@code atMillis}; the next interval starts empty. */
    synchronized Observation take(long atMillis, double seconds, Map<Pool, Observation.PoolObservation> pools) {
        Observation o = new Observation(atMillis, seconds, arrivals, Summary.of(prompt, n), Summary.of(effective, n),
                Summary.of(output, n), Summary.of(ttft, nt), Summary.of(itl, ni), pools);
        arrivals = 0;
        finished = 0;
        firsts = 0;
        n = 0;
        nt = 0;
        ni = 0;
        return o;
    }

    /** The trace entries of the requests finished since the last call. */
    synchronized List<RequestTrace.Entry> takeTrace() {
        List<RequestTrace.Entry> t = trace;
        trace = new ArrayList<>();
        return t;
    }
}
