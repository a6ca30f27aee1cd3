package dev.baton.bench.serve.overload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.bench.serve.Progress;
import dev.baton.bench.serve.ScriptedOpenAiServer;
import dev.baton.bench.serve.ScriptedOpenAiServer.Script;
import dev.baton.bench.serve.ServeSettings;
import dev.baton.bench.serve.client.ClientOptions;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.load.LoadRunner;
import dev.baton.bench.serve.load.LoadSpec;
import dev.baton.bench.serve.metrics.Slo;
import dev.baton.bench.serve.workload.ApproximatePrompts;
import dev.baton.bench.serve.workload.Api;
import dev.baton.bench.serve.workload.LengthDistribution;
import dev.baton.bench.serve.workload.RandomWorkload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three phases against a real HTTP server that refuses every third request with 503 and {@code Retry-After}
 * (a 429 without): what was sent is split into admitted and refused, the header is seen, and the files are written.
 * Counts only; nothing about speed.
 */
@Timeout(60)
class OverloadBenchmarkTest {

    @Test
    void shouldSplitEveryPhaseIntoAdmittedAndRefusedAndWriteTheReport(@TempDir Path dir) throws Exception {
        AtomicInteger n = new AtomicInteger();
        try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(body -> {
            int i = n.getAndIncrement();
            return i % 3 == 1 ? Script.ok(0, 1, 4).withStatus(503) : i % 7 == 5 ? Script.ok(0, 1, 4).withStatus(429)
                    : Script.ok(0, 1, 4);
        })) {
            ServeSettings serve = new ServeSettings(List.of(new Target("scripted", server.baseUrl(), "scripted", 1, null)),
                    Api.COMPLETIONS, new RandomWorkload(new ApproximatePrompts(), new LengthDistribution.Fixed(16),
                            new LengthDistribution.Fixed(4)), List.of(new LoadSpec.Concurrency(1)),
                    new LoadRunner.Limits(10, null, Duration.ZERO, 64), 0, Slo.NONE, 1, ClientOptions.defaults());
            OverloadSettings settings = new OverloadSettings(serve, 10, 1, 1, Duration.ofSeconds(1), 4,
                    Duration.ofMillis(500), Duration.ofMillis(500));
            OverloadBenchmark.Result result = new OverloadBenchmark(settings).run(Progress.NONE, ClusterProbe.none());
            OverloadReport r = result.overload();

            assertEquals(3, r.phases().size());
            assertNull(r.probe());
            assertEquals("given", r.capacitySource());
            int sent = 0;
            for (PhaseStats p : r.phases()) {
                assertEquals(p.sent(), p.admitted() + p.refused() + p.otherFailures(), p.toString());
                assertEquals(0, p.otherFailures(), p.toString());
                assertEquals(p.refusedByStatus().getOrDefault(503, 0), p.refusedWithRetryAfter().getOrDefault(503, 0),
                        "every 503 carried Retry-After: " + p);
                assertEquals(0, p.refusedWithRetryAfter().getOrDefault(429, 0), "no 429 did: " + p);
                sent += p.sent();
            }
            assertEquals(n.get(), sent, "every request the server saw was counted once");
            assertTrue(r.phases().get(1).sent() > r.phases().get(0).sent(), "the overload phase offered more: " + r.phases());
            assertFalse(r.prefill().getFirst().known(), "no node metrics were given");
            assertEquals(List.of("capacity rate=10/s", "overload rate=40/s", "recovery rate=10/s"),
                    result.serve().targets().getFirst().points().stream().map(p -> p.summary().point()).toList());

            OverloadFiles.write(result, dir);
            JsonNode json = new ObjectMapper().readTree(dir.resolve("results.json").toFile());
            assertEquals(3, json.at("/results/0/points").size());
            assertEquals(r.phases().get(1).sent(), json.at("/overload/phases/1/sent").asInt());
            assertTrue(json.at("/overload/goals").size() >= 6, json.at("/overload/goals").toString());
            String withRetryAfter = json.at("/results/0/points/1/requests").findValuesAsText("retryAfter").toString();
            assertTrue(withRetryAfter.contains("1"), withRetryAfter);
            assertTrue(OverloadFiles.render(r).contains("overload"), OverloadFiles.render(r));
        }
    }
}
