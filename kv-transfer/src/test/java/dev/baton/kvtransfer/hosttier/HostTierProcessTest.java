package dev.baton.kvtransfer.hosttier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.BlockHash;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Two processes share one host tier: a child JVM ({@link HostTierChild}) and this test's JVM. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HostTierProcessTest {

    private static final int SLOTS = 16;
    private static final long BLOCK = 16 * 1024;

    @TempDir
    Path dir;

    @Test
    void shouldShareBlocksAndEvictionsBetweenTwoProcesses() throws Exception {
        try (Child child = Child.start(dir);
                HostTier tier = HostTier.open(Blocks.settings(dir, SLOTS, BLOCK));
                Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(BLOCK, 64);

            assertEquals("put 12 0 0", child.ask("write a 0 12"));
            for (int i = 0; i < 12; i++) {
                BlockHash h = Blocks.hash("a", i);
                assertEquals(GetResult.HIT, tier.get(h, block), "block a" + i + " written by the child");
                assertTrue(Blocks.matches(block, h));
            }

            // This process writes past the bound (12 + 12 > 16): 8 of the child's blocks go.
            for (int i = 0; i < 12; i++) {
                BlockHash h = Blocks.hash("b", i);
                Blocks.fill(block, h);
                assertEquals(PutResult.STORED, tier.put(h, block));
            }
            assertEquals(8, tier.stats().evictions());
            assertEquals(SLOTS, tier.stats().entries());
            assertEquals("get 12 0 0", child.ask("read b 0 12"));
            assertEquals("get 4 8 0", child.ask("read a 0 12"));
            assertEquals("stats 16 8 0 0", child.ask("stats"));

            // The child writes past the bound: this process sees the evictions.
            assertEquals("put 8 0 0", child.ask("write c 0 8"));
            HostTierStats s = tier.stats();
            assertEquals(16, s.evictions());
            assertEquals(SLOTS, s.entries());
            for (int i = 0; i < 8; i++) {
                BlockHash h = Blocks.hash("c", i);
                assertEquals(GetResult.HIT, tier.get(h, block));
                assertTrue(Blocks.matches(block, h));
            }
            assertTrue(Files.size(tier.settings().slabFile()) < SLOTS * BLOCK + 64 * 1024, "the slab stays bounded");
        }
    }

    @Test
    void shouldLeaveNoReadableBlockWhenAWriterIsKilledMidWrite() throws Exception {
        BlockHash victim = Blocks.hash("k", 0);
        try (HostTier tier = HostTier.open(Blocks.settings(dir, SLOTS, BLOCK));
                Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(BLOCK, 64);
            try (Child child = Child.start(dir)) {
                assertEquals("claimed", child.ask("claim k 0"));
                assertEquals(1, tier.stats().writing());
                assertFalse(tier.contains(victim), "a block being written is invisible");
                child.kill();
            }
            assertFalse(tier.contains(victim));
            assertEquals(GetResult.MISS, tier.get(victim, block));

            // Every slot is usable again: the dead writer's slot is taken back, nothing is evicted.
            for (int i = 0; i < SLOTS; i++) {
                BlockHash h = Blocks.hash("after", i);
                Blocks.fill(block, h);
                assertEquals(PutResult.STORED, tier.put(h, block));
            }
            HostTierStats s = tier.stats();
            assertEquals(1, s.reclaimedWrites());
            assertEquals(0, s.evictions());
            assertEquals(0, s.writing());
            assertEquals(SLOTS, s.entries());
            assertEquals(GetResult.MISS, tier.get(victim, block));
        }
    }

    /** A child JVM running {@link HostTierChild}, with this JVM's flags and class path. */
    private static final class Child implements AutoCloseable {
        private final Process process;
        private final PrintStream in;
        private final BufferedReader out;
        private final Path log;

        private Child(Process process, Path log) {
            this.process = process;
            this.log = log;
            this.in = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        static Child start(Path dir) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-Xmx256m");
            cmd.add("-XX:+UseSerialGC");
            for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                if (!arg.startsWith("-Xmx") && !arg.startsWith("-Xms") && !arg.startsWith("-javaagent")
                        && !arg.startsWith("-agentlib")) {
                    cmd.add(arg);
                }
            }
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(HostTierChild.class.getName());
            cmd.add(dir.toString());
            cmd.add(Integer.toString(SLOTS));
            cmd.add(Long.toString(BLOCK));
            Path log = Files.createTempFile(dir, "child", ".log");
            Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
            Child child = new Child(p, log);
            String ready = child.out.readLine();
            if (!"ready".equals(ready)) {
                child.close();
                throw new AssertionError("child did not start (" + ready + "): " + Files.readString(log));
            }
            return child;
        }

        String ask(String command) throws IOException {
            in.println(command);
            String reply = out.readLine();
            if (reply == null) {
                throw new AssertionError("child exited: " + Files.readString(log));
            }
            return reply;
        }

        /** SIGKILL on Linux: no shutdown hooks, no unmapping, nothing tidied. */
        void kill() throws InterruptedException {
            process.destroyForcibly();
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "child did not die");
        }

        @Override
        public void close() throws InterruptedException {
            in.close();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
