package dev.baton.bench.serve.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Token-exact prompts, checked with the tokenizers of the oracle models (byte-level BPE and SentencePiece). */
@Timeout(60)
class TokenExactPromptsTest {

    static Tokenizer tokenizer(String model) throws IOException {
        Path p = Path.of(System.getProperty("baton.oracle.dir"), "models", model);
        try (GgufFile f = GgufFile.open(p)) {
            return Tokenizer.fromGguf(f.metadata());
        }
    }

    @Test
    void shouldMakePromptsOfExactlyTheAskedLengthWithSentencePiece() throws IOException {
        Tokenizer t = tokenizer("small-q8_0.gguf");
        TokenExactPrompts p = new TokenExactPrompts(t, true);
        assertTrue(p.wordCount() > 1000, "words: " + p.wordCount());
        SplittableRandom rng = new SplittableRandom(7);
        for (int n : new int[] {1, 2, 3, 17, 75, 720, 1500}) {
            String text = p.text(rng, n);
            assertEquals(n, t.encode(text, true, false).length, "length " + n + ": " + text);
        }
    }

    @Test
    void shouldMakePromptsOfExactlyTheAskedLengthWithByteLevelBpe() throws IOException {
        Tokenizer t = tokenizer("tiny-f32.gguf");
        TokenExactPrompts p = new TokenExactPrompts(t, true);
        SplittableRandom rng = new SplittableRandom(7);
        for (int n : new int[] {1, 2, 5, 64, 300}) {
            assertEquals(n, t.encode(p.text(rng, n), true, false).length, "length " + n);
        }
        TokenExactPrompts content = new TokenExactPrompts(t, false);
        assertEquals(40, t.encode(content.text(rng, 40), false, false).length);
    }

    @Test
    void shouldContinueAPrefixByExactlyTheAskedLength() throws IOException {
        for (String model : new String[] {"small-q8_0.gguf", "tiny-qwen2-f32.gguf"}) {
            Tokenizer t = tokenizer(model);
            TokenExactPrompts p = new TokenExactPrompts(t, true);
            SplittableRandom rng = new SplittableRandom(3);
            String system = p.text(rng, 200);
            String user = p.continuation(rng, system, 33);
            assertTrue(user.startsWith(" "));
            assertEquals(233, t.encode(system + user, true, false).length, model);
        }
    }

    @Test
    void shouldDrawDifferentPromptsSoNoPrefixIsSharedByAccident() throws IOException {
        TokenExactPrompts p = new TokenExactPrompts(tokenizer("small-q8_0.gguf"), true);
        SplittableRandom rng = new SplittableRandom(1);
        String a = p.text(rng, 50);
        String b = p.text(rng, 50);
        assertNotEquals(a.substring(0, 10), b.substring(0, 10));
        assertEquals(a, p.text(new SplittableRandom(1), 50), "the same seed gives the same prompt");
    }
}
