package dev.baton.bench.serve;

import dev.baton.bench.serve.client.OpenAiClient;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.load.LoadRunner;
import dev.baton.bench.serve.load.LoadSpec;
import dev.baton.bench.serve.workload.Session;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The serving benchmark: for each target in turn, a warm-up, then every load point of the sweep, each with
 * its own prompts (so one point's prompts are never cached by the previous one) but the same prompts and
 * arrival times for every target (so targets are compared on identical work).
 *
 * <pre>
 *   for target in targets:                  one HTTP client per target
 *     warm-up: N requests, one at a time   not measured
 *     for point i in sweep:                  sessions(seed_i), arrivals(seed_i)
 *       LoadRunner.run -> RequestResults -> RequestRecords -> PointSummary
 * </pre>
 *
 * <p>Not thread-safe; one {@link #run} at a time.
 */
public final class ServeBenchmark {

    private final ServeSettings settings;

    public ServeBenchmark(ServeSettings settings) {
        this.settings = settings;
    }

    /**
     * Runs the whole benchmark.
     *
     * @throws IOException when a target names no model and its model list cannot be read (checked for every
     *     target before any load is sent)
     */
    public ServeReport run(Progress progress) throws IOException {
        Instant started = Instant.now();
        Map<Target, OpenAiClient> clients = new LinkedHashMap<>();
        try {
            Map<Target, String> models = new LinkedHashMap<>();
            for (Target t : settings.targets()) {
                OpenAiClient c = new OpenAiClient(t, settings.api(), settings.client());
                clients.put(t, c);
                models.put(t, c.resolveModel());
            }
            List<TargetResult> results = new ArrayList<>();
            for (Map.Entry<Target, OpenAiClient> e : clients.entrySet()) {
                results.add(runTarget(e.getKey(), models.get(e.getKey()), e.getValue(), progress));
            }
            return new ServeReport(settings, started, results);
        } finally {
            clients.values().forEach(OpenAiClient::close);
        }
    }

    /** The seed of load point {@code i}'s prompts and arrivals. */
    public static long pointSeed(long seed, int i) {
        return seed * 1_000_003L + i + 1;
    }

    /**
     * Sends {@code settings}' warm-up requests to one target, one at a time, unmeasured; failures are told to
     * {@code progress} (the first one's reason), not thrown.
     */
    public static void warmUp(ServeSettings settings, Target target, String model, OpenAiClient client, Progress progress) {
        if (settings.warmupRequests() > 0) {
            int n = settings.warmupRequests();
            LoadRunner warm = new LoadRunner(client, model, new LoadRunner.Limits(n, null, Duration.ZERO, 1));
            List<Session> sessions = settings.workload().sessions(n, ~settings.seed());
            LoadRunner.PointRun run = warm.run(new LoadSpec.Concurrency(1), sessions, 0, LoadRunner.Listener.NONE);
            long failed = run.exchanges().stream().filter(x -> !x.result().ok()).count();
            if (failed > 0) {
                LoadRunner.Exchange first = run.exchanges().stream().filter(x -> !x.result().ok()).findFirst().orElseThrow();
                progress.notice(target.name() + ": " + failed + " of " + run.exchanges().size() + " warm-up requests failed ("
                        + first.result().error().key(first.result().httpStatus()) + ": " + first.result().errorMessage() + ")");
            }
        }
    }

    private TargetResult runTarget(Target target, String model, OpenAiClient client, Progress progress) {
        warmUp(settings, target, model, client, progress);
        LoadRunner runner = new LoadRunner(client, model, settings.limits());
        List<PointResult> points = new ArrayList<>();
        for (int i = 0; i < settings.loads().size(); i++) {
            LoadSpec load = settings.loads().get(i);
            long seed = pointSeed(settings.seed(), i);
            List<Session> sessions = settings.workload().sessions(settings.limits().maxRequests(), seed);
            LoadRunner.Listener listener = progress.pointStarted(target.name(), load.label(), settings.limits().maxRequests());
            LoadRunner.PointRun run = runner.run(load, sessions, seed, listener);
            points.add(PointResult.of(target, load, run, settings.slo()));
            progress.pointFinished(points.getLast().summary());
        }
        return new TargetResult(target, model, points);
    }
}
