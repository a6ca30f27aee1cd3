package dev.baton.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Token ids and token bytes exactly as llama.cpp produced them on the oracle models. */
class TokenizerOracleTest {

    static Stream<Arguments> tokenizerCases() {
        List<Arguments> cases = new ArrayList<>();
        for (String ref : List.of("tokenizer-tiny.json", "tokenizer-tiny-qwen2.json")) {
            JsonNode json = Oracle.json(ref);
            for (JsonNode c : json.get("cases")) {
                cases.add(Arguments.of(ref, json.get("model").asText(), json.get("add_bos").asBoolean(),
                        json.get("parse_special").asBoolean(), c.get("text").asText(), Oracle.ints(c.get("ids"))));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}: \"{4}\"")
    @MethodSource("tokenizerCases")
    void shouldEncodeLikeLlamaCpp(String ref, String model, boolean addBos, boolean parseSpecial, String text, int[] expected) {
        assertArrayEquals(expected, Oracle.tokenizer(model).encode(text, addBos, parseSpecial));
    }

    static Stream<String> generationRefs() {
        return Oracle.generationRefs().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("generationRefs")
    void shouldEncodePromptLikeLlamaCpp(String ref) {
        JsonNode json = Oracle.json(ref);
        Tokenizer tokenizer = Oracle.tokenizer(json.get("model").asText());
        int[] ids = tokenizer.encode(json.get("prompt").asText(), json.get("add_bos").asBoolean(), true);
        assertArrayEquals(Oracle.ints(json.get("prompt_tokens")), ids);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("generationRefs")
    void shouldGiveEachGeneratedTokensBytes(String ref) {
        JsonNode json = Oracle.json(ref);
        Tokenizer tokenizer = Oracle.tokenizer(json.get("model").asText());
        int[] generated = Oracle.ints(json.get("generated_tokens"));
        JsonNode pieces = json.get("generated_piece_bytes");
        for (int i = 0; i < generated.length; i++) {
            assertArrayEquals(Oracle.bytes(pieces.get(i)), tokenizer.tokenBytes(generated[i]),
                    "bytes of generated token #" + i + " (id " + generated[i] + ")");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("generationRefs")
    void shouldDecodeGeneratedTokensToGeneratedText(String ref) {
        JsonNode json = Oracle.json(ref);
        Tokenizer tokenizer = Oracle.tokenizer(json.get("model").asText());
        assertEquals(json.get("generated_text").asText(), tokenizer.decode(Oracle.ints(json.get("generated_tokens"))));
    }
}
