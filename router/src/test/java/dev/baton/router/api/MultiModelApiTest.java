package dev.baton.router.api;

import static dev.baton.router.api.ApiClient.body;
import static dev.baton.router.api.ApiClient.error;
import static dev.baton.router.api.ApiClient.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.Generator;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.engine.sched.EngineLoop;
import dev.baton.engine.sched.LoopSettings;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One router API serving two models (tiny-f32 and small-q8_0, each on its own engine): {@code /v1/models} lists
 * both, a request goes to the model it names and is tokenized with that model's tokenizer (its answer is the
 * engine's own for that model), a request without {@code model} is 400 naming the models, an unknown model 404,
 * and {@code /ready} is 503 naming the model that cannot serve while the other still answers.
 */
@Timeout(60)
class MultiModelApiTest {

    static Engine tiny;
    static EngineLoop tinyLoop;
    static Engine small;
    static EngineLoop smallLoop;
    static FaultyBackend tinyBackend;
    static ActorSystem<Void> system;
    static RouterHttpServer.Binding server;

    @BeforeAll
    static void start() throws Exception {
        tiny = Engine.open(EngineSettings.defaults(ApiClient.model("tiny-f32")).withThreads(1).withKvCacheBytes(4L << 20));
        tinyLoop = new EngineLoop(tiny, LoopSettings.defaults(), "multi-tiny-loop");
        small = Engine.open(EngineSettings.defaults(ApiClient.model("small-q8_0")).withThreads(1)
                .withKvCacheBytes(16L << 20));
        smallLoop = new EngineLoop(small, LoopSettings.defaults(), "multi-small-loop");
        tinyBackend = new FaultyBackend(new EngineBackend(tiny, tinyLoop, "tiny-f32"));
        system = ApiClient.actorSystem("multi-model-test");
        server = RouterHttpServer.start(system, ApiClient.settings(), dev.baton.router.admission.AdmissionSettings.defaults(),
                List.of(tinyBackend, new EngineBackend(small, smallLoop, "small-q8_0")),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), RouterHttpServer.Hooks.NONE)
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        if (system != null) {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
        }
        for (AutoCloseable c : new AutoCloseable[] {tinyLoop, tiny, smallLoop, small}) {
            if (c != null) {
                c.close();
            }
        }
    }

    @AfterEach
    void noFault() {
        tinyBackend.fault = FaultyBackend.Fault.NONE;
    }

    private static String alone(String model, String prompt, int maxTokens) throws Exception {
        try (Engine e = Engine.open(EngineSettings.defaults(ApiClient.model(model)).withThreads(1)
                .withKvCacheBytes(16L << 20))) {
            int[] ids = e.tokenizer().encode(prompt, true, true);
            return new Generator(e).generate(ids, SamplingParams.builder().temperature(0).maxTokens(maxTokens)
                    .ignoreEos(true).build(), t -> { }).text();
        }
    }

    @Test
    void shouldListEveryModelAndAnswerEachWithItsOwnModel() throws Exception {
        ApiClient api = new ApiClient(server.port());
        JsonNode models = json(api.get("/v1/models"));
        assertEquals(2, models.get("data").size(), models.toString());
        assertEquals("tiny-f32", models.get("data").get(0).get("id").asText());
        assertEquals(512, models.get("data").get(0).get("max_model_len").asInt());
        assertEquals("small-q8_0", models.get("data").get(1).get("id").asText());
        assertEquals(2048, models.get("data").get(1).get("max_model_len").asInt());
        String prompt = "Once upon a time";
        for (String model : new String[] {"tiny-f32", "small-q8_0"}) {
            HttpResponse<String> r = api.post("/v1/completions", body("model", model, "prompt", prompt, "max_tokens", 12,
                    "temperature", 0, "ignore_eos", true));
            assertEquals(200, r.statusCode(), r.body());
            JsonNode a = json(r);
            assertEquals(model, a.get("model").asText());
            assertEquals(alone(model, prompt, 12), a.get("choices").get(0).get("text").asText(), model);
        }
        assertEquals(200, api.get("/ready").statusCode());
    }

    @Test
    void shouldRefuseARequestWithoutModelOrWithAnUnknownOne() throws Exception {
        ApiClient api = new ApiClient(server.port());
        JsonNode missing = error(api.post("/v1/completions", body("prompt", "x", "max_tokens", 2)), 400);
        assertEquals("model_required", missing.get("code").asText());
        assertEquals("model", missing.get("param").asText());
        assertTrue(missing.get("message").asText().contains("'tiny-f32', 'small-q8_0'"), missing.toString());
        JsonNode unknown = error(api.post("/v1/chat/completions", body("model", "gpt-4", "messages",
                List.of(java.util.Map.of("role", "user", "content", "hi")))), 404);
        assertEquals("model_not_found", unknown.get("code").asText());
        assertTrue(unknown.get("message").asText().contains("'gpt-4'")
                && unknown.get("message").asText().contains("small-q8_0"), unknown.toString());
    }

    @Test
    void shouldBeNotReadyForTheModelThatCannotServeWhileTheOtherServes() throws Exception {
        tinyBackend.fault = FaultyBackend.Fault.NOT_READY;
        ApiClient api = new ApiClient(server.port());
        HttpResponse<String> ready = api.get("/ready");
        assertEquals(503, ready.statusCode());
        assertEquals("tiny-f32: no decode node has joined", json(ready).get("reason").asText());
        assertEquals("not_ready", error(api.post("/v1/completions", body("model", "tiny-f32", "prompt", "x",
                "max_tokens", 2)), 503).get("code").asText());
        assertEquals(200, api.post("/v1/completions", body("model", "small-q8_0", "prompt", "x", "max_tokens", 2))
                .statusCode(), "the other model still serves");
    }
}
