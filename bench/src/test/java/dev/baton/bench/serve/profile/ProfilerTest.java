package dev.baton.bench.serve.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.bench.serve.Progress;
import dev.baton.bench.serve.ScriptedOpenAiServer;
import dev.baton.bench.serve.ScriptedOpenAiServer.Script;
import dev.baton.bench.serve.client.ClientOptions;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.report.JsonReport;
import dev.baton.bench.serve.workload.ApproximatePrompts;
import dev.baton.bench.serve.workload.Api;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A profile of a scripted server whose TTFT grows with the prompt (40 ms + 1 ms a word) and whose ITL grows
 * with the context (10 ms + 1 ms per 10 words): the profile must find both laws.
 */
@Timeout(60)
class ProfilerTest {

    @Test
    void shouldMeasureTtftAgainstInputLengthAndItlAgainstContext() throws IOException {
        try (ScriptedOpenAiServer server = new ScriptedOpenAiServer(body -> {
            int words = ScriptedOpenAiServer.prompt(body).split(" ").length;
            return Script.ok(40 + words, 10 + words / 10, body.get("max_tokens").asInt());
        })) {
            ProfileSettings s = new ProfileSettings(new Target("scripted", server.baseUrl(), null, 2, null), Api.COMPLETIONS,
                    new ApproximatePrompts(), List.of(20, 120), 2, List.of(1, 3), List.of(100), 5, 1, 1, 7,
                    ClientOptions.defaults());
            Profile p = new Profiler(s).run(Progress.NONE);
            assertEquals(2, p.prefill().size());
            assertEquals(20, p.prefill().get(0).inputTokens());
            assertEquals(2, p.prefill().get(0).requests());
            assertNear(60, p.prefill().get(0).ttftMs().median());
            assertNear(160, p.prefill().get(1).ttftMs().median());
            assertEquals(120 / (p.prefill().get(1).ttftMs().median() / 1e3), p.prefill().get(1).prefillTokensPerSecond(), 1e-9);
            assertEquals(p.prefill().get(1).prefillTokensPerSecond() / 2, p.prefill().get(1).prefillTokensPerSecondPerNode(), 1e-9);
            assertEquals(2, p.decode().size());
            Profile.DecodePoint d = p.decode().get(1);
            assertEquals(3, d.concurrency());
            assertEquals(100, d.contextTokens());
            assertEquals(3, d.requests());
            assertEquals(0, d.failed());
            assertEquals(12, d.itlMs().count()); // 3 requests x 4 gaps
            // A gap can also be shorter than the script, when the chunk before it was late.
            assertTrue(Math.abs(d.itlMs().median() - 20) <= 30, "ITL median " + d.itlMs().median());
            assertEquals(3 * d.tokensPerSecondPerUser(), d.decodeTokensPerSecond(), 1e-9);
            JsonNode json = new ObjectMapper().readTree(JsonReport.mapper().writeValueAsString(p));
            assertEquals(120, json.get("prefill").get(1).get("inputTokens").asInt());
            assertTrue(json.get("decode").get(0).get("itlMs").get("p90").isNumber());
            assertEquals("scripted", json.get("model").asText());
        }
    }

    /** A measured TTFT is never earlier than the script, and late by no more than scheduling jitter. */
    static void assertNear(double expected, double measured) {
        assertTrue(measured >= expected && measured <= expected + 30, "measured " + measured + ", script " + expected);
    }
}
