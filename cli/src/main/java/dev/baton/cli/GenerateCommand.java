package dev.baton.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.engine.Engine;
import dev.baton.engine.Generator;
import dev.baton.engine.chat.ChatMessage;
import dev.baton.engine.model.DemoModel;
import dev.baton.engine.sampling.SamplingParams;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/baton generate}: runs the engine in this process and streams the answer. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a prompt with the engine in this process.")
final class GenerateCommand implements Callable<Integer> {

    enum Output { text, json }

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    EngineOptions engine = new EngineOptions();

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the prompt")
    String prompt;

    @Option(names = "--chat", description = "apply the model's chat template to the prompt as a user message")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "system message (with --chat)")
    String system;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "128", description = "tokens to generate at most (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0", description = "0 is greedy (default: ${DEFAULT-VALUE})")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "-1", description = "-1 disables (default)")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1", description = "nucleus sampling mass (default: 1)")
    float topP;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0", description = "minimum probability relative to the top token (default: 0)")
    float minP;

    @Option(names = "--repetition-penalty", paramLabel = "R", defaultValue = "1", description = "(default: 1, off)")
    float repetitionPenalty;

    @Option(names = "--seed", paramLabel = "S", description = "random seed: same seed, same output")
    Long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "stop string (repeatable)")
    List<String> stop = List.of();

    @Option(names = "--output", paramLabel = "text|json", defaultValue = "text",
            description = "text streams the answer; json prints one object at the end (default: ${DEFAULT-VALUE})")
    Output output;

    @Option(names = "--timings", description = "print on stderr when the engine was open, the first token and the last "
            + "token came, in seconds after the JVM started (and the JVM's start as epoch milliseconds), for cold-start "
            + "measurements; with --output json also as \"timings\"")
    boolean timings;

    /**
     * Cold-start timings: each in seconds after the JVM started ({@code jvmStartEpochMs}, the JVM's own start time).
     * The first token is counted when its logits are ready, the last when generation returns.
     */
    record Timings(long jvmStartEpochMs, double commandSeconds, double engineOpenSeconds, double firstTokenSeconds,
            double lastTokenSeconds, int tokens) {

        String describe() {
            return String.format(java.util.Locale.ROOT, "baton: timings (s after JVM start): command %.3f, engine open %.3f, "
                    + "first token %.3f, %d tokens %.3f (JVM start: %d ms since the epoch)", commandSeconds,
                    engineOpenSeconds, firstTokenSeconds, tokens, lastTokenSeconds, jvmStartEpochMs);
        }
    }

    @Override
    public Integer call() throws Exception {
        long jvmStartMs = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
        long callNs = System.nanoTime();
        double callSeconds = (System.currentTimeMillis() - jvmStartMs) / 1e3;
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        var settings = engine.settings();
        if (engine.demo) {
            err.println("baton: no --model given: using the embedded demo model (" + DemoModel.NAME + ") at "
                    + settings.model());
        }
        SamplingParams.Builder b = SamplingParams.builder().temperature(temperature).topK(topK).topP(topP).minP(minP)
                .repetitionPenalty(repetitionPenalty).maxTokens(maxTokens).stopStrings(stop);
        if (seed != null) {
            b.seed(seed);
        }
        SamplingParams params = b.build();
        try (Engine e = Engine.open(settings)) {
            long openNs = System.nanoTime();
            int[] promptIds = encode(e);
            long generateNs = System.nanoTime();
            Generator.Result r = new Generator(e).generate(promptIds, params,
                    output == Output.text ? piece -> {
                        out.print(piece);
                        out.flush();
                    } : piece -> { });
            long endNs = System.nanoTime();
            Timings t = new Timings(jvmStartMs, callSeconds, callSeconds + (openNs - callNs) / 1e9,
                    callSeconds + (generateNs + r.prefillNanos() - callNs) / 1e9, callSeconds + (endNs - callNs) / 1e9,
                    r.tokens().length);
            if (output == Output.text) {
                out.println();
                err.printf("baton: %d prompt tokens (%.1f tok/s), %d generated (%.1f tok/s), finish: %s%n",
                        r.promptTokens().length, r.promptTokensPerSecond(), r.tokens().length,
                        r.decodeTokensPerSecond(), r.finishReason().wireName());
                if (timings) {
                    err.println(t.describe());
                }
            } else {
                ObjectMapper json = new ObjectMapper();
                ObjectNode o = json.createObjectNode();
                o.put("model", e.config().name());
                o.put("model_path", settings.model().toString());
                o.put("demo_model", engine.demo);
                o.putPOJO("prompt_token_ids", r.promptTokens());
                o.putPOJO("token_ids", r.tokens());
                o.put("text", r.text());
                o.put("finish_reason", r.finishReason().wireName());
                o.put("prompt_tokens", r.promptTokens().length);
                o.put("completion_tokens", r.tokens().length);
                o.put("prompt_tokens_per_second", r.promptTokensPerSecond());
                o.put("decode_tokens_per_second", r.decodeTokensPerSecond());
                o.put("threads", settings.threads());
                if (timings) {
                    ObjectNode tj = o.putObject("timings");
                    tj.put("jvm_start_epoch_ms", t.jvmStartEpochMs());
                    tj.put("command_s", t.commandSeconds());
                    tj.put("engine_open_s", t.engineOpenSeconds());
                    tj.put("first_token_s", t.firstTokenSeconds());
                    tj.put("last_token_s", t.lastTokenSeconds());
                    err.println(t.describe());
                }
                out.println(json.writeValueAsString(o));
                out.flush();
            }
        }
        return 0;
    }

    private int[] encode(Engine e) {
        if (!chat) {
            return e.tokenizer().encode(prompt, true, false);
        }
        List<ChatMessage> messages = system == null ? List.of(new ChatMessage("user", prompt))
                : List.of(new ChatMessage("system", system), new ChatMessage("user", prompt));
        return e.chatTemplate().encodePrompt(messages, e.tokenizer());
    }
}
