package dev.baton.router.api.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import dev.baton.engine.chat.ChatMessage;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.router.api.openai.CompletionRequest.Kind;
import dev.baton.router.api.openai.CompletionRequest.Prompt;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Turns an OpenAI request body into a {@link CompletionRequest}, checking every field's JSON type.
 * Bad input throws {@link ApiException} with a 400 that names the field ({@code param}); ranges that
 * do not depend on the model (n, max_tokens &ge; 1) and the router's {@link RequestLimits} on fields
 * ({@code max_tokens}, {@code stop}, {@code logprobs}/{@code top_logprobs}) are checked here, the rest
 * by the preparer with {@link SamplingParams#validate}. A refusal for a limit names the limit and its
 * value, and the key that sets it ({@code baton.router.limits}).
 *
 * <p>Accepted fields: {@code model}, {@code prompt} (string, token-id array, or a list of one of
 * those) or {@code messages}, {@code max_tokens} (and {@code max_completion_tokens} for chat),
 * {@code temperature}, {@code top_p}, {@code top_k}, {@code min_p}, {@code seed}, {@code stop},
 * {@code stop_token_ids}, {@code presence_penalty}, {@code frequency_penalty},
 * {@code repetition_penalty}, {@code logprobs}, {@code top_logprobs}, {@code n} (1 only),
 * {@code ignore_eos}, {@code stream}, {@code stream_options.include_usage}, {@code cache_salt}
 * (a tenant's cache salt, as vLLM's: prefix-cached KV is shared only between requests with the
 * same salt, so one tenant cannot learn another's prompts from cache timing), {@code user} (the session id
 * of sticky sessions, at most {@link #MAX_SESSION_CHARS} characters). Other fields are ignored, except {@code echo: true} and {@code best_of &gt; 1}, which are refused
 * because they would change the answer's meaning. Every string must be valid Unicode: one holding a
 * lone UTF-16 surrogate ({@code "\\ud800"}) is refused with a 400 naming its field.
 *
 * <p>Stateless and thread-safe.
 */
public final class RequestParser {

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static final Map<JsonNodeType, String> TYPE_NAMES = Map.of(
            JsonNodeType.STRING, "a string",
            JsonNodeType.NUMBER, "a number",
            JsonNodeType.BOOLEAN, "a boolean",
            JsonNodeType.ARRAY, "an array",
            JsonNodeType.OBJECT, "an object",
            JsonNodeType.NULL, "null");

    /** Longest session id accepted: {@code user}, or the {@code X-Session-Id} header. */
    public static final int MAX_SESSION_CHARS = 256;

    /** Longest {@code cache_salt} accepted (a 256-bit random salt is 43 characters in base64). */
    public static final int MAX_CACHE_SALT_CHARS = 1024;

    private RequestParser() {}

    /** {@link #parse(byte[], Kind)} of a body already decoded. */
    public static CompletionRequest parse(String body, Kind kind) {
        return parse(body.getBytes(StandardCharsets.UTF_8), kind, RequestLimits.ENGINE);
    }

    /** {@link #parse(byte[], Kind, RequestLimits)} of a body already decoded. */
    public static CompletionRequest parse(String body, Kind kind, RequestLimits limits) {
        return parse(body.getBytes(StandardCharsets.UTF_8), kind, limits);
    }

    /** {@link #parse(byte[], Kind, RequestLimits)} under the engine's limits only ({@link RequestLimits#ENGINE}). */
    public static CompletionRequest parse(byte[] body, Kind kind) {
        return parse(body, kind, RequestLimits.ENGINE);
    }

    /**
     * Parses and type-checks one request body. JSON is read from the bytes (UTF-8, or UTF-16/32
     * as JSON allows), whatever charset the request's Content-Type claims.
     *
     * @param limits the router's limits on fields; the prompt's ({@link RequestLimits#maxPromptTokens()}) is
     *               the preparer's, after tokenization
     * @throws ApiException 400 for invalid JSON, a missing or mistyped field, an unsupported option or a
     *                      field over a limit
     */
    public static CompletionRequest parse(byte[] body, Kind kind, RequestLimits limits) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (IOException e) {
            String detail = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new ApiException(ApiError.invalidJson(detail));
        }
        if (root == null || root.isMissingNode()) {
            throw new ApiException(ApiError.invalidJson("the body is empty"));
        }
        if (!root.isObject()) {
            throw ApiException.invalid(null, "the request body must be a JSON object, got " + describe(root));
        }
        String model = optString(root, "model");
        Prompt prompt = kind == Kind.CHAT ? messages(root) : prompt(root);

        oneChoice(root, "n");
        oneChoice(root, "best_of");
        if (optBoolean(root, "echo", false)) {
            throw ApiException.invalid("echo", "echo is not supported");
        }

        String maxParam = "max_tokens";
        OptionalInt maxTokens = optInt(root, "max_tokens");
        if (kind == Kind.CHAT) {
            OptionalInt completion = optInt(root, "max_completion_tokens");
            if (completion.isPresent()) {
                maxTokens = completion;
                maxParam = "max_completion_tokens";
            }
        }
        if (maxTokens.isPresent() && maxTokens.getAsInt() < 1) {
            throw ApiException.invalid(maxParam, maxParam + " must be at least 1, got " + maxTokens.getAsInt());
        }
        if (maxTokens.isPresent() && limits.maxTokens() > 0 && maxTokens.getAsInt() > limits.maxTokens()) {
            throw ApiException.invalid(maxParam, maxParam + " = " + maxTokens.getAsInt() + " is over this server's limit of "
                    + limits.maxTokens() + " tokens (max-tokens)");
        }

        SamplingParams.Builder b = SamplingParams.builder();
        optFloat(root, "temperature").ifPresent(b::temperature);
        optFloat(root, "top_p").ifPresent(b::topP);
        optFloat(root, "min_p").ifPresent(b::minP);
        optFloat(root, "presence_penalty").ifPresent(b::presencePenalty);
        optFloat(root, "frequency_penalty").ifPresent(b::frequencyPenalty);
        optFloat(root, "repetition_penalty").ifPresent(b::repetitionPenalty);
        OptionalInt topK = optInt(root, "top_k");
        if (topK.isPresent()) {
            b.topK(topK.getAsInt() == 0 ? -1 : topK.getAsInt()); // vLLM: 0 and -1 both mean "all tokens"
        }
        OptionalLong seed = optLong(root, "seed");
        if (seed.isPresent()) {
            b.seed(seed.getAsLong());
        }
        b.stopStrings(stop(root, limits));
        b.stopTokenIds(intList(root, "stop_token_ids"));
        b.ignoreEos(optBoolean(root, "ignore_eos", false));
        logprobs(root, kind, b, limits.maxLogprobs());

        boolean stream = optBoolean(root, "stream", false);
        boolean includeUsage = false;
        JsonNode options = root.get("stream_options");
        if (options != null && !options.isNull()) {
            if (!options.isObject()) {
                throw wrongType("stream_options", "an object", options);
            }
            includeUsage = optBoolean(options, "include_usage", "stream_options.include_usage", false);
        }
        String cacheSalt = optString(root, "cache_salt");
        if (cacheSalt != null && cacheSalt.length() > MAX_CACHE_SALT_CHARS) {
            throw ApiException.invalid("cache_salt", "cache_salt must be at most " + MAX_CACHE_SALT_CHARS
                    + " characters, got " + cacheSalt.length());
        }
        String user = optString(root, "user");
        if (user != null && user.length() > MAX_SESSION_CHARS) {
            throw ApiException.invalid("user", "user must be at most " + MAX_SESSION_CHARS + " characters, got "
                    + user.length());
        }
        return new CompletionRequest(kind, model, prompt, maxTokens, maxParam, b.build(), stream, includeUsage,
                cacheSalt == null ? "" : cacheSalt, user == null || user.isEmpty() ? null : user);
    }

    private static Prompt prompt(JsonNode root) {
        JsonNode p = root.get("prompt");
        if (p == null || p.isNull()) {
            throw ApiException.invalid("prompt", "prompt is required");
        }
        if (p.isTextual()) {
            return new Prompt.Text(text(p, "prompt"));
        }
        if (!p.isArray()) {
            throw wrongType("prompt", "a string or an array of token ids", p);
        }
        if (p.isEmpty()) {
            throw ApiException.invalid("prompt", "prompt must not be empty");
        }
        if (p.get(0).isNumber()) {
            return new Prompt.Tokens(tokenIds(p, "prompt"));
        }
        if (p.size() > 1) {
            throw ApiException.invalid("prompt", "a list of " + p.size()
                    + " prompts is not supported; send one prompt per request");
        }
        JsonNode only = p.get(0);
        if (only.isTextual()) {
            return new Prompt.Text(text(only, "prompt"));
        }
        if (only.isArray()) {
            if (only.isEmpty()) {
                throw ApiException.invalid("prompt", "prompt must not be empty");
            }
            return new Prompt.Tokens(tokenIds(only, "prompt"));
        }
        throw wrongType("prompt", "a string or an array of token ids", p);
    }

    private static Prompt messages(JsonNode root) {
        JsonNode m = root.get("messages");
        if (m == null || m.isNull()) {
            throw ApiException.invalid("messages", "messages is required");
        }
        if (!m.isArray()) {
            throw wrongType("messages", "an array of messages", m);
        }
        if (m.isEmpty()) {
            throw ApiException.invalid("messages", "messages must not be empty");
        }
        List<ChatMessage> out = new ArrayList<>(m.size());
        for (int i = 0; i < m.size(); i++) {
            JsonNode msg = m.get(i);
            String where = "messages[" + i + "]";
            if (!msg.isObject()) {
                throw wrongType(where, "an object with role and content", msg);
            }
            JsonNode role = msg.get("role");
            if (role == null || !role.isTextual() || role.textValue().isEmpty()) {
                throw ApiException.invalid(where + ".role", where + ".role must be a non-empty string");
            }
            out.add(new ChatMessage(text(role, where + ".role"), content(msg.get("content"), where + ".content")));
        }
        return new Prompt.Messages(out);
    }

    /** A string, null (an assistant turn with tool calls only) or an array of text parts, joined. */
    private static String content(JsonNode c, String where) {
        if (c == null || c.isNull()) {
            return "";
        }
        if (c.isTextual()) {
            return text(c, where);
        }
        if (!c.isArray()) {
            throw wrongType(where, "a string or an array of text parts", c);
        }
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < c.size(); i++) {
            JsonNode part = c.get(i);
            JsonNode type = part.get("type");
            JsonNode t = part.get("text");
            if (!part.isObject() || type == null || !"text".equals(type.asText()) || t == null || !t.isTextual()) {
                throw ApiException.invalid(where, where + "[" + i + "] must be {\"type\": \"text\", \"text\": ...}:"
                        + " only text content is supported");
            }
            text.append(text(t, where));
        }
        return text.toString();
    }

    /** {@code n} and {@code best_of}: absent or {@link RequestLimits#N}, since an answer carries one choice. */
    private static void oneChoice(JsonNode root, String name) {
        OptionalInt n = optInt(root, name);
        if (n.isPresent() && n.getAsInt() != RequestLimits.N) {
            throw ApiException.invalid(name, name + " = " + n.getAsInt() + " is not supported: this server gives one "
                    + "choice per request (" + name + " = " + RequestLimits.N + " only)"
                    + (n.getAsInt() > RequestLimits.N ? "; send " + n.getAsInt() + " requests instead" : ""));
        }
    }

    private static List<String> stop(JsonNode root, RequestLimits limits) {
        JsonNode s = root.get("stop");
        if (s == null || s.isNull()) {
            return List.of();
        }
        if (s.isTextual()) {
            return List.of(stopString(s, 0, limits));
        }
        if (!s.isArray()) {
            throw wrongType("stop", "a string or an array of strings", s);
        }
        if (s.size() > limits.maxStopStrings()) {
            throw ApiException.invalid("stop", "stop has " + s.size() + " strings, over this server's limit of "
                    + limits.maxStopStrings() + " (max-stop-strings)");
        }
        List<String> out = new ArrayList<>(s.size());
        for (int i = 0; i < s.size(); i++) {
            JsonNode e = s.get(i);
            if (!e.isTextual()) {
                throw wrongType("stop", "a string or an array of strings", s);
            }
            out.add(stopString(e, i, limits));
        }
        return out;
    }

    private static String stopString(JsonNode e, int index, RequestLimits limits) {
        if (limits.maxStopStrings() < 1) {
            throw ApiException.invalid("stop", "stop strings are over this server's limit of 0 (max-stop-strings)");
        }
        String text = text(e, "stop");
        if (text.length() > limits.maxStopStringChars()) {
            throw ApiException.invalid("stop", "stop string " + index + " has " + text.length() + " characters, over this"
                    + " server's limit of " + limits.maxStopStringChars() + " (max-stop-string-chars)");
        }
        return text;
    }

    private static void logprobs(JsonNode root, Kind kind, SamplingParams.Builder b, int max) {
        String param = kind == Kind.COMPLETION ? "logprobs" : "top_logprobs";
        OptionalInt n;
        if (kind == Kind.COMPLETION) {
            n = optInt(root, "logprobs");
        } else {
            OptionalInt top = optInt(root, "top_logprobs");
            if (optBoolean(root, "logprobs", false)) {
                n = OptionalInt.of(top.orElse(0));
            } else if (top.isPresent()) {
                throw ApiException.invalid("top_logprobs", "top_logprobs needs logprobs = true");
            } else {
                n = OptionalInt.empty();
            }
        }
        if (n.isEmpty()) {
            return;
        }
        if (n.getAsInt() < 0) {
            throw ApiException.invalid(param, param + " must be at least 0, got " + n.getAsInt());
        }
        if (n.getAsInt() > max) {
            throw ApiException.invalid(param, param + " = " + n.getAsInt() + " is over this server's limit of " + max
                    + " (max-logprobs)");
        }
        b.logprobs(n.getAsInt());
    }

    private static int[] tokenIds(JsonNode array, String param) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode e = array.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw ApiException.invalid(param, param + " must be a string or an array of integer token ids; element "
                        + i + " is " + describe(e));
            }
            ids[i] = e.intValue();
        }
        return ids;
    }

    private static List<Integer> intList(JsonNode root, String name) {
        JsonNode a = root.get(name);
        if (a == null || a.isNull()) {
            return List.of();
        }
        if (!a.isArray()) {
            throw wrongType(name, "an array of integers", a);
        }
        List<Integer> out = new ArrayList<>(a.size());
        for (int id : tokenIds(a, name)) {
            out.add(id);
        }
        return out;
    }

    private static String optString(JsonNode root, String name) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw wrongType(name, "a string", v);
        }
        return text(v, name);
    }

    private static OptionalInt optInt(JsonNode root, String name) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return OptionalInt.empty();
        }
        if (!integral(v)) {
            throw wrongType(name, "an integer", v);
        }
        if (!v.canConvertToInt()) {
            throw ApiException.invalid(name, name + " = " + v.asText() + " is out of range");
        }
        return OptionalInt.of(v.intValue());
    }

    private static OptionalLong optLong(JsonNode root, String name) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return OptionalLong.empty();
        }
        if (!integral(v)) {
            throw wrongType(name, "an integer", v);
        }
        if (!v.canConvertToLong()) {
            throw ApiException.invalid(name, name + " = " + v.asText() + " is out of range");
        }
        return OptionalLong.of(v.longValue());
    }

    /** Integers, and floats with no fraction (2.0), which some clients send for integers. */
    private static boolean integral(JsonNode v) {
        return v.isIntegralNumber() || (v.isFloatingPointNumber() && v.doubleValue() == Math.rint(v.doubleValue())
                && !Double.isInfinite(v.doubleValue()));
    }

    private static Optional<Float> optFloat(JsonNode root, String name) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isNumber()) {
            throw wrongType(name, "a number", v);
        }
        return Optional.of(v.floatValue());
    }

    private static boolean optBoolean(JsonNode root, String name, boolean defaultValue) {
        return optBoolean(root, name, name, defaultValue);
    }

    private static boolean optBoolean(JsonNode node, String name, String param, boolean defaultValue) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.isBoolean()) {
            throw wrongType(param, "a boolean", v);
        }
        return v.booleanValue();
    }

    /**
     * The text of a string node, refused when it holds a lone UTF-16 surrogate: JSON's {@code \\u} escapes
     * can spell one ({@code "\\ud800"}), but it is no Unicode character, has no UTF-8 form, and a string
     * holding one could not be sent to another node (its message would be dropped, and the request would
     * wait for an answer that never comes).
     */
    private static String text(JsonNode v, String param) {
        String s = v.textValue();
        int at = loneSurrogate(s);
        if (at >= 0) {
            throw ApiException.invalid(param, param + " holds a lone UTF-16 surrogate (\\u"
                    + Integer.toHexString(s.charAt(at)) + " at index " + at + "): strings must be valid Unicode");
        }
        return s;
    }

    /** The index of the first surrogate in {@code s} that is not part of a pair, or -1. */
    static int loneSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    private static ApiException wrongType(String param, String expected, JsonNode got) {
        return ApiException.invalid(param, param + " must be " + expected + ", got " + describe(got));
    }

    private static String describe(JsonNode v) {
        String type = TYPE_NAMES.getOrDefault(v.getNodeType(), v.getNodeType().name().toLowerCase(Locale.ROOT));
        if (v.isNumber() || v.isBoolean()) {
            return type + " (" + v.asText() + ")";
        }
        return type;
    }
}
