package dev.baton.router.api.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.engine.tokenizer.Tokenizer;
import dev.baton.router.api.openai.CompletionRequest.Kind;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Writes the JSON bodies of OpenAI's API: whole answers, stream chunks, the model list and errors.
 *
 * <pre>
 * completion   {"id","object":"text_completion","created","model",
 *               "choices":[{"index":0,"text","logprobs":null,"finish_reason"}],"usage":{...}}
 * chat         {"id","object":"chat.completion","created","model",
 *               "choices":[{"index":0,"message":{"role":"assistant","content"},"logprobs":null,"finish_reason"}],"usage":{...}}
 * usage        {"prompt_tokens","completion_tokens","total_tokens","prompt_tokens_details":{"cached_tokens"}}
 * chunk        same envelope; object "text_completion" / "chat.completion.chunk", choices[0] has
 *              "text" (completions) or "delta" {"role"?, "content"?} (chat) and "finish_reason" (null until the last)
 * usage chunk  same envelope, "choices": [], "usage": {...}
 * error        {"error":{"message","type","param","code"}}
 * </pre>
 *
 * {@code logprobs} is null unless the request asked for them; then ({@link #logprobs}) completions get
 * {@code {"tokens","token_logprobs","top_logprobs":[{token: logprob}],"text_offset"}} and chat gets
 * {@code {"content":[{"token","logprob","bytes","top_logprobs":[{"token","logprob","bytes"}]}]}}, for the
 * tokens of that answer or chunk. Stateless and thread-safe.
 */
public final class OpenAiJson {

    private static final ObjectMapper JSON = new ObjectMapper();

    private OpenAiJson() {}

    /** Token counts of one request. */
    public record Usage(int promptTokens, int completionTokens, int cachedTokens) {}

    /** The {@code id} of an answer: {@code cmpl-HEX} or {@code chatcmpl-HEX}. */
    public static String answerId(Kind kind, long requestId) {
        return (kind == Kind.CHAT ? "chatcmpl-" : "cmpl-") + Long.toUnsignedString(requestId, 16);
    }

    /** A whole (non-streaming) answer. */
    public static byte[] answer(Kind kind, String id, long created, String model, String text, String finishReason,
            Usage usage) {
        return answer(kind, id, created, model, text, finishReason, usage, null);
    }

    /** A whole (non-streaming) answer with its {@code logprobs} object ({@link #logprobs}; null: none asked for). */
    public static byte[] answer(Kind kind, String id, long created, String model, String text, String finishReason,
            Usage usage, JsonNode logprobs) {
        ObjectNode root = envelope(kind == Kind.CHAT ? "chat.completion" : "text_completion", id, created, model);
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (kind == Kind.CHAT) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", text);
        } else {
            choice.put("text", text);
        }
        choice.set("logprobs", logprobs == null ? choice.nullNode() : logprobs);
        choice.put("finish_reason", finishReason);
        usage(root.putObject("usage"), usage);
        return bytes(root);
    }

    /**
     * One stream chunk with {@code text}, and {@code finishReason} on the last (null before).
     *
     * @param withRole   the first chat chunk: the delta carries {@code "role": "assistant"}
     * @param usageField add {@code "usage": null}, as OpenAI does in every chunk when usage is requested
     */
    public static byte[] chunk(Kind kind, String id, long created, String model, String text, String finishReason,
            boolean withRole, boolean usageField) {
        return chunk(kind, id, created, model, text, finishReason, withRole, usageField, null);
    }

    /** As {@link #chunk(Kind, String, long, String, String, String, boolean, boolean)}, with the chunk's {@code logprobs}. */
    public static byte[] chunk(Kind kind, String id, long created, String model, String text, String finishReason,
            boolean withRole, boolean usageField, JsonNode logprobs) {
        ObjectNode root = envelope(kind == Kind.CHAT ? "chat.completion.chunk" : "text_completion", id, created, model);
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (kind == Kind.CHAT) {
            ObjectNode delta = choice.putObject("delta");
            if (withRole) {
                delta.put("role", "assistant");
            }
            if (!text.isEmpty() || (withRole && finishReason == null)) {
                delta.put("content", text);
            }
        } else {
            choice.put("text", text);
        }
        choice.set("logprobs", logprobs == null ? choice.nullNode() : logprobs);
        choice.put("finish_reason", finishReason);
        if (usageField) {
            root.putNull("usage");
        }
        return bytes(root);
    }

    /**
     * The {@code logprobs} object of some generated tokens, each token shown as the text of its bytes
     * ({@code tokenizer}).
     *
     * @param textOffset completions: where the first token's text starts in the completion
     */
    public static JsonNode logprobs(Kind kind, List<GenerationEvent.Logprob> tokens, Tokenizer tokenizer, int textOffset) {
        ObjectNode root = JSON.createObjectNode();
        if (kind == Kind.CHAT) {
            ArrayNode content = root.putArray("content");
            for (GenerationEvent.Logprob lp : tokens) {
                ObjectNode t = chatToken(content.addObject(), lp.tokenId(), lp.logprob(), tokenizer);
                ArrayNode top = t.putArray("top_logprobs");
                for (int i = 0; i < lp.topIds().length; i++) {
                    chatToken(top.addObject(), lp.topIds()[i], lp.topLogprobs()[i], tokenizer);
                }
            }
            return root;
        }
        ArrayNode texts = root.putArray("tokens");
        ArrayNode values = root.putArray("token_logprobs");
        ArrayNode tops = root.putArray("top_logprobs");
        ArrayNode offsets = root.putArray("text_offset");
        int offset = textOffset;
        for (GenerationEvent.Logprob lp : tokens) {
            String text = tokenizer.decode(new int[] {lp.tokenId()});
            texts.add(text);
            values.add(finite(lp.logprob()));
            ObjectNode top = tops.addObject();
            for (int i = 0; i < lp.topIds().length; i++) {
                String s = tokenizer.decode(new int[] {lp.topIds()[i]});
                if (!top.has(s)) { // two tokens with the same text: the likelier one is shown, as OpenAI does
                    top.put(s, finite(lp.topLogprobs()[i]));
                }
            }
            offsets.add(offset);
            offset += text.length();
        }
        return root;
    }

    private static ObjectNode chatToken(ObjectNode t, int id, float logprob, Tokenizer tokenizer) {
        byte[] bytes = tokenizer.tokenBytes(id);
        t.put("token", tokenizer.decode(new int[] {id}));
        t.put("logprob", finite(logprob));
        ArrayNode b = t.putArray("bytes");
        for (byte x : bytes) {
            b.add(x & 0xFF);
        }
        return t;
    }

    /** JSON has no infinity: OpenAI reports an impossible token as -9999. */
    private static float finite(float logprob) {
        return Float.isFinite(logprob) ? logprob : -9999f;
    }

    /** The chunk after the last one when {@code stream_options.include_usage} is set: no choices, the usage. */
    public static byte[] usageChunk(Kind kind, String id, long created, String model, Usage usage) {
        ObjectNode root = envelope(kind == Kind.CHAT ? "chat.completion.chunk" : "text_completion", id, created, model);
        root.putArray("choices");
        usage(root.putObject("usage"), usage);
        return bytes(root);
    }

    /** {@code GET /v1/models}: the one model served. */
    public static byte[] models(String id, long created, int contextLength) {
        return models(java.util.List.of(new ModelEntry(id, created, contextLength)));
    }

    /** One model of {@code GET /v1/models}. */
    public record ModelEntry(String id, long created, int contextLength) {}

    /** {@code GET /v1/models}: every model served, in the given order. */
    public static byte[] models(java.util.List<ModelEntry> models) {
        ObjectNode root = JSON.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        for (ModelEntry e : models) {
            ObjectNode m = data.addObject();
            m.put("id", e.id());
            m.put("object", "model");
            m.put("created", e.created());
            m.put("owned_by", "baton");
            m.put("max_model_len", e.contextLength());
        }
        return bytes(root);
    }

    /** An error body. */
    public static byte[] error(ApiError error) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", error.message());
        e.put("type", error.type());
        e.put("param", error.param());
        e.put("code", error.code());
        return bytes(root);
    }

    /** Any JSON tree as bytes (e.g. the backend's cluster view). */
    public static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e); // a tree of plain nodes always serializes
        }
    }

    /** A fresh object node, for small bodies built elsewhere. */
    public static ObjectNode object() {
        return JSON.createObjectNode();
    }

    private static ObjectNode envelope(String object, String id, long created, String model) {
        ObjectNode root = JSON.createObjectNode();
        root.put("id", id);
        root.put("object", object);
        root.put("created", created);
        root.put("model", model);
        return root;
    }

    private static void usage(ObjectNode u, Usage usage) {
        u.put("prompt_tokens", usage.promptTokens());
        u.put("completion_tokens", usage.completionTokens());
        u.put("total_tokens", usage.promptTokens() + usage.completionTokens());
        u.putObject("prompt_tokens_details").put("cached_tokens", usage.cachedTokens());
    }
}
