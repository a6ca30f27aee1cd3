package dev.baton.engine.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.baton.common.BlockHash;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BlockHashIndexTest {

    @Test
    void shouldAgreeWithAHashMapOverRandomInsertsAndRemovals() {
        BlockHashIndex index = new BlockHashIndex(48);
        Map<BlockHash, Integer> model = new HashMap<>();
        BlockHash[] keys = new BlockHash[96];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = new BlockHash(i % 3, i / 3); // small, structured keys: long probe runs
        }
        SplittableRandom r = new SplittableRandom(5);
        for (int op = 0; op < 20_000; op++) {
            BlockHash k = keys[r.nextInt(keys.length)];
            if (r.nextBoolean() && model.size() < 48) {
                int v = r.nextInt(1000);
                Integer old = model.putIfAbsent(k, v);
                assertEquals(old == null ? BlockHashIndex.ABSENT : old, index.putIfAbsent(k, v), "put " + k + " at op " + op);
            } else {
                Integer old = model.remove(k);
                assertEquals(old == null ? BlockHashIndex.ABSENT : old, index.remove(k), "remove " + k + " at op " + op);
            }
            assertEquals(model.size(), index.size());
            for (BlockHash any : keys) {
                Integer v = model.get(any);
                assertEquals(v == null ? BlockHashIndex.ABSENT : v, index.get(any), "get " + any + " at op " + op);
            }
        }
    }

    @Test
    void shouldRefuseMoreEntriesThanItWasSizedFor() {
        BlockHashIndex index = new BlockHashIndex(2);
        index.putIfAbsent(new BlockHash(0, 1), 1);
        index.putIfAbsent(new BlockHash(0, 2), 2);
        assertEquals(1, index.putIfAbsent(new BlockHash(0, 1), 7), "an existing key is not an insert");
        assertThrows(IllegalStateException.class, () -> index.putIfAbsent(new BlockHash(0, 3), 3));
    }
}
