package dev.baton.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.baton.common.BlockHash;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvEventListener;
import dev.baton.engine.model.DemoModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class NodeWarmUpTest {

    private static Config conf(String warmUp) {
        return ConfigFactory.parseString("baton.node.warm-up { " + warmUp + " }")
                .withFallback(ConfigFactory.defaultReference()).resolve();
    }

    @Test
    void shouldReadTheDefaultsAndTurnOffWithZeroTokens() {
        NodeWarmUp defaults = NodeWarmUp.from(ConfigFactory.defaultReference().resolve());
        assertEquals(new NodeWarmUp(16, 32), defaults);
        assertTrue(defaults.enabled());
        assertEquals(NodeWarmUp.OFF, NodeWarmUp.from(conf("prompt-tokens = 0, decode-tokens = 0")));
        assertFalse(NodeWarmUp.OFF.enabled());
        assertEquals(new NodeWarmUp(8, 0), NodeWarmUp.from(conf("prompt-tokens = 8, decode-tokens = 0")));
    }

    @Test
    void shouldRefuseBadValuesNamingTheKeyAndTheLimit() {
        ConfigException tooMany = assertThrows(ConfigException.class,
                () -> NodeWarmUp.from(conf("decode-tokens = 5000")));
        assertTrue(tooMany.getMessage().contains("baton.node.warm-up.decode-tokens")
                && tooMany.getMessage().contains("0 to 1024") && tooMany.getMessage().contains("5000"), tooMany.getMessage());
        ConfigException negative = assertThrows(ConfigException.class,
                () -> NodeWarmUp.from(conf("prompt-tokens = -1")));
        assertTrue(negative.getMessage().contains("baton.node.warm-up.prompt-tokens")
                && negative.getMessage().contains("-1"), negative.getMessage());
        ConfigException notANumber = assertThrows(ConfigException.class,
                () -> NodeWarmUp.from(conf("prompt-tokens = lots")));
        assertTrue(notANumber.getMessage().contains("baton.node.warm-up.prompt-tokens"), notANumber.getMessage());
        ConfigException noPrompt = assertThrows(ConfigException.class,
                () -> NodeWarmUp.from(conf("prompt-tokens = 0, decode-tokens = 8")));
        assertTrue(noPrompt.getMessage().contains("baton.node.warm-up.decode-tokens")
                && noPrompt.getMessage().contains("prompt-tokens"), noPrompt.getMessage());
    }

    /** Records what the pool reports to the cluster's KV index. */
    private static final class Events implements KvEventListener {
        final List<String> seen = new ArrayList<>();

        @Override
        public void onStored(BlockHash hash, int depth) {
            seen.add("stored " + depth);
        }

        @Override
        public void onRemoved(BlockHash hash) {
            seen.add("removed");
        }

        @Override
        public void onCleared() {
            seen.add("cleared");
        }
    }

    @Test
    void shouldRunTheSequenceAndLeaveEveryKvBlockFreeAndUnregistered(@TempDir Path dir) throws Exception {
        EngineSettings s = EngineSettings.defaults(DemoModel.ensure(dir)).withThreads(1).withKvCacheBytes(8L << 20);
        try (Engine engine = Engine.open(s)) {
            KvBlockPool pool = engine.pool();
            Events events = new Events();
            pool.setEventListener(events);
            int free = pool.freeBlockCount();
            // 40 + 20 tokens span 4 blocks of 16 positions: the sequence really held blocks
            NodeWarmUp.Outcome w = new NodeWarmUp(40, 20).run(engine);
            assertEquals(40, w.promptTokens());
            assertEquals(20, w.decodeTokens());
            assertTrue(w.nanos() > 0);
            assertEquals(free, pool.freeBlockCount());
            assertEquals(free, pool.emptyBlockCount(), "no block may keep a cached hash");
            assertEquals(0, pool.usedBlockCount());
            assertEquals(0, pool.evictableBlockCount());
            assertEquals(0, pool.prefixCache().readyBlockCount());
            assertEquals(0, pool.prefixCache().pendingBlockCount());
            assertEquals(0, pool.prefixCache().publishes());
            assertEquals(List.of(), events.seen);
        }
    }

    @Test
    void shouldCutTheSequenceToASmallPool(@TempDir Path dir) throws Exception {
        EngineSettings s = EngineSettings.defaults(DemoModel.ensure(dir)).withThreads(1);
        long blockBytes;
        try (Engine probe = Engine.open(s.withKvCacheBytes(8L << 20))) {
            blockBytes = probe.pool().spec().blockBytes();
        }
        try (Engine engine = Engine.open(s.withKvCacheBytes(3 * blockBytes))) {
            int positions = engine.pool().blockCount() * engine.pool().spec().blockSize();
            assertEquals(3, engine.pool().blockCount());
            NodeWarmUp.Outcome w = new NodeWarmUp(1024, 1024).run(engine);
            assertTrue(w.promptTokens() > positions / 4 && w.promptTokens() + w.decodeTokens() < positions,
                    w + " must fit in " + positions + " positions");
            assertEquals(3, engine.pool().freeBlockCount());
        }
        assertEquals(new NodeWarmUp.Outcome(0, 0, 0), NodeWarmUp.OFF.run(null));
    }
}
