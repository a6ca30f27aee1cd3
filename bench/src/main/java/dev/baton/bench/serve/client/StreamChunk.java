package dev.baton.bench.serve.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.bench.serve.metrics.Usage;

/**
 * One parsed {@code data:} event of an OpenAI stream.
 *
 * @param content the text it adds (a completions {@code choices[0].text}, a chat {@code delta.content} or
 *     {@code delta.reasoning_content}); null when it adds none (role-only, usage-only, empty text)
 * @param usage its {@code usage} object, or null
 * @param error the message of an {@code {"error": ...}} event, or null
 */
public record StreamChunk(String content, Usage usage, String error) {

    /** Reads the fields of one event's JSON. */
    public static StreamChunk of(JsonNode node) {
        if (node.has("error")) {
            JsonNode e = node.get("error");
            String msg = e.isObject() && e.hasNonNull("message") ? e.get("message").asText() : e.toString();
            return new StreamChunk(null, null, msg);
        }
        StringBuilder text = new StringBuilder();
        JsonNode choices = node.get("choices");
        if (choices != null && choices.isArray()) {
            for (JsonNode c : choices) {
                append(text, c.get("text"));
                JsonNode delta = c.get("delta");
                if (delta != null) {
                    append(text, delta.get("content"));
                    append(text, delta.get("reasoning_content"));
                }
            }
        }
        Usage usage = null;
        JsonNode u = node.get("usage");
        if (u != null && u.isObject()) {
            JsonNode details = u.get("prompt_tokens_details");
            int cached = details != null && details.hasNonNull("cached_tokens") ? details.get("cached_tokens").asInt() : -1;
            usage = new Usage(u.path("prompt_tokens").asInt(-1), u.path("completion_tokens").asInt(-1), cached);
        }
        return new StreamChunk(text.isEmpty() ? null : text.toString(), usage, null);
    }

    private static void append(StringBuilder sb, JsonNode n) {
        if (n != null && n.isTextual()) {
            sb.append(n.asText());
        }
    }
}
