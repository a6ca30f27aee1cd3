package dev.baton.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.engine.gguf.GgufFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/** The shared oracle folder: reference models and llama.cpp's outputs (see its README). */
final class Oracle {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    private Oracle() {}

    static Path dir() {
        String dir = System.getProperty("baton.oracle.dir");
        if (dir == null) {
            throw new IllegalStateException("system property baton.oracle.dir is not set (surefire sets it)");
        }
        return Path.of(dir);
    }

    static Path model(String fileName) {
        return dir().resolve("models").resolve(Path.of(fileName).getFileName());
    }

    /** The tokenizer of an oracle model, loaded once per test run. */
    static Tokenizer tokenizer(String modelFileName) {
        return TOKENIZERS.computeIfAbsent(Path.of(modelFileName).getFileName().toString(), name -> {
            try (GgufFile file = GgufFile.open(model(name))) {
                return Tokenizer.fromGguf(file.metadata());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    static JsonNode json(String refFileName) {
        try {
            return JSON.readTree(dir().resolve("ref").resolve(refFileName).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The generation references: every {@code ref/*.json} but the tokenizer case lists. */
    static List<String> generationRefs() {
        try (Stream<Path> files = Files.list(dir().resolve("ref"))) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".json") && !n.startsWith("tokenizer-"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).intValue();
        }
        return out;
    }

    static byte[] bytes(JsonNode array) {
        byte[] out = new byte[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) array.get(i).intValue();
        }
        return out;
    }
}
