package dev.baton.engine.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A loop with work that stops completing its duty cycles is stuck; an idle one never is. */
@Timeout(60)
class StuckLoopTest {

    private static final long STUCK_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    /** A loop agent that blocks the loop thread, once armed, until released. */
    static final class Blocker implements LoopAgent {
        volatile boolean armed;
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public int doWork() {
            if (armed) {
                armed = false;
                entered.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return 0;
        }
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 20 s: " + what);
            }
            Thread.sleep(10);
        }
    }

    static GenerationRequest request(int id) {
        return new GenerationRequest(new RequestId(id), new int[] {508, 410, 378, 298},
                SamplingParams.builder().temperature(0).maxTokens(8).ignoreEos(true).build());
    }

    @Test
    void shouldBeStuckWhileARequestWaitsOnABlockedLoopAndRecoverWhenItMoves() throws Exception {
        LoopSettings settings = LoopSettings.defaults().withStuckAfterNanos(STUCK_AFTER_NANOS);
        try (Engine e = Engine.open(EngineLoopTest.settings(8L << 20)); EngineLoop loop = new EngineLoop(e, settings, "t")) {
            Blocker blocker = new Blocker();
            loop.attach(blocker);
            blocker.armed = true;
            assertTrue(blocker.entered.await(20, TimeUnit.SECONDS), "the loop ran the blocking agent");
            EngineLoopTest.Collector c = new EngineLoopTest.Collector();
            assertEquals(EngineLoop.SubmitResult.ACCEPTED, loop.submit(request(1), c));
            await(loop::isStuck, "a loop blocked with a request queued is stuck");
            assertTrue(loop.stalledNanos() > STUCK_AFTER_NANOS, "stalled " + loop.stalledNanos() + " ns");
            blocker.release.countDown();
            await(() -> !loop.isStuck(), "the loop recovers once it moves again");
            assertEquals(FinishReason.LENGTH, c.done.get(20, TimeUnit.SECONDS));
            assertEquals(8, c.tokens.size());
            assertEquals(0, loop.stalledNanos(), "an idle loop has not stalled");
        }
    }

    @Test
    void shouldNeverCallAnIdleLoopStuck() throws Exception {
        LoopSettings settings = LoopSettings.defaults().withStuckAfterNanos(TimeUnit.MILLISECONDS.toNanos(20));
        try (Engine e = Engine.open(EngineLoopTest.settings(8L << 20)); EngineLoop loop = new EngineLoop(e, settings, "t")) {
            EngineLoopTest.Collector c = new EngineLoopTest.Collector();
            loop.submit(request(1), c);
            c.done.get(20, TimeUnit.SECONDS);
            Thread.sleep(300); // many times stuck-after, with nothing to do
            assertFalse(loop.isStuck());
            assertEquals(0, loop.stalledNanos());
            // a loop blocked with no request at all is not stuck either: nobody waits for it
            Blocker blocker = new Blocker();
            loop.attach(blocker);
            blocker.armed = true;
            assertTrue(blocker.entered.await(20, TimeUnit.SECONDS));
            Thread.sleep(300);
            assertFalse(loop.isStuck());
            blocker.release.countDown();
        }
    }

    @Test
    void shouldNotCheckWhenStuckAfterIsZero() throws Exception {
        LoopSettings settings = LoopSettings.defaults().withStuckAfterNanos(0);
        try (Engine e = Engine.open(EngineLoopTest.settings(8L << 20)); EngineLoop loop = new EngineLoop(e, settings, "t")) {
            Blocker blocker = new Blocker();
            loop.attach(blocker);
            blocker.armed = true;
            assertTrue(blocker.entered.await(20, TimeUnit.SECONDS));
            EngineLoopTest.Collector c = new EngineLoopTest.Collector();
            loop.submit(request(1), c);
            await(() -> loop.isStuck(STUCK_AFTER_NANOS), "the loop stalls past the explicit threshold");
            assertEquals(0, loop.stuckThresholdNanos());
            assertFalse(loop.isStuck(), "off: never stuck");
            blocker.release.countDown();
            c.done.get(20, TimeUnit.SECONDS);
        }
    }

    @Test
    void shouldReadStuckAfterFromTheConfiguration() {
        assertEquals(TimeUnit.SECONDS.toNanos(45), LoopSettings.from(config("45s")).stuckAfterNanos());
        assertEquals(0, LoopSettings.from(config("0")).stuckAfterNanos());
        assertEquals(LoopSettings.DEFAULT_STUCK_AFTER_NANOS, LoopSettings.from(ConfigFactory.load()).stuckAfterNanos(),
                "reference.conf and the code agree on the default");
        EngineException negative = assertThrows(EngineException.class, () -> LoopSettings.from(config("-1s")));
        assertTrue(negative.getMessage().contains("baton.engine.stuck-after"), negative.getMessage());
        EngineException word = assertThrows(EngineException.class, () -> LoopSettings.from(config("soon")));
        assertTrue(word.getMessage().contains("stuck-after"), word.getMessage());
    }

    private static com.typesafe.config.Config config(String value) {
        return ConfigFactory.parseString("baton.engine.stuck-after = " + value).withFallback(ConfigFactory.load());
    }
}
