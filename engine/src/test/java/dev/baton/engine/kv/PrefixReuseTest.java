package dev.baton.engine.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.BlockHash;
import dev.baton.common.BlockHasher;
import dev.baton.common.ModelFingerprint;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.step.StepBatch;
import dev.baton.engine.tensor.KernelMode;
import dev.baton.engine.testing.Kv;
import dev.baton.engine.testing.Oracle;
import dev.baton.engine.testing.TestModel;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A prompt whose leading blocks another request computed and published is finished from those
 * cached blocks, and the result is bit-identical to computing the whole prompt (the determinism
 * contract of docs/design.md §4 is what makes reused KV exact).
 */
@Timeout(180)
class PrefixReuseTest {

    static final int SHARED_BLOCKS = 3;

    record Run(byte[] kv, float[] lastLogits) {}

    static int[] tokens(long seed, int n, int vocab) {
        return new SplittableRandom(seed).ints(n, 0, vocab).toArray();
    }

    /** Computes {@code prompt[from, prompt.length)} in {@code seq}, in chunks of {@code chunk}; logits of the last token. */
    static float[] compute(TestModel m, KvSequence seq, int[] prompt, int from, int chunk) {
        StepBatch b = m.forward.newBatch(1);
        int done = from;
        int row = -1;
        while (done < prompt.length) {
            int n = Math.min(chunk, prompt.length - done);
            b.clear();
            row = b.add(seq, prompt, done, done + n, done + n == prompt.length);
            m.forward.step(b);
            done += n;
        }
        int v = m.config.vocabSize();
        return Arrays.copyOfRange(m.forward.logits(), row * v, (row + 1) * v);
    }

    static Run fromScratch(TestModel m, int[] prompt) {
        KvSequence seq = new KvSequence(m.pool);
        float[] logits = compute(m, seq, prompt, 0, prompt.length);
        Run r = new Run(Kv.bytes(seq), logits);
        seq.free();
        return r;
    }

    static TestModel open(String model) throws Exception {
        return new TestModel(Oracle.model(model), 1, 128, 8, 64, GgmlType.F32, KernelMode.defaultMode());
    }

    static BlockHasher hasher(TestModel m) {
        return new BlockHasher(ModelFingerprint.of(m.file.mapping()), "", m.pool.spec().blockSize());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny-f32", "small-q8_0"})
    void shouldFinishAPromptFromPublishedBlocksBitExactly(String model) throws Exception {
        try (TestModel m = open(model)) {
            int bs = m.pool.spec().blockSize();
            int vocab = m.config.vocabSize();
            int[] prompt = tokens(41, SHARED_BLOCKS * bs + 7, vocab);
            // another request with the same first three blocks and a different, longer tail
            int[] other = Arrays.copyOf(prompt, SHARED_BLOCKS * bs + 20);
            System.arraycopy(tokens(42, 20, vocab), 0, other, SHARED_BLOCKS * bs, 20);
            Run scratch = fromScratch(m, prompt);

            KvSequence writer = new KvSequence(m.pool);
            compute(m, writer, other, 0, 16);
            BlockHash[] otherHashes = hasher(m).hashFullBlocks(other, other.length);
            for (int i = 0; i < otherHashes.length; i++) {
                assertTrue(m.pool.publish(writer.blockTable()[i], otherHashes[i], i));
            }
            writer.free();
            assertEquals(otherHashes.length, m.pool.evictableBlockCount());

            BlockHash[] hashes = hasher(m).hashFullBlocks(prompt, prompt.length);
            int[] blocks = new int[hashes.length];
            boolean[] ready = new boolean[hashes.length];
            int matched = m.pool.match(hashes, (prompt.length - 1) / bs, blocks, ready);
            assertEquals(SHARED_BLOCKS, matched);
            KvSequence reader = new KvSequence(m.pool);
            reader.adoptPrefix(blocks, matched);
            float[] logits = compute(m, reader, prompt, matched * bs, prompt.length);

            assertArrayEquals(scratch.kv, Kv.bytes(reader), model + ": KV bytes differ after reusing the prefix");
            assertArrayEquals(scratch.lastLogits, logits, model + ": logits differ after reusing the prefix");
            reader.free();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny-f32"})
    void shouldWaitForPendingBlocksAndThenReuseThemBitExactly(String model) throws Exception {
        try (TestModel m = open(model)) {
            int bs = m.pool.spec().blockSize();
            int[] prompt = tokens(43, SHARED_BLOCKS * bs + 3, m.config.vocabSize());
            Run scratch = fromScratch(m, prompt);
            BlockHash[] hashes = hasher(m).hashFullBlocks(prompt, prompt.length);

            // the first request reserves its blocks and claims the full ones before computing them
            KvSequence writer = new KvSequence(m.pool);
            writer.reserve(prompt.length);
            for (int i = 0; i < hashes.length; i++) {
                assertTrue(m.pool.claim(hashes[i], writer.blockTable()[i], i));
            }

            // a second request with the same prompt finds them pending
            int[] blocks = new int[hashes.length];
            boolean[] ready = new boolean[hashes.length];
            int matched = m.pool.match(hashes, (prompt.length - 1) / bs, blocks, ready);
            assertEquals(SHARED_BLOCKS, matched);
            for (int i = 0; i < matched; i++) {
                assertFalse(ready[i], "block " + i + " is still being computed");
            }
            KvSequence reader = new KvSequence(m.pool);
            reader.adoptPrefix(blocks, matched);

            // the writer computes its prompt in chunks and publishes each block once its last slot is written
            StepBatch b = m.forward.newBatch(1);
            int done = 0;
            while (done < prompt.length) {
                int n = Math.min(20, prompt.length - done);
                b.clear();
                b.add(writer, prompt, done, done + n, false);
                m.forward.step(b);
                done += n;
                for (int i = 0; i < done / bs; i++) {
                    m.pool.publish(writer.blockTable()[i], hashes[i], i);
                }
                boolean allReady = true;
                for (int i = 0; i < matched; i++) {
                    allReady &= m.pool.isReady(blocks[i]);
                }
                assertEquals(done >= matched * bs, allReady, "ready after " + done + " positions");
            }
            writer.free();

            float[] logits = compute(m, reader, prompt, matched * bs, prompt.length);
            assertArrayEquals(scratch.kv, Kv.bytes(reader), model + ": KV bytes differ after waiting for the prefix");
            assertArrayEquals(scratch.lastLogits, logits, model + ": logits differ after waiting for the prefix");
            reader.free();
            assertEquals(SHARED_BLOCKS, m.pool.prefixCache().pendingHitBlocks());
        }
    }
}
