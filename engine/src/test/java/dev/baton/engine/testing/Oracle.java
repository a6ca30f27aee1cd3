package dev.baton.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Access to {@code ../shared/oracle}: reference models and llama.cpp's outputs. */
public final class Oracle {

    private Oracle() {}

    public static Path dir() {
        String p = System.getProperty("baton.oracle.dir");
        Path d = p != null ? Path.of(p) : Path.of("../../shared/oracle");
        if (!Files.isDirectory(d.resolve("models"))) {
            throw new IllegalStateException("oracle directory not found at " + d.toAbsolutePath()
                    + " (set -Dbaton.oracle.dir)");
        }
        return d;
    }

    public static Path model(String name) {
        return dir().resolve("models").resolve(name + ".gguf");
    }

    public static JsonNode ref(String name) throws IOException {
        return new ObjectMapper().readTree(dir().resolve("ref").resolve(name + ".json").toFile());
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    /** Reads the little-endian float32 2-D {@code .npy} array {@code ref/<name>.npy}. */
    public static float[][] logits(String name) throws IOException {
        return npy(dir().resolve("ref").resolve(name + ".npy"));
    }

    /** The file {@code fixtures/<name>} (kernel-level test data that is not a generation reference). */
    public static Path fixture(String name) {
        return dir().resolve("fixtures").resolve(name);
    }

    /** Reads a little-endian float32 2-D {@code .npy} array. */
    public static float[][] npy(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int major = all[6];
        int headerLen = major == 1 ? (bb.getShort(8) & 0xffff) : bb.getInt(8);
        int headerStart = major == 1 ? 10 : 12;
        String header = new String(all, headerStart, headerLen, StandardCharsets.US_ASCII);
        if (!header.contains("'<f4'") || header.contains("'fortran_order': True")) {
            throw new IOException("unexpected npy header " + header);
        }
        Matcher m = Pattern.compile("\\((\\d+), *(\\d+)\\)").matcher(header);
        if (!m.find()) {
            throw new IOException("no 2-D shape in " + header);
        }
        int rows = Integer.parseInt(m.group(1));
        int cols = Integer.parseInt(m.group(2));
        float[][] out = new float[rows][cols];
        bb.position(headerStart + headerLen);
        for (float[] row : out) {
            bb.asFloatBuffer().get(row);
            bb.position(bb.position() + cols * 4);
        }
        return out;
    }
}
