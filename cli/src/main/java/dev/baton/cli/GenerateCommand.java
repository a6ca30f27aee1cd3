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

    @Override
    public Integer call() throws Exception {
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
            int[] promptIds = encode(e);
            Generator.Result r = new Generator(e).generate(promptIds, params,
                    output == Output.text ? piece -> {
                        out.print(piece);
                        out.flush();
                    } : piece -> { });
            if (output == Output.text) {
                out.println();
                err.printf("baton: %d prompt tokens (%.1f tok/s), %d generated (%.1f tok/s), finish: %s%n",
                        r.promptTokens().length, r.promptTokensPerSecond(), r.tokens().length,
                        r.decodeTokensPerSecond(), r.finishReason().wireName());
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
