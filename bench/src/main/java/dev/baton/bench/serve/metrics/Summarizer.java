package dev.baton.bench.serve.metrics;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Computes a {@link PointSummary} from request records: a pure function, thread-safe. */
public final class Summarizer {

    private Summarizer() {}

    /**
     * Summarizes the measured requests of one load point.
     *
     * @param load the offered load (requests/s or concurrent clients), for charts
     * @param durationS the point's duration in seconds (start to end of the last request); must be positive
     * @param nodes the number of nodes serving the target, for per-node throughput
     * @param slo the objectives; {@link Slo#NONE} leaves goodput {@code NaN}
     */
    public static PointSummary summarize(String target, String point, double load, List<RequestRecord> records,
            double durationS, int nodes, Slo slo) {
        if (!(durationS > 0)) {
            throw new IllegalArgumentException("duration " + durationS + " s must be positive");
        }
        int completed = 0;
        int short_ = 0;
        int meeting = 0;
        long promptTokens = 0;
        long outputTokens = 0;
        long cached = 0;
        long promptOfCached = 0;
        boolean anyCached = false;
        Map<String, Integer> errors = new TreeMap<>();
        int itlCount = 0;
        for (RequestRecord r : records) {
            if (r.ok()) {
                itlCount += r.itlMs().length;
            }
        }
        double[] ttft = new double[records.size()];
        double[] tpot = new double[records.size()];
        double[] e2e = new double[records.size()];
        double[] itl = new double[itlCount];
        int k = 0;
        int j = 0;
        for (RequestRecord r : records) {
            if (r.meetsSlo()) {
                meeting++;
            }
            if (!r.ok()) {
                errors.merge(r.error(), 1, Integer::sum);
                continue;
            }
            ttft[k] = r.ttftMs();
            tpot[k] = r.tpotMs();
            e2e[k] = r.e2eMs();
            k++;
            System.arraycopy(r.itlMs(), 0, itl, j, r.itlMs().length);
            j += r.itlMs().length;
            completed++;
            if (r.shortOutput()) {
                short_++;
            }
            promptTokens += r.promptTokensForThroughput();
            outputTokens += r.outputTokens();
            if (r.cachedTokens() >= 0) {
                anyCached = true;
                cached += r.cachedTokens();
                promptOfCached += r.promptTokensForThroughput();
            }
        }
        Stats tpotStats = Stats.of(java.util.Arrays.copyOf(tpot, k));
        double outPerS = outputTokens / durationS;
        return new PointSummary(target, point, load, records.size(), completed, records.size() - completed,
                Map.copyOf(errors), short_, durationS, completed / durationS, outPerS, (promptTokens + outputTokens) / durationS,
                slo.isEmpty() ? Double.NaN : meeting / durationS,
                records.isEmpty() ? Double.NaN : (double) meeting / records.size(), promptTokens, outputTokens, cached,
                anyCached && promptOfCached > 0 ? (double) cached / promptOfCached : Double.NaN,
                Stats.of(java.util.Arrays.copyOf(ttft, k)), tpotStats, Stats.of(itl),
                Stats.of(java.util.Arrays.copyOf(e2e, k)), 1000.0 / tpotStats.mean(), outPerS / nodes);
    }
}
