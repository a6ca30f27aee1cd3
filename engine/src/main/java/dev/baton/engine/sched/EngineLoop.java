package dev.baton.engine.sched;

import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.SequenceOutput;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.step.StepBatch;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching on one {@link Engine}: requests are admitted while the KV pool has room for
 * their prompt plus {@code max_tokens} (reserved up front, so a running sequence never waits for
 * blocks), and every step mixes one decode token of each decoding sequence with prefill chunks of
 * the others, within the engine's batch limits. Decode tokens go first (time per output token),
 * prefill chunks fill the rest first come, first served (time to first token).
 *
 * <p>Threading: {@link #submit}, {@link #cancel} and the getters may be called from any thread;
 * everything else runs on the loop's own thread, which owns the engine's forward pass and pool.
 * Listeners are called on that thread and must not block. A cancelled or failed request's blocks
 * return to the pool before its listener hears of it.
 *
 * <p>Because a sequence's logits do not depend on its batch (the engine's determinism contract),
 * a request produces the same tokens here as alone through {@link dev.baton.engine.Generator}.
 */
public final class EngineLoop implements AutoCloseable {

    /** What {@link #submit} did with a request. */
    public enum SubmitResult { ACCEPTED, QUEUE_FULL, CLOSED }

    private static final Logger LOG = LoggerFactory.getLogger(EngineLoop.class);

    private sealed interface Command permits Submit, Cancel {}

    private record Submit(Running seq) implements Command {}

    private record Cancel(RequestId id, String reason) implements Command {}

    /** Loop-thread state of one admitted or waiting request. */
    private static final class Running {
        final RequestId id;
        final SequenceOutput out;
        final GenerationListener listener;
        final KvSequence kv;
        int computed; // prompt positions whose KV is written
        int row = -1;
        final long submittedNanos = System.nanoTime();

        Running(RequestId id, SequenceOutput out, GenerationListener listener, KvSequence kv) {
            this.id = id;
            this.out = out;
            this.listener = listener;
            this.kv = kv;
        }

        boolean decoding() {
            return computed == out.promptLength();
        }
    }

    private final Engine engine;
    private final LoopSettings settings;
    private final ConcurrentLinkedQueue<Command> inbox = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pending = new AtomicInteger();
    private final ArrayDeque<Running> waiting = new ArrayDeque<>();
    private final List<Running> running = new ArrayList<>();
    private final Map<RequestId, Running> byId = new HashMap<>();
    private final StepBatch batch;
    private final Thread thread;
    private final LoopMetrics metrics;
    private volatile boolean closed;
    private volatile int runningCount;
    private volatile int waitingCount;
    private volatile long stepCount;
    private volatile long generatedTokens;
    private volatile long prefilledTokens;

    public EngineLoop(Engine engine, LoopSettings settings, String name) {
        this(engine, settings, name, null, io.micrometer.core.instrument.Tags.empty());
    }

    /**
     * @param registry where the loop's meters go ({@link LoopMetrics}); null for none
     * @param tags     low-cardinality tags of every meter (role, node, model)
     */
    public EngineLoop(Engine engine, LoopSettings settings, String name, io.micrometer.core.instrument.MeterRegistry registry,
            io.micrometer.core.instrument.Tags tags) {
        this.metrics = registry == null ? null : new LoopMetrics(registry, tags, this, engine.pool());
        this.engine = engine;
        this.settings = settings.validate();
        this.batch = engine.newBatch();
        this.thread = Thread.ofPlatform().name(name).daemon().unstarted(this::loop);
        this.thread.start();
    }

    /**
     * Queues a request. Bad input (a prompt over the context, out-of-range sampling, a request that
     * could never fit the KV pool) throws here, on the caller's thread, with a clear message.
     */
    public SubmitResult submit(GenerationRequest request, GenerationListener listener) {
        if (closed) {
            return SubmitResult.CLOSED;
        }
        SequenceOutput out = new SequenceOutput(engine, request.promptTokens(), request.params());
        KvBlockPool pool = engine.pool();
        int need = (out.maxLength() + pool.spec().blockSize() - 1) / pool.spec().blockSize();
        if (need > pool.blockCount()) {
            throw new EngineException("request needs " + need + " KV blocks (" + out.maxLength()
                    + " positions: prompt plus max_tokens) but the pool has " + pool.blockCount());
        }
        if (pending.incrementAndGet() > settings.maxWaiting() + settings.maxRunning()) {
            pending.decrementAndGet();
            return SubmitResult.QUEUE_FULL;
        }
        inbox.add(new Submit(new Running(request.id(), out, listener, engine.newSequence())));
        LockSupport.unpark(thread);
        return SubmitResult.ACCEPTED;
    }

    /** Cancels a request wherever it is; its listener gets {@code onFailed(reason)} and its blocks are freed. */
    public void cancel(RequestId id, String reason) {
        inbox.add(new Cancel(id, reason));
        LockSupport.unpark(thread);
    }

    public int runningCount() {
        return runningCount;
    }

    public int waitingCount() {
        return waitingCount;
    }

    public long stepCount() {
        return stepCount;
    }

    public long generatedTokens() {
        return generatedTokens;
    }

    public long prefilledTokens() {
        return prefilledTokens;
    }

    private void loop() {
        while (!closed) {
            int work;
            try {
                work = doWork();
            } catch (RuntimeException | Error e) {
                LOG.error("engine loop step failed; failing the running requests", e);
                failAll("engine error: " + e.getMessage());
                work = 1;
            }
            if (work == 0) {
                LockSupport.parkNanos(this, settings.idleParkNanos());
            }
        }
        failAll("engine loop closed");
    }

    /** One duty cycle: commands, admission, one step, outputs. Returns 0 when there was nothing to do. */
    int doWork() {
        int work = drainInbox();
        work += admit();
        if (running.isEmpty()) {
            publishCounts();
            return work;
        }
        batch.clear();
        for (Running r : running) {
            r.row = -1;
            if (r.decoding() && batch.hasRoomForSequence()) {
                int pos = r.out.length() - 1;
                r.row = batch.add(r.kv, r.out.tokens(), pos, pos + 1, true);
            }
        }
        int prefill = 0;
        for (Running r : running) {
            if (r.decoding() || !batch.hasRoomForSequence()) {
                continue;
            }
            int chunk = Math.min(Math.min(settings.prefillChunkTokens(), batch.remainingTokens()),
                    r.out.promptLength() - r.computed);
            if (chunk <= 0) {
                break;
            }
            boolean last = r.computed + chunk == r.out.promptLength();
            r.row = batch.add(r.kv, r.out.tokens(), r.computed, r.computed + chunk, last);
            r.computed += chunk;
            prefill += chunk;
        }
        long stepStart = System.nanoTime();
        engine.forward().step(batch);
        stepCount++;
        prefilledTokens += prefill;
        int vocab = engine.config().vocabSize();
        float[] logits = engine.forward().logits();
        for (Iterator<Running> it = running.iterator(); it.hasNext(); ) {
            Running r = it.next();
            if (r.row < 0) {
                continue;
            }
            if (r.out.generated() == 0) {
                r.listener.onPrefilled(r.out.promptLength(), 0);
            }
            int token = r.out.advance(logits, r.row * vocab);
            generatedTokens++;
            r.listener.onToken(token, r.out.text());
            if (r.out.finished()) {
                it.remove();
                release(r);
                r.listener.onFinished(r.out.finishReason(), "", r.out.promptLength(), r.out.generated());
            }
        }
        if (metrics != null) {
            metrics.stepped(System.nanoTime() - stepStart);
        }
        publishCounts();
        return 1;
    }

    private int drainInbox() {
        int n = 0;
        Command c;
        while ((c = inbox.poll()) != null) {
            n++;
            switch (c) {
                case Submit s -> {
                    waiting.add(s.seq());
                    byId.put(s.seq().id, s.seq());
                }
                case Cancel x -> {
                    Running r = byId.get(x.id());
                    if (r != null) {
                        waiting.remove(r);
                        running.remove(r);
                        release(r);
                        r.listener.onFailed(x.reason());
                    }
                }
            }
        }
        return n;
    }

    private int admit() {
        int n = 0;
        KvBlockPool pool = engine.pool();
        while (!waiting.isEmpty() && running.size() < settings.maxRunning()) {
            Running r = waiting.peek();
            if (r.kv.blocksNeeded(r.out.maxLength()) > pool.freeBlockCount()) {
                break; // first come, first served: the head waits for room
            }
            waiting.poll();
            r.kv.reserve(r.out.maxLength());
            running.add(r);
            if (metrics != null) {
                metrics.queued(System.nanoTime() - r.submittedNanos);
            }
            n++;
        }
        return n;
    }

    private void release(Running r) {
        r.kv.free();
        byId.remove(r.id);
        pending.decrementAndGet();
    }

    private void failAll(String reason) {
        List<Running> all = new ArrayList<>(running);
        all.addAll(waiting);
        running.clear();
        waiting.clear();
        Command c;
        while ((c = inbox.poll()) != null) {
            if (c instanceof Submit s) {
                all.add(s.seq());
            }
        }
        for (Running r : all) {
            release(r);
            try {
                r.listener.onFailed(reason);
            } catch (RuntimeException e) {
                LOG.warn("listener of {} failed: {}", r.id, e.toString());
            }
        }
        publishCounts();
    }

    private void publishCounts() {
        runningCount = running.size();
        waitingCount = waiting.size();
    }

    /** Stops the loop; requests still queued or running fail with "engine loop closed". */
    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
