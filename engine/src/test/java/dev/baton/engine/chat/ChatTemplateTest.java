package dev.baton.engine.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.gguf.GgufMetadata;
import dev.baton.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Real chat templates rendered exactly as Hugging Face's {@code apply_chat_template} renders them
 * (the expected strings come from Python's jinja2 3.1 with trim_blocks and lstrip_blocks).
 */
class ChatTemplateTest {

    private static final List<ChatMessage> CONVERSATION = List.of(
            new ChatMessage("system", "You are a helpful assistant."),
            new ChatMessage("user", "  Hello!  "),
            new ChatMessage("assistant", "Hi there. How can I help?\n"),
            new ChatMessage("user", "Tell me a joke."));
    private static final List<ChatMessage> WITHOUT_SYSTEM = CONVERSATION.subList(1, CONVERSATION.size());

    private static final String CHATML_CONVERSATION = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            + "<|im_start|>user\n  Hello!  <|im_end|>\n<|im_start|>assistant\nHi there. How can I help?\n<|im_end|>\n"
            + "<|im_start|>user\nTell me a joke.<|im_end|>\n";

    private static String resource(String name) {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/chat-templates/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ChatTemplate template(String name, String bos, String eos) {
        return ChatTemplate.of(resource(name), bos, eos);
    }

    @Test
    void shouldRenderChatMl() {
        ChatTemplate t = template("chatml.jinja", "<s>", "</s>");
        assertEquals(CHATML_CONVERSATION, t.render(CONVERSATION, false));
        assertEquals(CHATML_CONVERSATION + "<|im_start|>assistant\n", t.render(CONVERSATION, true));
    }

    @Test
    void shouldRenderLlama3Instruct() {
        ChatTemplate t = template("llama3-instruct.jinja", "<|begin_of_text|>", "<|end_of_text|>");
        String conversation = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHi there. How can I help?<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>";
        assertEquals(conversation, t.render(CONVERSATION, false));
        assertEquals(conversation + "<|start_header_id|>assistant<|end_header_id|>\n\n", t.render(CONVERSATION, true));
    }

    @Test
    void shouldRenderLlama2ChatWithTheSystemPromptInTheFirstTurn() {
        ChatTemplate t = template("llama2-chat.jinja", "<s>", "</s>");
        String expected = "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\n  Hello! [/INST]"
                + " Hi there. How can I help? </s><s>[INST] Tell me a joke. [/INST]";
        assertEquals(expected, t.render(CONVERSATION, false));
        assertEquals(expected, t.render(CONVERSATION, true)); // the template has no generation prompt
        assertEquals("<s>[INST] Hello! [/INST] Hi there. How can I help? </s><s>[INST] Tell me a joke. [/INST]",
                t.render(WITHOUT_SYSTEM, true));
    }

    @Test
    void shouldRenderMistralInstruct() {
        ChatTemplate t = template("mistral-instruct.jinja", "<s>", "</s>");
        String expected = "<s>[INST]   Hello!   [/INST]Hi there. How can I help?\n</s>[INST] Tell me a joke. [/INST]";
        assertEquals(expected, t.render(WITHOUT_SYSTEM, false));
        assertEquals(expected, t.render(WITHOUT_SYSTEM, true));
    }

    @Test
    void shouldFailWithTheTemplatesOwnMessageWhenItRaises() {
        ChatTemplate mistral = template("mistral-instruct.jinja", "<s>", "</s>");
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> mistral.render(CONVERSATION, true));
        assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());

        ChatTemplate llama2 = template("llama2-chat.jinja", "<s>", "</s>");
        List<ChatMessage> twoUsers = List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b"));
        e = assertThrows(ChatTemplateException.class, () -> llama2.render(twoUsers, true));
        assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());

        e = assertThrows(ChatTemplateException.class,
                () -> mistral.render(List.of(new ChatMessage("user", "a"), new ChatMessage("tool", "{}")), false));
        assertEquals("Only user and assistant roles are supported!", e.getMessage());
    }

    @Test
    void shouldRejectATemplateWithASyntaxError() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.of("{% for m in messages %}{{ m.content }}", "", ""));
        assertTrue(e.getMessage().contains("endfor"), e.getMessage());
        assertTrue(e.getMessage().startsWith("chat template syntax error"), e.getMessage());
    }

    @Test
    void shouldFailToRenderAnExpressionThatCannotBeEvaluated() {
        ChatTemplate t = ChatTemplate.of("{{ messages[0].content.no_such_method() }}", "", "");
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> t.render(List.of(new ChatMessage("user", "x")), false));
        assertTrue(e.getMessage().contains("no_such_method"), e.getMessage());
    }

    @Test
    void shouldEncodeAChatPromptWithExactlyOneBos() throws IOException {
        String oracle = System.getProperty("baton.oracle.dir");
        try (GgufFile file = GgufFile.open(Path.of(oracle, "models", "tiny-f32.gguf"))) {
            Tokenizer tok = Tokenizer.fromGguf(file.metadata());
            int bos = tok.bosId();
            List<ChatMessage> hi = List.of(new ChatMessage("user", "Hi"));
            ChatTemplate chatml = ChatTemplate.fromGguf(file.metadata(), tok);
            int[] plain = chatml.encodePrompt(hi, tok);
            assertEquals(bos, plain[0], "BOS added to a rendering without one");
            assertTrue(plain[1] != bos);
            ChatTemplate withBos = ChatTemplate.of("{{ bos_token }}" + chatml.source(), tok.tokenText(bos),
                    tok.tokenText(tok.eosId()));
            int[] own = withBos.encodePrompt(hi, tok);
            assertEquals(bos, own[0]);
            assertTrue(own[1] != bos, "a template that writes bos_token must not get a second one");
            assertEquals(plain.length, own.length);
        }
    }

    @Test
    void shouldRenderTheTinyModelsOwnTemplate() throws IOException {
        String oracle = System.getProperty("baton.oracle.dir");
        try (GgufFile file = GgufFile.open(Path.of(oracle, "models", "tiny-f32.gguf"))) {
            GgufMetadata m = file.metadata();
            ChatTemplate t = ChatTemplate.fromGguf(m, Tokenizer.fromGguf(m));
            assertEquals(CHATML_CONVERSATION + "<|im_start|>assistant\n", t.render(CONVERSATION, true));
            assertEquals(CHATML_CONVERSATION, t.render(CONVERSATION, false));
        }
    }

    @Test
    void shouldFallBackToChatMlWithoutATemplate() throws IOException {
        String oracle = System.getProperty("baton.oracle.dir");
        try (GgufFile file = GgufFile.open(Path.of(oracle, "models", "small-q8_0.gguf"))) {
            GgufMetadata full = file.metadata();
            var entries = new HashMap<>(full.entries());
            entries.remove(ChatTemplate.KEY_CHAT_TEMPLATE);
            GgufMetadata m = new GgufMetadata("no-template", entries);
            ChatTemplate t = ChatTemplate.fromGguf(m, Tokenizer.fromGguf(full));
            assertEquals(CHATML_CONVERSATION + "<|im_start|>assistant\n", t.render(CONVERSATION, true));
        }
    }

    @Test
    void shouldGiveTheVocabularysBosAndEosToTheTemplate() throws IOException {
        String oracle = System.getProperty("baton.oracle.dir");
        try (GgufFile file = GgufFile.open(Path.of(oracle, "models", "small-q8_0.gguf"))) {
            GgufMetadata full = file.metadata();
            var entries = new HashMap<>(full.entries());
            entries.put(ChatTemplate.KEY_CHAT_TEMPLATE, new GgufMetadata.Entry(ChatTemplate.KEY_CHAT_TEMPLATE,
                    dev.baton.engine.gguf.GgufValueType.STRING, null, resource("llama2-chat.jinja")));
            ChatTemplate t = ChatTemplate.fromGguf(new GgufMetadata("llama2", entries), Tokenizer.fromGguf(full));
            assertEquals("<s>[INST] Hi [/INST] Hello </s>", t.render(
                    List.of(new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello")), false));
        }
    }

    @Test
    void shouldSupportTheJinjaFeaturesCommonTemplatesUse() {
        ChatTemplate t = template("features.jinja", "<s>", "</s>");
        assertEquals("assistant seen|4|YOU ARE A HELPFUL ASSISTANT.|Hello!|Hello!  .\n"
                + "4|x-y-z|yes|Hi there. How can I help|Hello World\n"
                + "user|2|3|anonymous\n"
                + "  1/4 system: You are a helpful assistant.,\n"
                + "  2/4 user: Hello!,\n"
                + "  3/4 assistant: Hi there. How can I help?,\n"
                + "  4/4 user: Tell me a joke.\n"
                + "[generate]\n", t.render(CONVERSATION, true));
    }

    @Test
    void shouldFormatStrftimeLikePython() {
        ZonedDateTime t = ZonedDateTime.of(2024, 7, 6, 15, 4, 5, 0, ZoneOffset.UTC);
        assertEquals("06 Jul 2024", ChatTemplate.strftime(t, "%d %b %Y"));
        assertEquals("Saturday, July 6 2024 03:04:05 PM 100%", ChatTemplate.strftime(t, "%A, %B %-d %Y %I:%M:%S %p 100%%"));
        String year = String.valueOf(ZonedDateTime.now().getYear());
        assertTrue(ChatTemplate.of("{{ strftime_now('%Y') }}", "", "").render(List.of(), false).startsWith(year.substring(0, 3)));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldRenderFromManyThreadsAtOnce() throws Exception {
        ChatTemplate t = template("llama3-instruct.jinja", "<|begin_of_text|>", "<|end_of_text|>");
        String expected = t.render(CONVERSATION, true);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                results.add(pool.submit(() -> t.render(CONVERSATION, true)));
            }
            for (Future<String> r : results) {
                assertEquals(expected, r.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
