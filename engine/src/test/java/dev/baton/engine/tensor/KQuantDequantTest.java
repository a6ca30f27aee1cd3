package dev.baton.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.testing.Oracle;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * K-quant dequantization against {@code ../shared/oracle/fixtures/small-kq-dequant.*}: 30 super-blocks of
 * the small-kq files (all five types, rows of one and of three super-blocks) and the floats llama.cpp's
 * {@code dequantize_row_qX_K} makes of them. Compared bit for bit.
 */
class KQuantDequantTest {

    @Test
    void shouldDequantizeEveryFixtureBlockBitExactly() throws IOException {
        JsonNode cases = new ObjectMapper().readTree(Oracle.fixture("small-kq-dequant.json").toFile()).get("cases");
        float[][] expected = Oracle.npy(Oracle.fixture("small-kq-dequant.npy"));
        assertEquals(30, cases.size(), "fixture cases");
        int[] perType = new int[5];
        for (JsonNode c : cases) {
            GgmlType type = GgmlType.valueOf(c.get("type").asText());
            byte[] raw = HexFormat.of().parseHex(c.get("raw_hex").asText());
            assertEquals(type.blockBytes, raw.length, "block bytes of case " + c.get("index"));
            float[] y = new float[KQuants.QK_K];
            KQuants.dequantize(type, MemorySegment.ofArray(raw), 0, y, 0);
            float[] e = expected[c.get("index").asInt()];
            for (int i = 0; i < y.length; i++) {
                assertEquals(Float.floatToRawIntBits(e[i]), Float.floatToRawIntBits(y[i]),
                        () -> "case " + c.get("index") + " (" + type + ", " + c.get("tensor").asText() + ")");
            }
            perType[type.ordinal() - GgmlType.Q2_K.ordinal()]++;
        }
        assertEquals("[6, 6, 6, 6, 6]", java.util.Arrays.toString(perType), "cases per type Q2_K..Q6_K");
    }

    @Test
    void shouldFindEachFixtureBlockAtItsOffsetInTheModelFile() throws IOException {
        JsonNode cases = new ObjectMapper().readTree(Oracle.fixture("small-kq-dequant.json").toFile()).get("cases");
        for (JsonNode c : cases) {
            byte[] raw = HexFormat.of().parseHex(c.get("raw_hex").asText());
            try (FileChannel ch = FileChannel.open(Oracle.dir().resolve(c.get("model").asText()), StandardOpenOption.READ);
                    Arena arena = Arena.ofConfined()) {
                MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, c.get("file_offset").asLong(), raw.length, arena);
                assertEquals(-1, file.mismatch(MemorySegment.ofArray(raw)), "bytes of case " + c.get("index"));
            }
        }
    }

    @Test
    void shouldRefuseToDequantizeATypeThatIsNotAKQuant() {
        assertThrows(IllegalArgumentException.class,
                () -> KQuants.dequantize(GgmlType.Q8_0, MemorySegment.ofArray(new byte[256]), 0, new float[256], 0));
    }
}
