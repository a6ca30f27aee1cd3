package dev.baton.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SplitKTest {

    @Test
    void shouldCutEachContextIntoFixedChunksThatCoverItOnce() {
        for (int position : new int[] {0, 1, 254, 255, 256, 257, 511, 512, 1999, 32_767}) {
            int chunks = SplitK.chunks(position);
            int covered = 0;
            for (int c = 0; c < chunks; c++) {
                int start = SplitK.chunkStart(c);
                int end = SplitK.chunkEnd(c, position);
                assertEquals(covered, start, "chunks meet: position " + position + " chunk " + c);
                assertTrue(end > start, "no empty chunk: position " + position + " chunk " + c);
                assertTrue(end - start <= SplitK.CHUNK);
                // the cut depends on the chunk index only, not on the batch: every chunk but the last is whole
                if (c < chunks - 1) {
                    assertEquals(SplitK.CHUNK, end - start);
                }
                covered = end;
            }
            assertEquals(position + 1, covered, "the whole context of a token at " + position);
        }
    }

    @Test
    void shouldSpreadOneLongSequenceOverManyBlocks() {
        // a 2,000-token context with 32 heads: 8 chunks a head, 256 blocks for one token (an H100 has 132 SMs)
        assertEquals(8, SplitK.chunks(1999));
        assertEquals(256, SplitK.blocks(32, 1999));
        assertEquals(32, SplitK.blocks(32, 10));
        assertEquals(4L * 2 * 3 * 66, SplitK.workspaceFloats(4, 2, 64, 3));
    }
}
