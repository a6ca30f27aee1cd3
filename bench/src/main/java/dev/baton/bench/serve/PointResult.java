package dev.baton.bench.serve;

import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.load.LoadRunner;
import dev.baton.bench.serve.load.LoadSpec;
import dev.baton.bench.serve.metrics.PointSummary;
import dev.baton.bench.serve.metrics.RequestRecord;
import dev.baton.bench.serve.metrics.Slo;
import dev.baton.bench.serve.metrics.Summarizer;
import java.util.ArrayList;
import java.util.List;

/** One load point against one target: its summary and every measured request. */
public record PointResult(LoadSpec load, PointSummary summary, List<RequestRecord> requests) {

    public PointResult {
        requests = List.copyOf(requests);
    }

    /** Derives the records of a point's raw results (in send order) and summarizes them. */
    public static PointResult of(Target target, LoadSpec load, LoadRunner.PointRun run, Slo slo) {
        return of(target, load, load.label(), run, slo);
    }

    /** As {@link #of(Target, LoadSpec, LoadRunner.PointRun, Slo)}, with the point labelled {@code label}. */
    public static PointResult of(Target target, LoadSpec load, String label, LoadRunner.PointRun run, Slo slo) {
        List<RequestRecord> records = new ArrayList<>(run.exchanges().size());
        int index = 0;
        for (LoadRunner.Exchange x : run.exchanges()) {
            records.add(RequestRecord.of(index++, target.name(), label, x.session().id(), x.turn(),
                    x.spec().expectedPromptTokens(), x.spec().maxTokens(), run.startNs(), x.result(), slo));
        }
        // A point that sent nothing still gets a (tiny) positive duration, so its rates are 0, not undefined.
        double duration = Math.max(run.durationS(), 1e-9);
        PointSummary summary = Summarizer.summarize(target.name(), label, load.value(), records, duration,
                target.nodes(), slo);
        return new PointResult(load, summary, records);
    }
}
