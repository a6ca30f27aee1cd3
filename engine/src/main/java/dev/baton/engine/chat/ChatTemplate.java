package dev.baton.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.baton.engine.gguf.GgufMetadata;
import dev.baton.engine.tokenizer.Tokenizer;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import jinjava.javax.el.CompositeELResolver;

/**
 * A model's chat template: turns a conversation into the prompt text the model was trained on, by
 * rendering the Jinja template of {@code tokenizer.chat_template} the way Hugging Face's
 * {@code apply_chat_template} does (Jinja with {@code trim_blocks} and {@code lstrip_blocks}, one
 * trailing newline of the template dropped).
 *
 * <p>The template sees {@code messages} (a list of {@code {role, content}} dicts),
 * {@code add_generation_prompt}, {@code bos_token} and {@code eos_token}, the functions
 * {@code raise_exception(message)} and {@code strftime_now(format)}, and the Python string methods
 * templates use ({@code strip}, {@code startswith}, {@code split}, ...). Rendering is done by Jinjava;
 * outputs of {@code true}/{@code none} print as Jinjava writes them ({@code true}, empty) where Python
 * would write {@code True}/{@code None}.
 *
 * <p>Immutable and thread-safe after construction: one instance serves every request of a model.
 */
public final class ChatTemplate {

    /** The key of the Jinja source in GGUF metadata. */
    public static final String KEY_CHAT_TEMPLATE = "tokenizer.chat_template";

    /** ChatML, used when a model has no template. */
    public static final String CHATML = """
            {%- for message in messages -%}
              {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}
              {{- '<|im_start|>assistant\\n' -}}
            {%- endif -%}""";

    private final Jinjava jinjava;
    private final String source;
    private final String bosToken;
    private final String eosToken;

    private ChatTemplate(String source, String bosToken, String eosToken) {
        this.source = jinjaSource(Objects.requireNonNull(source, "jinjaSource"));
        this.bosToken = Objects.requireNonNull(bosToken, "bosToken");
        this.eosToken = Objects.requireNonNull(eosToken, "eosToken");
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                .build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
        checkSyntax();
    }

    /**
     * The template of a model: {@code tokenizer.chat_template}, or {@link #CHATML} when there is none,
     * with BOS and EOS as the tokenizer's vocabulary writes them (empty when the model has none).
     *
     * @throws ChatTemplateException if the template does not parse
     */
    public static ChatTemplate fromGguf(GgufMetadata metadata, Tokenizer tokenizer) {
        String jinja = metadata.has(KEY_CHAT_TEMPLATE) ? metadata.getString(KEY_CHAT_TEMPLATE) : CHATML;
        String bos = tokenizer.bosId() >= 0 ? tokenizer.tokenText(tokenizer.bosId()) : "";
        String eos = tokenizer.eosId() >= 0 ? tokenizer.tokenText(tokenizer.eosId()) : "";
        return new ChatTemplate(jinja, bos, eos);
    }

    /**
     * A template from its Jinja source.
     *
     * @throws ChatTemplateException if the template does not parse
     */
    public static ChatTemplate of(String jinjaSource, String bosToken, String eosToken) {
        return new ChatTemplate(jinjaSource, bosToken, eosToken);
    }

    /**
     * The token ids of a chat prompt: the rendering with the generation prompt, control tokens
     * parsed, and BOS added only when the rendering does not already start with it (templates that
     * write {@code bos_token} themselves would otherwise get two).
     *
     * @throws ChatTemplateException when the template cannot render these messages
     */
    public int[] encodePrompt(List<ChatMessage> messages, Tokenizer tokenizer) {
        String rendered = render(messages, true);
        int bos = tokenizer.bosId();
        String bosText = bos >= 0 ? tokenizer.tokenText(bos) : "";
        boolean hasBos = !bosText.isEmpty() && rendered.startsWith(bosText);
        return tokenizer.encode(rendered, !hasBos, true);
    }

    /**
     * Renders a conversation.
     *
     * @param addGenerationPrompt end with the start of an assistant turn, for the model to complete
     * @throws ChatTemplateException if the template raises (the message is the template's own) or
     *     fails to render
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> turns = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> turn = new LinkedHashMap<>(4);
            turn.put("role", m.role());
            turn.put("content", m.content());
            turns.add(turn);
        }
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", turns);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        bindings.put("bos_token", bosToken);
        bindings.put("eos_token", eosToken);
        RenderResult result = jinjava.renderForResult(source, bindings);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw failure(error);
            }
        }
        return result.getOutput();
    }

    /** The Jinja source as rendered (newlines normalized, one trailing newline dropped). */
    public String source() {
        return source;
    }

    /** Jinja's lexer: every newline sequence becomes '\n' and, without keep_trailing_newline, one trailing newline goes. */
    private static String jinjaSource(String raw) {
        String s = raw.replace("\r\n", "\n").replace('\r', '\n');
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    private void checkSyntax() {
        JinjavaInterpreter interpreter = jinjava.newInterpreter();
        interpreter.parse(source);
        for (TemplateError error : interpreter.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw failure(error);
            }
        }
    }

    private static ChatTemplateException failure(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof RaisedByTemplate raised) {
                return new ChatTemplateException(raised.getMessage(), raised);
            }
        }
        String where = error.getLineno() > 0 ? " at line " + error.getLineno() : "";
        String what = error.getFieldName() == null || error.getFieldName().isBlank() ? "" : " in '" + error.getFieldName() + "'";
        return new ChatTemplateException("chat template " + error.getReason().name().toLowerCase(Locale.ROOT)
                .replace('_', ' ') + where + what + ": " + error.getMessage(), error.getException());
    }

    /** The template's {@code raise_exception(message)}. */
    public static Object raiseException(String message) {
        throw new RaisedByTemplate(message);
    }

    /** The template's {@code strftime_now(format)}: the local time in a Python {@code strftime} format. */
    public static String strftimeNow(String format) {
        return strftime(ZonedDateTime.now(), format);
    }

    static String strftime(ZonedDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char d = format.charAt(++i);
            boolean noPad = d == '-' && i + 1 < format.length(); // glibc's %-d
            if (noPad) {
                d = format.charAt(++i);
            }
            String pad2 = noPad ? "%d" : "%02d";
            switch (d) {
                case 'Y' -> out.append(t.getYear());
                case 'y' -> out.append(String.format("%02d", t.getYear() % 100));
                case 'm' -> out.append(String.format(pad2, t.getMonthValue()));
                case 'd' -> out.append(String.format(pad2, t.getDayOfMonth()));
                case 'H' -> out.append(String.format(pad2, t.getHour()));
                case 'I' -> out.append(String.format(pad2, (t.getHour() + 11) % 12 + 1));
                case 'M' -> out.append(String.format(pad2, t.getMinute()));
                case 'S' -> out.append(String.format(pad2, t.getSecond()));
                case 'j' -> out.append(String.format(noPad ? "%d" : "%03d", t.getDayOfYear()));
                case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
                case 'b' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case '%' -> out.append('%');
                default -> out.append('%').append(noPad ? "-" : "").append(d);
            }
        }
        return out.toString();
    }

    /** Thrown by {@code raise_exception}; carries the template's message through Jinjava. */
    private static final class RaisedByTemplate extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RaisedByTemplate(String message) {
            super(message, null, false, false);
        }
    }
}
