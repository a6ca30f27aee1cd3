package dev.baton.engine.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.step.StepBatch;
import dev.baton.engine.testing.Kv;
import dev.baton.engine.testing.Oracle;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** KV export and import: another JVM continues a sequence bit-exactly; other models are refused. */
@Timeout(180)
class KvExportImportTest {

    static final int STEPS = 32;

    static EngineSettings settings(String model) {
        return EngineSettings.defaults(Oracle.model(model)).withThreads(1).withKvCacheBytes(64L << 20);
    }

    /** Prefills {@code prompt} and returns the greedy first token; {@code seq} then holds the prompt's KV. */
    static int prefill(Engine e, KvSequence seq, int[] prompt) {
        StepBatch b = e.newBatch();
        int done = 0;
        int row = -1;
        while (done < prompt.length) {
            int n = Math.min(b.remainingTokens(), prompt.length - done);
            b.clear();
            row = b.add(seq, prompt, done, done + n, done + n == prompt.length);
            e.forward().step(b);
            done += n;
        }
        return argmax(e.forward().logits(), row * e.config().vocabSize(), e.config().vocabSize());
    }

    /** Feeds {@code first}, then each greedy token, {@code steps} times; returns the tokens fed. */
    static int[] continueGreedy(Engine e, KvSequence seq, int[] prefix, int first, int steps) {
        int[] all = Arrays.copyOf(prefix, prefix.length + steps);
        int next = first;
        StepBatch b = e.newBatch();
        for (int i = 0; i < steps; i++) {
            int pos = prefix.length + i;
            all[pos] = next;
            b.clear();
            int row = b.add(seq, all, pos, pos + 1, true);
            e.forward().step(b);
            next = argmax(e.forward().logits(), row * e.config().vocabSize(), e.config().vocabSize());
        }
        return Arrays.copyOfRange(all, prefix.length, all.length);
    }

    static int argmax(float[] a, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (a[off + i] > a[off + best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void shouldContinueBitExactlyInAnotherJvmAfterImport(@TempDir Path dir) throws Exception {
        String model = "small-q8_0";
        int[] prompt = new SplittableRandom(3).ints(45, 3, 32000).toArray();
        Path snapshot = dir.resolve("kv.bin");
        int[] localTokens;
        byte[] localKv;
        int first;
        try (Engine e = Engine.open(settings(model))) {
            KvSequence seq = e.newSequence();
            first = prefill(e, seq, prompt);
            try (OutputStream os = Files.newOutputStream(snapshot)) {
                e.exportKv(seq, prompt).writeTo(os);
            }
            localTokens = continueGreedy(e, seq, prompt, first, STEPS);
            localKv = Kv.bytes(seq);
            seq.free();
        }
        Path out = dir.resolve("child.bin");
        String javaBin = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(javaBin, "-Xmx512m"));
        cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-") || a.startsWith("--enable-native") || a.startsWith("-Dbaton"))
                .toList());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), KvContinuationMain.class.getName(),
                Oracle.model(model).toString(), snapshot.toString(), Integer.toString(first), Integer.toString(STEPS),
                out.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile())
                .start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM timed out");
        assertEquals(0, p.exitValue(), () -> "child JVM failed:\n" + readQuietly(dir.resolve("child.log")));
        try (DataInputStream in = new DataInputStream(Files.newInputStream(out))) {
            int[] childTokens = new int[in.readInt()];
            for (int i = 0; i < childTokens.length; i++) {
                childTokens[i] = in.readInt();
            }
            byte[] childKv = in.readNBytes(in.readInt());
            assertArrayEquals(localTokens, childTokens, "tokens after import differ");
            assertEquals(prompt.length + STEPS, childKv.length / (localKv.length / (prompt.length + STEPS)));
            assertArrayEquals(localKv, childKv, "KV bytes after import differ");
        }
    }

    @Test
    void shouldRefuseKvFromAnotherModelNamingTheFingerprint() throws Exception {
        KvSnapshot snap;
        int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
        try (Engine e = Engine.open(settings("tiny-f32"))) {
            KvSequence seq = e.newSequence();
            prefill(e, seq, prompt);
            snap = e.exportKv(seq, prompt);
            seq.free();
        }
        try (Engine other = Engine.open(settings("tiny-q8_0"))) {
            int free = other.pool().freeBlockCount();
            KvIncompatibleException ex = assertThrows(KvIncompatibleException.class, () -> other.importKv(snap));
            assertTrue(ex.getMessage().contains("model fingerprint"), ex.getMessage());
            assertEquals(free, other.pool().freeBlockCount(), "blocks leaked by a refused import");
        }
        try (Engine f16 = Engine.open(settings("tiny-f32").withKvDtype(GgmlType.F16))) {
            KvIncompatibleException ex = assertThrows(KvIncompatibleException.class, () -> f16.importKv(snap));
            assertTrue(ex.getMessage().contains("KV dtype"), ex.getMessage());
        }
    }

    @Test
    void shouldDetectACorruptSnapshotByCrc() throws Exception {
        try (Engine e = Engine.open(settings("tiny-f32"))) {
            int[] prompt = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21};
            KvSequence seq = e.newSequence();
            prefill(e, seq, prompt);
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            e.exportKv(seq, prompt).writeTo(bos);
            seq.free();
            byte[] bytes = bos.toByteArray();
            bytes[bytes.length / 2] ^= 0x40;
            Exception ex = assertThrows(RuntimeException.class, () -> KvSnapshot.readFrom(new ByteArrayInputStream(bytes)));
            assertTrue(ex.getMessage().contains("CRC32C"), ex.getMessage());
            byte[] cut = Arrays.copyOf(bos.toByteArray(), bytes.length - 100);
            Exception trunc = assertThrows(RuntimeException.class, () -> KvSnapshot.readFrom(new ByteArrayInputStream(cut)));
            assertTrue(trunc.getMessage().contains("truncated"), trunc.getMessage());
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "(no log)";
        }
    }
}
