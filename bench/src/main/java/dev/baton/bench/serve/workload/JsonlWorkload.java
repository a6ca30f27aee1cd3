package dev.baton.bench.serve.workload;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Prompts from a JSONL file, one request a line, used in file order (repeated from the top when more
 * requests are asked for than the file has). A line is {@code {"prompt": "..."}} or
 * {@code {"messages": [{"role": "system", "content": "..."}, ...]}}, with an optional {@code max_tokens}
 * (else the output distribution is sampled) and optional {@code prompt_tokens} (the known input length).
 */
public record JsonlWorkload(Path file, List<Turn> lines, LengthDistribution output) implements Workload {

    /**
     * Reads {@code file}.
     *
     * @throws IllegalArgumentException naming the line that is not a valid request
     */
    public static JsonlWorkload read(Path file, LengthDistribution output) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Turn> lines = new ArrayList<>();
        SplittableRandom rng = new SplittableRandom(0);
        int n = 0;
        for (String line : Files.readAllLines(file)) {
            n++;
            if (line.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = json.readTree(line);
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new IllegalArgumentException(file + " line " + n + ": not JSON: " + e.getOriginalMessage());
            }
            List<Message> messages = new ArrayList<>();
            if (node.hasNonNull("prompt")) {
                messages.add(Message.user(node.get("prompt").asText()));
            } else if (node.has("messages") && node.get("messages").isArray()) {
                for (JsonNode m : node.get("messages")) {
                    if (!m.hasNonNull("role") || !m.hasNonNull("content")) {
                        throw new IllegalArgumentException(file + " line " + n + ": a message needs role and content");
                    }
                    messages.add(new Message(m.get("role").asText(), m.get("content").asText()));
                }
            }
            if (messages.isEmpty()) {
                throw new IllegalArgumentException(file + " line " + n + ": needs \"prompt\" or a non-empty \"messages\" array");
            }
            int max = node.hasNonNull("max_tokens") ? node.get("max_tokens").asInt() : output.sample(rng);
            int expected = node.hasNonNull("prompt_tokens") ? node.get("prompt_tokens").asInt() : -1;
            lines.add(new Turn(messages, max, expected));
        }
        if (lines.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no request");
        }
        return new JsonlWorkload(file, List.copyOf(lines), output);
    }

    @Override
    public List<Session> sessions(int requests, long seed) {
        List<Session> out = new ArrayList<>(requests);
        for (int i = 0; i < requests; i++) {
            out.add(new Session(i, List.of(lines.get(i % lines.size()))));
        }
        return out;
    }

    @Override
    public String describe() {
        return "jsonl: " + file.getFileName() + " (" + lines.size() + " prompts)";
    }
}
