package dev.baton.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.engine.EngineException;
import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvCacheSpec;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.step.StepBatch;
import org.junit.jupiter.api.Test;

class DeviceBatchTest {

    static final KvCacheSpec SPEC = new KvCacheSpec(2, 2, 64, 16, GgmlType.F16);

    @Test
    void shouldPackTokensPositionsBlockTablesAndLogitRows() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 64)) {
            KvSequence decoding = new KvSequence(pool);
            int[] long1 = new int[301];
            for (int i = 0; i < long1.length; i++) {
                long1[i] = i % 50;
            }
            StepBatch first = new StepBatch(512, 4, 4, 100, 1024);
            first.add(decoding, long1, 0, 300, false);
            decoding.setLength(300); // as a forward pass would
            KvSequence prompt = new KvSequence(pool);
            int[] ids = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

            StepBatch b = new StepBatch(512, 4, 4, 100, 1024);
            b.add(prompt, ids, 0, ids.length, true);
            b.add(decoding, long1, 300, 301, true);
            DeviceBatch d = new DeviceBatch(512, 4, 4, 1024, 16);
            d.pack(b);

            assertEquals(20, d.tokenCount());
            assertEquals(2, d.sequenceCount());
            assertEquals(2, d.logitRowCount());
            assertEquals(64, d.maxBlocks());
            for (int t = 0; t < 19; t++) {
                assertEquals(ids[t], d.token(t));
                assertEquals(t, d.position(t));
                assertEquals(0, d.tokenSequence(t));
            }
            assertEquals(300, d.position(19));
            assertEquals(1, d.tokenSequence(19));
            assertEquals(18, d.logitRow(0));
            assertEquals(19, d.logitRow(1));
            for (int i = 0; i < 2; i++) {
                assertEquals(prompt.blockTable()[i], d.block(0, i));
            }
            for (int i = 0; i < 19; i++) {
                assertEquals(decoding.blockTable()[i], d.block(1, i));
            }
            // position 300 attends to 301 positions: two chunks of 256
            assertEquals(2, d.maxChunks());

            // packing again (the next step) overwrites: a one-token batch
            b.clear();
            prompt.setLength(ids.length);
            int[] next = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
            b.add(prompt, next, 19, 20, true);
            d.pack(b);
            assertEquals(1, d.tokenCount());
            assertEquals(19, d.position(0));
            assertEquals(1, d.maxChunks());
        }
    }

    @Test
    void shouldRefuseABatchOverItsLimitsOrASequenceWithAHole() {
        try (KvBlockPool pool = new KvBlockPool(SPEC, 64)) {
            KvSequence s = new KvSequence(pool);
            int[] ids = new int[40];
            StepBatch b = new StepBatch(512, 4, 4, 100, 1024);
            b.add(s, ids, 0, 40, true);
            DeviceBatch small = new DeviceBatch(16, 4, 4, 1024, 16);
            var e = assertThrows(EngineException.class, () -> small.pack(b));
            assertTrue(e.getMessage().contains("40 tokens"), e.getMessage());

            KvSequence holed = new KvSequence(pool);
            holed.reserve(48);
            holed.dropBlock(1);
            StepBatch h = new StepBatch(512, 4, 4, 100, 1024);
            h.add(holed, ids, 0, 40, true);
            DeviceBatch d = new DeviceBatch(512, 4, 4, 1024, 16);
            var hole = assertThrows(EngineException.class, () -> d.pack(h));
            assertTrue(hole.getMessage().contains("no block 1"), hole.getMessage());
        }
    }
}
