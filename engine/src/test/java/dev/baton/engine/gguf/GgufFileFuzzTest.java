package dev.baton.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.baton.engine.tokenizer.Tokenizer;
import dev.baton.engine.tokenizer.TokenizerException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Fuzz harness of the GGUF reader (README "Fuzzing"): any bytes are either a {@link GgufFile} whose
 * tensors all lie inside the file, or a {@link GgufFormatException} with a message; never another
 * exception, a stack overflow or an allocation the file's size does not justify (the fuzz JVM has a
 * 512 MiB heap). A file that parses is handed on as a model load would: its metadata to
 * {@link Tokenizer#fromGguf}, which builds a tokenizer or throws {@link TokenizerException} or
 * {@link GgufFormatException}.
 *
 * <p>Inputs: {@code src/test/resources/dev/baton/engine/gguf/GgufFileFuzzTestInputs/parse/}.
 */
class GgufFileFuzzTest {

    private static final Path NAME = Path.of("fuzz.gguf");

    @FuzzTest(maxDuration = "20s")
    void parse(byte[] bytes) {
        GgufFile file;
        try {
            file = GgufFile.parse(MemorySegment.ofArray(bytes), NAME);
        } catch (GgufFormatException e) {
            assertNotNull(e.getMessage());
            return;
        }
        for (GgufTensorInfo t : file.tensors().values()) {
            assertTrue(t.data().byteSize() <= bytes.length, t.name());
        }
        try {
            Tokenizer tokenizer = Tokenizer.fromGguf(file.metadata());
            tokenizer.decode(tokenizer.encode("Hello, world! <|im_start|> 日本", true, true));
        } catch (TokenizerException | GgufFormatException e) {
            assertNotNull(e.getMessage());
        }
    }
}
