package dev.baton.bench.serve.profile;

import dev.baton.bench.serve.PointResult;
import dev.baton.bench.serve.Progress;
import dev.baton.bench.serve.client.OpenAiClient;
import dev.baton.bench.serve.load.LoadRunner;
import dev.baton.bench.serve.load.LoadSpec;
import dev.baton.bench.serve.metrics.PointSummary;
import dev.baton.bench.serve.metrics.Slo;
import dev.baton.bench.serve.workload.LengthDistribution;
import dev.baton.bench.serve.workload.RandomWorkload;
import dev.baton.bench.serve.workload.Session;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Measures a {@link Profile}: first the prefill points (one request at a time, one output token, so TTFT is
 * the prefill time plus the fixed overheads), then the decode points (a fixed number of clients, long
 * outputs, ITL and TPOT pooled over the batch). Every point uses fresh prompts, so no prefix cache helps.
 *
 * <p>Not thread-safe; one {@link #run} at a time.
 */
public final class Profiler {

    private final ProfileSettings settings;

    public Profiler(ProfileSettings settings) {
        this.settings = settings;
    }

    /** Runs the profile. */
    public Profile run(Progress progress) throws IOException {
        ProfileSettings s = settings;
        try (OpenAiClient client = new OpenAiClient(s.target(), s.api(), s.client())) {
            String model = client.resolveModel();
            if (s.warmupRequests() > 0) {
                RandomWorkload w = new RandomWorkload(s.prompts(), new LengthDistribution.Fixed(16), new LengthDistribution.Fixed(4));
                new LoadRunner(client, model, new LoadRunner.Limits(s.warmupRequests(), null, Duration.ZERO, 1))
                        .run(new LoadSpec.Concurrency(1), w.sessions(s.warmupRequests(), ~s.seed()), 0, LoadRunner.Listener.NONE);
            }
            int nodes = s.target().nodes();
            long seed = s.seed();
            List<Profile.PrefillPoint> prefill = new ArrayList<>();
            for (int len : s.inputLengths()) {
                seed++;
                RandomWorkload w = new RandomWorkload(s.prompts(), new LengthDistribution.Fixed(len), new LengthDistribution.Fixed(1));
                PointSummary m = point(client, model, new LoadSpec.Concurrency(1), w.sessions(s.prefillRequests(), seed),
                        "prefill input=" + len, progress);
                double perS = len / (m.ttftMs().median() / 1e3);
                prefill.add(new Profile.PrefillPoint(len, m.requests(), m.failed(), m.ttftMs(), perS, perS / nodes));
            }
            List<Profile.DecodePoint> decode = new ArrayList<>();
            for (int ctx : s.contextLengths()) {
                for (int c : s.concurrencies()) {
                    seed++;
                    RandomWorkload w = new RandomWorkload(s.prompts(), new LengthDistribution.Fixed(ctx),
                            new LengthDistribution.Fixed(s.decodeTokens()));
                    PointSummary m = point(client, model, new LoadSpec.Concurrency(c), w.sessions(c * s.decodeRounds(), seed),
                            String.format(Locale.ROOT, "decode context=%d concurrency=%d", ctx, c), progress);
                    double perUser = m.tokensPerSecondPerUser();
                    decode.add(new Profile.DecodePoint(c, ctx, s.decodeTokens(), m.requests(), m.failed(), m.itlMs(), m.tpotMs(),
                            m.ttftMs(), perUser, c * perUser, c * perUser / nodes, m.outputTokensPerSecond()));
                }
            }
            return new Profile(1, s.target().name(), s.target().baseUrl().toString(), model, nodes, s.api().path(),
                    s.prompts().exact(), prefill, decode);
        }
    }

    private PointSummary point(OpenAiClient client, String model, LoadSpec.Concurrency load, List<Session> sessions,
            String label, Progress progress) {
        LoadRunner runner = new LoadRunner(client, model, new LoadRunner.Limits(sessions.size(), null, Duration.ZERO, load.clients()));
        LoadRunner.Listener listener = progress.pointStarted(settings.target().name(), label, sessions.size());
        LoadRunner.PointRun run = runner.run(load, sessions, 0, listener);
        PointSummary m = PointResult.of(settings.target(), load, label, run, Slo.NONE).summary();
        progress.pointFinished(m);
        return m;
    }
}
