package dev.baton.bench.serve;

import java.time.Instant;
import java.util.List;

/** The outcome of a serving benchmark run: its settings, when it started, and the results of each target. */
public record ServeReport(ServeSettings settings, Instant started, List<TargetResult> targets) {

    public ServeReport {
        targets = List.copyOf(targets);
    }
}
