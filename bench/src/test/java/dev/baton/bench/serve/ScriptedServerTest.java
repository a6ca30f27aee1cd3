package dev.baton.bench.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.bench.serve.ScriptedOpenAiServer.Failure;
import dev.baton.bench.serve.ScriptedOpenAiServer.Script;
import dev.baton.bench.serve.client.ClientOptions;
import dev.baton.bench.serve.client.OpenAiClient;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.load.ArrivalSchedule;
import dev.baton.bench.serve.load.LoadRunner;
import dev.baton.bench.serve.load.LoadSpec;
import dev.baton.bench.serve.metrics.ErrorKind;
import dev.baton.bench.serve.metrics.Percentiles;
import dev.baton.bench.serve.metrics.PointSummary;
import dev.baton.bench.serve.metrics.RequestMetrics;
import dev.baton.bench.serve.metrics.RequestRecord;
import dev.baton.bench.serve.metrics.RequestResult;
import dev.baton.bench.serve.metrics.Slo;
import dev.baton.bench.serve.metrics.Usage;
import dev.baton.bench.serve.workload.ApproximatePrompts;
import dev.baton.bench.serve.workload.Api;
import dev.baton.bench.serve.workload.JsonlWorkload;
import dev.baton.bench.serve.workload.LengthDistribution;
import dev.baton.bench.serve.workload.Message;
import dev.baton.bench.serve.workload.MultiTurnWorkload;
import dev.baton.bench.serve.workload.RandomWorkload;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The harness against a real HTTP server with scripted delays. A measured time can only be later than the
 * script (the client stamps the send before the server starts its clock, and reads each chunk after it was
 * written), so times are checked as {@code script <= measured <= script + JITTER_MS}; counts, labels and the
 * arithmetic between measured figures are checked exactly.
 */
@Timeout(60)
class ScriptedServerTest {

    /** Scheduling delay allowed on a loaded 2-core machine: thread wake-ups, loopback, JSON parsing. */
    static final double JITTER_MS = 30;

    @TempDir
    Path dir;

    /**
     * A client whose first request has been made: the first request of a JVM loads the HTTP client's and
     * the server's classes, which adds a few hundred milliseconds (the harness's --warmup does the same).
     */
    static OpenAiClient client(ScriptedOpenAiServer server, Api api, ClientOptions options) {
        OpenAiClient c = new OpenAiClient(new Target("scripted", server.baseUrl(), "scripted", 1, null), api, options);
        c.send("scripted", List.of(Message.user("warm-up")), 1);
        server.received.clear();
        server.maxInFlight.set(0);
        return c;
    }

    static void assertLate(double scriptMs, double measuredMs, String what) {
        assertLate(scriptMs, measuredMs, what, JITTER_MS);
    }

    /** Never earlier than the script, and late by at most {@code slackMs}. */
    static void assertLate(double scriptMs, double measuredMs, String what, double slackMs) {
        assertTrue(measuredMs >= scriptMs - 1e-9 && measuredMs <= scriptMs + slackMs,
                what + ": measured " + measuredMs + " ms, script " + scriptMs + " ms");
    }

    static void assertNear(double scriptMs, double measuredMs, String what) {
        assertTrue(Math.abs(measuredMs - scriptMs) <= JITTER_MS, what + ": measured " + measuredMs + " ms, script " + scriptMs + " ms");
    }

    @Test
    void shouldMeasureTtftItlAndTpotOfAScriptedStream() throws IOException {
        try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(b -> Script.ok(150, 25, 8).withUsage(10, 8, 4));
                OpenAiClient client = client(server, Api.COMPLETIONS, ClientOptions.defaults())) {
            RequestResult r = client.send("scripted", List.of(Message.user("hi")), 8);
            assertTrue(r.ok(), r.errorMessage());
            assertEquals(8, r.contentNs().length);
            assertEquals(" t0 t1 t2 t3 t4 t5 t6 t7", r.text());
            RequestRecord rec = RequestRecord.of(0, "scripted", "p", 0, 0, 10, 8, r.sendNs(), r, Slo.NONE);
            assertLate(150, rec.ttftMs(), "TTFT");
            assertEquals(7, rec.itlMs().length);
            for (double itl : rec.itlMs()) {
                assertNear(25, itl, "ITL");
            }
            // Chunk k is written at 150 + 25k ms: the gaps add up to 175 ms whatever the jitter of each.
            assertNear(175, (r.contentNs()[7] - r.contentNs()[0]) / 1e6, "first to last chunk");
            assertEquals((rec.e2eMs() - rec.ttftMs()) / 7, rec.tpotMs(), 1e-9);
            assertNear(25, rec.tpotMs(), "TPOT");
            assertEquals(4, rec.cachedTokens());
            assertEquals(10, rec.promptTokens());
            JsonNode body = server.received().getFirst().body();
            assertEquals("hi", body.get("prompt").asText());
            assertTrue(body.get("stream").asBoolean());
            assertTrue(body.get("stream_options").get("include_usage").asBoolean());
            assertTrue(body.get("ignore_eos").asBoolean());
            assertEquals(8, body.get("max_tokens").asInt());
        }
    }

    @Test
    void shouldNotCountARoleOnlyChatChunkAsTheFirstToken() throws IOException {
        try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(b -> Script.ok(120, 10, 3));
                OpenAiClient client = client(server, Api.CHAT, ClientOptions.defaults())) {
            RequestResult r = client.send("scripted", List.of(Message.system("s"), Message.user("u")), 3);
            assertTrue(r.ok(), r.errorMessage());
            assertLate(120, RequestMetrics.ttftMs(r.sendNs(), r.contentNs()), "TTFT");
            assertEquals(3, r.contentNs().length);
            assertEquals("/v1/chat/completions", server.received().getFirst().path());
            assertEquals(2, server.received().getFirst().body().get("messages").size());
        }
    }

    @Test
    void shouldClassifyEveryKindOfFailure() throws IOException {
        Map<String, Script> scripts = Map.of(
                "500", Script.ok(0, 10, 3).withFailure(Failure.HTTP, 0),
                "429", Script.ok(0, 10, 3).withStatus(429),
                "error", Script.ok(0, 10, 5).withFailure(Failure.STREAM_ERROR, 3),
                "cut", Script.ok(0, 10, 5).withFailure(Failure.TRUNCATE, 2),
                "stall", Script.ok(0, 10, 5).withFailure(Failure.STALL, 1),
                "empty", Script.ok(0, 10, 0));
        Function<JsonNode, Script> script = b -> scripts.getOrDefault(ScriptedOpenAiServer.prompt(b), Script.ok(0, 1, 1));
        ClientOptions options = ClientOptions.defaults().withRequestTimeout(Duration.ofMillis(400));
        try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(script);
                OpenAiClient client = client(server, Api.COMPLETIONS, options)) {
            RequestResult r500 = client.send("scripted", List.of(Message.user("500")), 3);
            assertEquals(ErrorKind.HTTP, r500.error());
            assertEquals("http_500", r500.error().key(r500.httpStatus()));
            assertEquals("scripted failure", r500.errorMessage());
            RequestResult r429 = client.send("scripted", List.of(Message.user("429")), 3);
            assertEquals("http_429", r429.error().key(r429.httpStatus()));
            RequestResult error = client.send("scripted", List.of(Message.user("error")), 5);
            assertEquals(ErrorKind.STREAM_ERROR, error.error());
            assertEquals(3, error.contentNs().length);
            RequestResult cut = client.send("scripted", List.of(Message.user("cut")), 5);
            assertEquals(ErrorKind.TRUNCATED, cut.error());
            assertEquals(2, cut.contentNs().length);
            RequestResult stall = client.send("scripted", List.of(Message.user("stall")), 5);
            assertEquals(ErrorKind.TIMEOUT, stall.error());
            assertEquals(1, stall.contentNs().length);
            assertNear(400, RequestMetrics.e2eMs(stall.sendNs(), stall.endNs()), "timeout");
            RequestResult empty = client.send("scripted", List.of(Message.user("empty")), 5);
            assertEquals(ErrorKind.NO_OUTPUT, empty.error());
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Target closed = new Target("closed", URI.create("http://127.0.0.1:" + port + "/v1/"), "m", 1, null);
        try (OpenAiClient client = new OpenAiClient(closed, Api.COMPLETIONS, options)) {
            assertEquals(ErrorKind.CONNECT, client.send("m", List.of(Message.user("x")), 1).error());
        }
    }

    /**
     * Ten requests at once; request i has TTFT 50 + 60i ms, 6 chunks 20 ms apart (even i) or 50 ms apart (odd
     * i); request 7 fails with HTTP 500 and request 9 is cut after 2 chunks. With the SLO TTFT <= 200 ms and
     * TPOT <= 35 ms, exactly requests 0 and 2 are inside it.
     */
    @Test
    void shouldComputeGoodputAndPercentilesOfAScriptedRun() throws IOException {
        Path prompts = dir.resolve("prompts.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            lines.append("{\"prompt\": \"r").append(i).append("\", \"max_tokens\": 6}\n");
        }
        Files.writeString(prompts, lines);
        Function<JsonNode, Script> script = b -> {
            int i = Integer.parseInt(ScriptedOpenAiServer.prompt(b).substring(1));
            Script s = Script.ok(50 + 60L * i, i % 2 == 0 ? 20 : 50, 6);
            return i == 7 ? s.withFailure(Failure.HTTP, 0) : i == 9 ? s.withFailure(Failure.TRUNCATE, 2) : s;
        };
        try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(script)) {
            // Lateness only adds to a scripted latency: the SLO sits far above the latencies meant to pass
            // (TTFT 50 and 170 ms, TPOT 20 ms) and below those meant to fail (TTFT 290 ms and up, TPOT 50 ms), so a
            // loaded machine's delay cannot move a request across it (170 ms against 200 ms failed once).
            Slo slo = Slo.parse("ttft=280ms,tpot=45ms");
            ServeSettings settings = new ServeSettings(List.of(new Target("scripted", server.baseUrl(), null, 1, null)),
                    Api.COMPLETIONS, JsonlWorkload.read(prompts, new LengthDistribution.Fixed(6)),
                    List.of(new LoadSpec.Concurrency(10)), new LoadRunner.Limits(10, null, Duration.ZERO, 64), 1, slo, 1,
                    ClientOptions.defaults());
            ServeReport report = new ServeBenchmark(settings).run(Progress.NONE);
            assertEquals("scripted", report.targets().getFirst().model(), "from GET /v1/models");
            PointResult point = report.targets().getFirst().points().getFirst();
            PointSummary s = point.summary();
            assertEquals(10, s.requests());
            assertEquals(8, s.completed());
            assertEquals(Map.of("http_500", 1, "truncated", 1), s.errors());
            List<Integer> inside = point.requests().stream().filter(RequestRecord::meetsSlo)
                    .map(RequestRecord::session).sorted().toList(); // session i holds the JSONL line of prompt r<i>
            assertEquals(List.of(0, 2), inside);
            assertEquals(2 / s.durationS(), s.goodput(), 0);
            assertEquals(0.2, s.sloAttainment(), 0);
            assertEquals(48, s.outputTokens());
            assertEquals(48 / s.durationS(), s.outputTokensPerSecond(), 0);
            assertEquals(8 / s.durationS(), s.requestsPerSecond(), 0);
            // The point lasts until its last request ends: exactly the latest send + E2E.
            double lastEnd = point.requests().stream().mapToDouble(r -> r.sendMs() + r.e2eMs()).max().orElseThrow();
            assertEquals(lastEnd, s.durationS() * 1000, 1e-6);
            // The slowest completed request, 8: 530 ms to its first chunk, then 5 gaps of 20 ms; ten
            // connections are opened at once first, so its send may itself be late by a jitter.
            assertTrue(s.durationS() * 1000 >= 630 && s.durationS() * 1000 <= 630 + 2 * JITTER_MS, "duration " + s.durationS());

            // Each request's TTFT runs from its own send, so it includes opening its connection, ten at once on the
            // client's side: late by up to 2 jitters, as the duration above (CI, a clean clone on 2 cores: the median
            // 35 ms over the script, past one jitter).
            double concurrentSlack = 2 * JITTER_MS;
            double[] scriptTtft = {50, 110, 170, 230, 290, 350, 410, 530};
            assertLate(Percentiles.of(scriptTtft, 50), s.ttftMs().median(), "TTFT median", concurrentSlack);
            assertLate(Percentiles.of(scriptTtft, 90), s.ttftMs().p90(), "TTFT p90", concurrentSlack);
            assertLate(Percentiles.of(scriptTtft, 99), s.ttftMs().p99(), "TTFT p99", concurrentSlack);
            assertEquals(260.0, Percentiles.of(scriptTtft, 50), 0);
            assertEquals(446.0, Percentiles.of(scriptTtft, 90), 1e-9);
            // ITL pooled: 5 even requests x 5 gaps of 20 ms, 3 odd ones x 5 gaps of 50 ms.
            assertEquals(40, s.itlMs().count());
            assertNear(20, s.itlMs().median(), "ITL median");
            assertNear(50, s.itlMs().p90(), "ITL p90");
            assertNear((5 * 20 + 3 * 50) / 8.0, s.tpotMs().mean(), "TPOT mean");
            for (RequestRecord r : point.requests()) {
                if (r.ok()) {
                    assertLate(50 + 60 * r.session(), r.ttftMs(), "TTFT of request " + r.session(), concurrentSlack);
                    assertNear(r.session() % 2 == 0 ? 20 : 50, r.tpotMs(), "TPOT of request " + r.session());
                }
            }
        }
    }

    @Test
    void shouldHoldTheNumberOfClientsInFlight() throws IOException {
        try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(b -> Script.ok(60, 10, 3));
                OpenAiClient client = client(server, Api.COMPLETIONS, ClientOptions.defaults())) {
            RandomWorkload w = new RandomWorkload(new ApproximatePrompts(), new LengthDistribution.Fixed(4), new LengthDistribution.Fixed(3));
            LoadRunner runner = new LoadRunner(client, "scripted", new LoadRunner.Limits(6, null, Duration.ZERO, 64));
            LoadRunner.PointRun run = runner.run(new LoadSpec.Concurrency(2), w.sessions(6, 1), 0, LoadRunner.Listener.NONE);
            assertEquals(6, run.exchanges().size());
            assertEquals(6, server.received().size());
            assertEquals(2, server.maxInFlight.get());
            assertTrue(run.exchanges().stream().allMatch(x -> x.result().ok()));
        }
    }

    @Test
    void shouldSendAtTheScheduledArrivalTimes() throws IOException {
        try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(b -> Script.ok(20, 5, 2));
                OpenAiClient client = client(server, Api.COMPLETIONS, ClientOptions.defaults())) {
            RandomWorkload w = new RandomWorkload(new ApproximatePrompts(), new LengthDistribution.Fixed(4), new LengthDistribution.Fixed(2));
            LoadSpec.Rate rate = new LoadSpec.Rate(10, 1);
            LoadRunner runner = new LoadRunner(client, "scripted", new LoadRunner.Limits(8, null, Duration.ZERO, 64));
            LoadRunner.PointRun run = runner.run(rate, w.sessions(8, 1), 42, LoadRunner.Listener.NONE);
            long[] offsets = ArrivalSchedule.offsetsNs(rate, 8, 42);
            assertEquals(8, run.exchanges().size());
            for (int i = 0; i < 8; i++) {
                double sent = (run.exchanges().get(i).result().sendNs() - run.startNs()) / 1e6;
                assertLate(offsets[i] / 1e6, sent, "send time of request " + i);
            }
        }
    }

    @Test
    void shouldCarryTheHistoryInEveryTurn() throws IOException {
        try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(b -> Script.ok(5, 2, 2));
                OpenAiClient client = client(server, Api.CHAT, ClientOptions.defaults())) {
            MultiTurnWorkload w = new MultiTurnWorkload(new ApproximatePrompts(), Api.CHAT, 3, new LengthDistribution.Fixed(3),
                    new LengthDistribution.Fixed(2));
            var sessions = w.sessions(3, 1);
            LoadRunner runner = new LoadRunner(client, "scripted", new LoadRunner.Limits(3, null, Duration.ZERO, 64));
            runner.run(new LoadSpec.Concurrency(1), sessions, 0, LoadRunner.Listener.NONE);
            List<ScriptedOpenAiServer.Received> got = server.received();
            assertEquals(3, got.size());
            JsonNode last = got.get(2).body().get("messages");
            assertEquals(5, last.size());
            List<String> roles = List.of("user", "assistant", "user", "assistant", "user");
            for (int k = 0; k < 5; k++) {
                assertEquals(roles.get(k), last.get(k).get("role").asText());
            }
            assertEquals(" t0 t1", last.get(1).get("content").asText());
            assertEquals(sessions.getFirst().turns().get(2).messages().getFirst().content(), last.get(4).get("content").asText());
        }
    }

    @Test
    void shouldSendEachSessionsIdAsUserUnlessTurnedOff() throws IOException {
        for (boolean on : new boolean[] {true, false}) {
            try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(b -> Script.ok(5, 2, 2));
                    OpenAiClient client = client(server, Api.CHAT, new ClientOptions(true, null, Duration.ofMinutes(1),
                            Duration.ofSeconds(10), on))) {
                MultiTurnWorkload w = new MultiTurnWorkload(new ApproximatePrompts(), Api.CHAT, 2,
                        new LengthDistribution.Fixed(3), new LengthDistribution.Fixed(2));
                LoadRunner runner = new LoadRunner(client, "scripted", new LoadRunner.Limits(4, null, Duration.ZERO, 64));
                runner.run(new LoadSpec.Concurrency(1), w.sessions(4, 1), 0, LoadRunner.Listener.NONE);
                List<String> users = server.received().stream().map(r -> r.body().path("user").asText(null)).toList();
                assertEquals(4, users.size());
                if (on) {
                    assertEquals(users.get(0), users.get(1), "both turns of a session carry its id");
                    assertEquals(users.get(2), users.get(3));
                    assertTrue(users.get(0) != null && !users.get(0).equals(users.get(2)), "two sessions, two ids: " + users);
                } else {
                    assertTrue(users.stream().allMatch(java.util.Objects::isNull), "--no-session-ids sends none: " + users);
                }
            }
        }
    }

    @Test
    void shouldStartNoRequestAfterTheDurationLimit() throws IOException {
        try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(b -> Script.ok(80, 10, 3));
                OpenAiClient client = client(server, Api.COMPLETIONS, ClientOptions.defaults())) {
            RandomWorkload w = new RandomWorkload(new ApproximatePrompts(), new LengthDistribution.Fixed(4), new LengthDistribution.Fixed(3));
            LoadRunner runner = new LoadRunner(client, "scripted", new LoadRunner.Limits(100, Duration.ofMillis(350), Duration.ZERO, 64));
            LoadRunner.PointRun run = runner.run(new LoadSpec.Concurrency(1), w.sessions(100, 1), 0, LoadRunner.Listener.NONE);
            // Each request takes about 100 ms: they start at about 0, 100, 200 and 300 ms.
            assertTrue(run.exchanges().size() >= 3 && run.exchanges().size() <= 4, "sent " + run.exchanges().size());
            for (LoadRunner.Exchange x : run.exchanges()) {
                assertTrue(x.result().sendNs() - run.startNs() < 350_000_000L);
                assertTrue(x.result().ok());
            }
        }
    }

    @Test
    void shouldKeepUsageOfTheServerOverTheChunkCount() throws IOException {
        // Two tokens per chunk: 4 chunks, completion_tokens 8.
        try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(b -> Script.ok(30, 10, 4).withUsage(20, 8, 16));
                OpenAiClient client = client(server, Api.COMPLETIONS, ClientOptions.defaults())) {
            RequestResult r = client.send("scripted", List.of(Message.user("x")), 8);
            assertEquals(new Usage(20, 8, 16), r.usage());
            RequestRecord rec = RequestRecord.of(0, "s", "p", 0, 0, 20, 8, r.sendNs(), r, Slo.NONE);
            assertEquals(8, rec.outputTokens());
            assertEquals(4, rec.chunks());
            assertEquals((rec.e2eMs() - rec.ttftMs()) / 7, rec.tpotMs(), 1e-9);
            assertFalse(Double.isNaN(rec.tpotMs()));
        }
    }
}
