package dev.baton.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.chat.ChatMessage;
import dev.baton.engine.gguf.GgufFile;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ModelCardTest {

    @Test
    void shouldReadContextTokenizerAndChatTemplateFromGguf() throws Exception {
        try (GgufFile file = GgufFile.open(ApiClient.model("tiny-f32"))) {
            ModelCard card = ModelCard.fromGguf("tiny", file.metadata(), 42);
            assertEquals("tiny", card.id());
            assertEquals(512, card.contextLength());
            assertEquals(512, card.vocabSize());
            assertEquals(508, card.tokenizer().bosId());
            String rendered = card.chatTemplate().render(List.of(new ChatMessage("user", "hi")), true);
            assertTrue(rendered.startsWith("<|im_start|>user\nhi<|im_end|>"), rendered);
        }
    }
}
