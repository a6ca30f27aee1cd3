package dev.baton.engine.sched;

import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import dev.baton.engine.SequenceOutput;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.kv.KvTier;
import dev.baton.engine.spec.Drafter;
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
 * <p>Besides whole requests ({@link #submit}), a loop runs the two halves of a disaggregated request:
 * {@link #submitPrefill prefill-only} requests (prompt blocks only, first token, then the KV goes to
 * the listener to be shipped; after each chunk short of the prompt's end the listener hears how far
 * the prompt is written, {@link PrefillListener#onPrefillProgress}, so it can ship finished blocks while the rest
 * is computed) and {@link #submitImport imported} requests (blocks for prompt plus
 * {@code max_tokens} reserved up front; the sequence joins the decode batch once its prompt KV has
 * arrived through a {@link KvImport} and its first token has been {@link #handoff handed over}). With
 * the prefix cache on, an imported request starts from the leading prompt blocks this node holds
 * already (written ones only, or read back from the second tier), and its ticket asks only for the
 * blocks after them ({@link KvImport#firstBlock}). An import submitted {@link #submitImportWhenStarted
 * deferred} reserves nothing until {@link #startImport}: while its prompt waits in the prefill node's
 * queue, no blocks are held idle for it here.
 *
 * <p>With the engine's prefix cache on ({@code baton.engine.prefix-cache}, the default), a whole or
 * prefill-only request starts from the cached blocks of its prompt and computes only the rest; it
 * waits, admitted, for cached blocks another request is still computing, and computes them itself if
 * that request is cancelled. Every full block a step writes is published at once, prompt or generated;
 * an imported prompt's blocks are published when it is activated. Admission counts adopted blocks as
 * needing no allocation. {@link #cachedTokens()} counts the prompt positions reused, and each request's
 * share is reported through {@link GenerationListener#onPrefilled}. See {@code PrefixReuse}. Off, the
 * loop behaves as if the cache did not exist.
 *
 * <p>With a second tier ({@link #useTier}, the host tier on a node process), the cached blocks the pool
 * evicts are stored there, and a request reads the prompt blocks that follow its cached prefix back
 * from it instead of computing them; their positions count as cached tokens too.
 *
 * <p>With speculation on ({@code baton.engine.speculation}, prompt lookup by default), a decoding sequence
 * whose {@link Drafter} proposes a draft of k tokens puts its last token and the draft into the step (k + 1
 * positions, logits at each), like a small prefill chunk. Its own sampler then samples each position in
 * turn, exactly as one token per step would (same logits, same counter-based draws, same penalties), and
 * the sequence keeps every token up to and including the first one that differs from the draft: between
 * 1 and k + 1 tokens per step, the same tokens as without speculation. The KV written for the rejected
 * draft positions is dropped by shortening the sequence's KV length (its blocks stay reserved and are
 * written again by later steps). A draft of which nothing is accepted pauses the sequence's drafts for a
 * number of steps that doubles with each such draft in a row (1 to 31), so an answer that does not follow
 * its drafts costs few wasted positions. Drafts use only the token and logit rows left once every decoding
 * sequence has its one position, so no sequence is pushed out of a step by another's draft; like decode
 * tokens they go before prefill chunks (time per output token first).
 * {@link #draftedTokens()} and {@link #acceptedDraftTokens()} count them.
 *
 * <p>A loop that has work and does not complete a duty cycle for {@code baton.engine.stuck-after} (a forward
 * pass, loop agent or listener that never returns) {@link #isStuck is stuck}: its node then reports itself
 * unhealthy and routers send it nothing new until it moves again.
 *
 * <p>Threading: {@link #submit}, {@link #cancel}, {@link #handoff}, {@link #execute} and the getters may be called from any thread;
 * everything else runs on the loop's own thread, which owns the engine's forward pass and pool.
 * Listeners are called on that thread and must not block. A cancelled or failed request's blocks
 * return to the pool before its listener hears of it.
 *
 * <p>Because a sequence's logits do not depend on its batch (the engine's determinism contract),
 * a request produces the same tokens here as alone through {@link dev.baton.engine.Generator}.
 */
public final class EngineLoop implements AutoCloseable {

    /** What {@link #submit} did with a request. */
    public enum SubmitResult {
        /** Taken; {@code QUEUE_FULL}: {@link LoopSettings#maxWaiting} requests or {@link LoopSettings#maxWaitingTokens}
         * prompt tokens wait already; {@code CLOSED}: the loop is shutting down. */
        ACCEPTED, QUEUE_FULL, CLOSED;

        /** Why {@code node} refused the request (a reason a client may see), or null when it was accepted. */
        public String refusal(String node) {
            return switch (this) {
                case ACCEPTED -> null;
                case QUEUE_FULL -> "node " + node + " is overloaded";
                case CLOSED -> "node " + node + " is shutting down";
            };
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(EngineLoop.class);

    /**
     * A loop counts as stuck only after at least this many times its longest step so far without progress
     * ({@link #stuckThresholdNanos}): a node whose steps are legitimately long (big prefill chunks on a slow
     * CPU) is not taken for a stuck one.
     */
    public static final int STUCK_STEP_FACTOR = 4;

    private enum Mode { FULL, PREFILL, IMPORT }

    /**
     * A draft of which no token is accepted pauses drafting for the sequence for 1, 3, 7 ... up to 2^5 - 1
     * decode steps (doubling with each such draft in a row, reset by an accepted one), so a sequence whose
     * answer does not follow its drafts pays for few of them.
     */
    private static final int MAX_DRAFT_BACKOFF = 5;

    private sealed interface Command permits Submit, Cancel, Handoff, Start, Imported, Task {}

    private record Submit(Running seq) implements Command {}

    private record Cancel(RequestId id, String reason, boolean retryable) implements Command {}

    private record Handoff(RequestId id, int token) implements Command {}

    private record Start(RequestId id) implements Command {}

    private record Imported(RequestId id, KvImport ticket, boolean ok, String reason) implements Command {}

    private record Task(Runnable task) implements Command {}

    /** Loop-thread state of one admitted or waiting request. */
    private static final class Running {
        final RequestId id;
        final Mode mode;
        final int[] prompt;
        final String cacheSalt;
        final SequenceOutput out;
        final GenerationListener listener;
        final KvSequence kv;
        int computed; // prompt positions whose KV is written (or reused from the prefix cache)
        int reported; // prefill-only requests: the computed positions last reported through onPrefillProgress
        int row = -1;
        boolean stepped; // in the current step's batch
        PrefixReuse.Blocks prefix; // null when prefix caching is off, and until admission
        int cachedTokens; // prompt positions reused from the prefix cache
        final long submittedNanos = System.nanoTime();
        // imported requests only
        KvImport ticket;
        long reservedNanos;
        boolean kvArrived;
        int handoffToken = -1;
        boolean deferred; // an import that reserves nothing until its prefill starts (startImport)
        long deferredNanos;
        String cancelReason; // set while a cancelled import waits for its transport to give the blocks back
        int queuedTokens; // prompt tokens counted in queuedPromptTokens until the request is admitted or ends
        int[] draftTokens; // the current step's draft (null for prefill-only requests)
        int drafted; // draft tokens in the current step
        int draftMisses; // drafts in a row of which nothing was accepted (at most MAX_DRAFT_BACKOFF)
        int draftPause; // decode steps to go without a draft
        Drafter sequenceDrafter; // the loop drafter's drafter for this sequence (its first draft on), or null

        Running(RequestId id, Mode mode, int[] prompt, String cacheSalt, SequenceOutput out, GenerationListener listener,
                KvSequence kv) {
            this.id = id;
            this.mode = mode;
            this.prompt = prompt;
            this.cacheSalt = cacheSalt;
            this.out = out;
            this.listener = listener;
            this.kv = kv;
        }

        /** Positions whose blocks are reserved at admission. */
        int reservedPositions() {
            return mode == Mode.PREFILL ? out.promptLength() : out.maxLength();
        }

        boolean decoding() {
            return computed == out.promptLength();
        }
    }

    private final Engine engine;
    private final LoopSettings settings;
    private final ConcurrentLinkedQueue<Command> inbox = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pending = new AtomicInteger();
    /** Prompt tokens of submitted whole and prefill-only requests not admitted yet (bounded by maxWaitingTokens). */
    private final java.util.concurrent.atomic.AtomicLong queuedPromptTokens = new java.util.concurrent.atomic.AtomicLong();
    private final ArrayDeque<Running> waiting = new ArrayDeque<>();
    private final List<Running> running = new ArrayList<>();
    private final List<Running> importing = new ArrayList<>();
    /** Imports whose prefill has not started yet: known, counted, holding no blocks. */
    private final List<Running> deferred = new ArrayList<>();
    private final List<LoopAgent> agents = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Map<RequestId, Running> byId = new HashMap<>();
    /** Handoffs that arrived before their request (token, arrival nanos), dropped after the import timeout. */
    private final Map<RequestId, long[]> earlyHandoffs = new HashMap<>();
    /** Cancels of requests not (yet) here, dropped after the import timeout. */
    private final Map<RequestId, EarlyCancel> earlyCancels = new HashMap<>();
    /** Starts of deferred imports that arrived before their request (arrival nanos), dropped after the import timeout. */
    private final Map<RequestId, Long> earlyStarts = new HashMap<>();

    private record EarlyCancel(String reason, long atNanos) {}
    private final StepBatch batch;
    private final Thread thread;
    private final LoopMetrics metrics;
    private volatile boolean closed;
    private volatile int runningCount;
    private volatile int waitingCount;
    private volatile int importingCount;
    private volatile long stepCount;
    private volatile long queueNanos; // admitted requests' time from submission to admission, summed
    private volatile long computeNanos; // time in forward steps, summed
    private volatile long generatedTokens;
    private volatile long prefilledTokens;
    private volatile long cachedTokens;
    private volatile long importedBlocks;
    private volatile long importHeldBlocks;
    /** When the loop last completed a duty cycle (System.nanoTime); written by the loop thread only. */
    private volatile long progressNanos = System.nanoTime();
    private volatile long longestStepNanos;
    private volatile long draftedTokens;
    private volatile long acceptedDraftTokens;
    /** Null when speculation is off. Loop thread only (set through {@link #useDrafter}). */
    private Drafter drafter;
    /** Null when the engine's prefix cache is off. */
    private final PrefixReuse reuse;
    /** The second tier; attached by {@link #useTier}. */
    private final TierLink tierLink = new TierLink();

    public EngineLoop(Engine engine, LoopSettings settings, String name) {
        this(engine, settings, name, null, io.micrometer.core.instrument.Tags.empty());
    }

    /**
     * @param registry where the loop's meters go ({@link LoopMetrics}); null for none
     * @param tags     low-cardinality tags of every meter (role, node, model)
     */
    public EngineLoop(Engine engine, LoopSettings settings, String name, io.micrometer.core.instrument.MeterRegistry registry,
            io.micrometer.core.instrument.Tags tags) {
        this.metrics = registry == null ? null : new LoopMetrics(registry, tags, this, engine.pool(), tierLink);
        this.engine = engine;
        this.reuse = engine.settings().prefixCache() ? new PrefixReuse(engine.pool(), engine.fingerprint(), tierLink)
                : null;
        this.settings = settings.validate();
        this.drafter = settings.speculation().newDrafter(engine);
        this.batch = engine.newBatch();
        this.thread = Thread.ofPlatform().name(name).daemon().unstarted(this::loop);
        this.thread.start();
    }

    /**
     * Queues a request. Bad input (a prompt over the context, out-of-range sampling, a request that
     * could never fit the KV pool) throws here, on the caller's thread, with a clear message.
     */
    public SubmitResult submit(GenerationRequest request, GenerationListener listener) {
        return submit(request, listener, Mode.FULL, false);
    }

    /**
     * Queues a prefill-only request: only the prompt's blocks are reserved; after the first token
     * (reported through {@code onToken}, or {@code onFinished} if it ends the request) the listener
     * receives the prompt's KV through {@link PrefillListener#onPrefillDone}.
     */
    public SubmitResult submitPrefill(GenerationRequest request, PrefillListener listener) {
        return submit(request, listener, Mode.PREFILL, false);
    }

    /**
     * Queues a request whose prompt KV is computed elsewhere. When blocks for the prompt plus
     * {@code max_tokens} are reserved the listener gets a {@link KvImport} to lend to a transport; the
     * sequence starts decoding once the transport gave the blocks back verified and the first token
     * arrived through {@link #handoff}. No {@code onPrefilled} is reported, and {@code onToken} starts at
     * the second token. Blocks whose KV does not arrive within the import timeout are freed and the
     * request fails.
     */
    public SubmitResult submitImport(GenerationRequest request, ImportListener listener) {
        return submit(request, listener, Mode.IMPORT, false);
    }

    /**
     * Queues an imported request as {@link #submitImport} does, but reserves nothing until
     * {@link #startImport} is called for it: the decode side of a disaggregated request whose prompt may
     * wait in the prefill node's queue, so that its blocks are not held idle meanwhile. A request not
     * started within the import timeout fails.
     */
    public SubmitResult submitImportWhenStarted(GenerationRequest request, ImportListener listener) {
        return submit(request, listener, Mode.IMPORT, true);
    }

    /**
     * The prefill of a {@link #submitImportWhenStarted deferred} import has started: the request now
     * queues for its blocks. A start that arrives before its request is kept (for the import timeout);
     * a start of a request that is not deferred does nothing.
     */
    public void startImport(RequestId id) {
        inbox.add(new Start(id));
        LockSupport.unpark(thread);
    }

    private SubmitResult submit(GenerationRequest request, GenerationListener listener, Mode mode, boolean deferred) {
        if (closed) {
            return SubmitResult.CLOSED;
        }
        SequenceOutput out = new SequenceOutput(engine, request.promptTokens(), request.params(), request.resumed());
        KvBlockPool pool = engine.pool();
        int positions = mode == Mode.PREFILL ? out.promptLength() : out.maxLength();
        int need = (positions + pool.spec().blockSize() - 1) / pool.spec().blockSize();
        if (need > pool.blockCount()) {
            throw new EngineException("request needs " + need + " KV blocks (" + positions + " positions: "
                    + (mode == Mode.PREFILL ? "the prompt" : "prompt plus max_tokens") + ") but the pool has "
                    + pool.blockCount());
        }
        if (pending.incrementAndGet() > settings.maxWaiting() + settings.maxRunning()) {
            pending.decrementAndGet();
            return SubmitResult.QUEUE_FULL;
        }
        // prompt tokens this loop is to compute (an import's prompt is computed elsewhere): bounded, so that a
        // burst of long prompts cannot queue more work than the node can start within any useful time
        int toCompute = mode == Mode.IMPORT ? 0 : out.promptLength();
        long queuedAfter = toCompute == 0 ? 0 : queuedPromptTokens.addAndGet(toCompute);
        if (queuedAfter > settings.maxWaitingTokens() && queuedAfter > toCompute) { // one request alone is always taken
            queuedPromptTokens.addAndGet(-toCompute);
            pending.decrementAndGet();
            return SubmitResult.QUEUE_FULL;
        }
        Running r = new Running(request.id(), mode, request.promptTokens(), request.cacheSalt(), out, listener,
                engine.newSequence());
        r.queuedTokens = toCompute;
        r.deferred = deferred;
        r.draftTokens = mode == Mode.PREFILL ? null : new int[settings.speculation().draftTokens()];
        inbox.add(new Submit(r));
        LockSupport.unpark(thread);
        return SubmitResult.ACCEPTED;
    }

    /**
     * Hands an imported request its first token, sampled by the prefill node. Ignored for a request
     * that is not (or no longer) an import on this loop.
     */
    public void handoff(RequestId id, int firstToken) {
        inbox.add(new Handoff(id, firstToken));
        LockSupport.unpark(thread);
    }

    /**
     * Puts {@code tier} under the prefix cache as its second tier (docs/design.md §6): from the next request
     * submitted after this call on, every cached block the pool evicts is stored in it, and a request
     * reads the prompt blocks that follow its cached prefix back from it instead of computing them. A
     * tier that throws is dropped, and the loop goes on without it. Needs the prefix cache: when it is
     * off this does nothing and returns false.
     *
     * <p>The loop calls the tier on its own thread. The caller keeps ownership: it closes the tier
     * after {@link #close()}.
     */
    public boolean useTier(KvTier tier) {
        if (reuse == null) {
            return false;
        }
        execute(() -> {
            tierLink.attach(tier);
            engine.pool().setEvictionListener(tierLink);
        });
        return true;
    }

    /**
     * Replaces the loop's drafter (null: no speculation) from the next step on, keeping
     * {@code baton.engine.speculation.draft-tokens} as the most draft tokens per step: for benchmarks and
     * tests that bring their own drafts (a replayed answer gives the ceiling of full acceptance).
     */
    public void useDrafter(Drafter d) {
        execute(() -> {
            for (Running r : running) {
                releaseDrafter(r);
            }
            closeDrafter();
            drafter = d;
        });
    }

    /** Frees what {@code r}'s drafts hold (a draft model's KV of it). */
    private static void releaseDrafter(Running r) {
        if (r.sequenceDrafter != null) {
            r.sequenceDrafter.release();
            r.sequenceDrafter = null;
        }
    }

    /** Closes a drafter the loop opened (a draft model); loop thread, or after it ended. */
    private void closeDrafter() {
        if (drafter instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("closing the drafter failed: {}", e.toString());
            }
        }
        drafter = null;
    }

    /** Runs {@code task} on the loop thread between steps (it must not block). */
    public void execute(Runnable task) {
        inbox.add(new Task(task));
        LockSupport.unpark(thread);
    }

    /** Runs {@code agent} on the loop thread every iteration from now on. */
    public void attach(LoopAgent agent) {
        agents.add(agent);
        LockSupport.unpark(thread);
    }

    /** From {@link KvImport#giveBack}: the transport is done with a ticket's segments. */
    void imported(RequestId id, KvImport ticket, boolean ok, String reason) {
        inbox.add(new Imported(id, ticket, ok, reason));
        LockSupport.unpark(thread);
    }

    /** Cancels a request wherever it is; its listener gets {@code onFailed(reason)} and its blocks are freed. */
    public void cancel(RequestId id, String reason) {
        cancel(id, reason, false);
    }

    /**
     * Cancels a request wherever it is, as {@link #cancel(RequestId, String)}; {@code retryable}: its listener
     * gets {@code onFailed(reason, true)}, the request failed for a reason another node would not have (a
     * prefill node whose KV transfer to the decode node failed while the prompt was still computed). Unlike
     * the other, it is not kept for a request that is not here (it does not overtake its request).
     */
    public void cancel(RequestId id, String reason, boolean retryable) {
        inbox.add(new Cancel(id, reason, retryable));
        LockSupport.unpark(thread);
    }

    public int runningCount() {
        return runningCount;
    }

    /** Requests queued for admission, and deferred imports whose prefill has not started. */
    public int waitingCount() {
        return waitingCount;
    }

    /** Imported requests whose blocks are reserved and whose KV or first token has not arrived yet. */
    public int importingCount() {
        return importingCount;
    }

    public long stepCount() {
        return stepCount;
    }

    public long generatedTokens() {
        return generatedTokens;
    }

    /** Time admitted requests waited from submission to admission, summed since start (nanoseconds). */
    public long queueNanos() {
        return queueNanos;
    }

    /** Time spent in forward steps since start (nanoseconds): with {@link #queueNanos} the queue-to-compute ratio. */
    public long computeNanos() {
        return computeNanos;
    }

    /** Draft tokens put into steps for verification (speculative decoding), since start. */
    public long draftedTokens() {
        return draftedTokens;
    }

    /** Draft tokens the target confirmed (each one a token gained over one token per step), since start. */
    public long acceptedDraftTokens() {
        return acceptedDraftTokens;
    }

    /** Prompt tokens of submitted whole and prefill-only requests not admitted yet (any thread). */
    public long queuedPromptTokens() {
        return queuedPromptTokens.get();
    }

    /** Prompt positions computed by prefill steps. */
    public long prefilledTokens() {
        return prefilledTokens;
    }

    /**
     * Prompt positions not computed because their KV was reused from the prefix cache (always 0
     * when it is off). {@code prefilledTokens() + cachedTokens()} covers every prompt position.
     */
    public long cachedTokens() {
        return cachedTokens;
    }

    /** Prompt blocks of activated imports that arrived by kv-transfer. */
    public long importedBlocks() {
        return importedBlocks;
    }

    /**
     * Prompt blocks of activated imports that this node held already (its prefix cache or the second
     * tier), so the prefill node did not send them.
     */
    public long importHeldBlocks() {
        return importHeldBlocks;
    }

    /**
     * How long the loop has gone without completing a duty cycle (a step, or a look at its work that found
     * nothing to compute) while requests are queued, waiting or running here: 0 while it has none (an idle
     * loop is not stalled) and once it is closed. Any thread.
     */
    public long stalledNanos() {
        if (closed || pending.get() == 0) {
            return 0;
        }
        return Math.max(0, System.nanoTime() - progressNanos);
    }

    /**
     * How long the loop may stall before it counts as stuck: {@code baton.engine.stuck-after}, but at least
     * {@link #STUCK_STEP_FACTOR} times the longest step it has completed; 0 when the check is off.
     */
    public long stuckThresholdNanos() {
        long after = settings.stuckAfterNanos();
        return after == 0 ? 0 : Math.max(after, STUCK_STEP_FACTOR * longestStepNanos);
    }

    /**
     * Whether the loop is stuck: it has work and has not completed a duty cycle for longer than
     * {@link #stuckThresholdNanos()} (a forward pass, a loop agent or a listener that never returns). Always
     * false when the check is off. Any thread; it turns false again as soon as the loop moves on.
     */
    public boolean isStuck() {
        long threshold = stuckThresholdNanos();
        return threshold > 0 && isStuck(threshold);
    }

    /**
     * How long the loop has stalled, in milliseconds (at least 1), when it {@link #isStuck is stuck}; 0 when it
     * is not (what a node puts in its load report).
     */
    public long stuckMillis() {
        long threshold = stuckThresholdNanos();
        long stalled = stalledNanos();
        return threshold > 0 && stalled > threshold ? Math.max(1, stalled / 1_000_000) : 0;
    }

    /** Whether the loop has work and has not completed a duty cycle for longer than {@code thresholdNanos}. */
    public boolean isStuck(long thresholdNanos) {
        return stalledNanos() > thresholdNanos;
    }

    private void loop() {
        while (!closed) {
            int work;
            try {
                work = doWork();
            } catch (RuntimeException | Error e) {
                LOG.error("engine loop step failed; failing the running requests", e);
                failAll("engine error: " + e.getMessage(), false);
                work = 1;
            }
            progressNanos = System.nanoTime();
            if (work == 0) {
                LockSupport.parkNanos(this, settings.idleParkNanos());
            }
        }
        failAll("engine loop closed", true);
        closeDrafter();
    }

    /** One duty cycle: commands, admission, one step, outputs. Returns 0 when there was nothing to do. */
    int doWork() {
        int work = drainInbox();
        if (reuse != null && !running.isEmpty()) {
            prepareAdopted();
        }
        work += admit();
        if (!importing.isEmpty() || !deferred.isEmpty() || !earlyHandoffs.isEmpty() || !earlyCancels.isEmpty()
                || !earlyStarts.isEmpty()) {
            work += expireImports();
        }
        for (LoopAgent a : agents) {
            work += a.doWork();
        }
        if (running.isEmpty()) {
            publishCounts();
            return work;
        }
        batch.clear();
        int decodersLeft = 0; // decoding sequences not added yet: each keeps a token and a logit row
        if (drafter != null) {
            for (Running r : running) {
                if (r.decoding()) {
                    decodersLeft++;
                }
            }
        }
        boolean planned = drafter != null && drafter.batched();
        if (planned) {
            draftAll(decodersLeft);
        }
        for (Running r : running) {
            r.row = -1;
            r.stepped = false;
            if (r.decoding() && batch.hasRoomForSequence()) {
                int pos = r.out.length() - 1;
                int k = planned ? r.drafted : drafter == null ? 0 : draft(r, --decodersLeft);
                r.drafted = k;
                r.row = batch.add(r.kv, r.out.tokens(), pos, pos + 1 + k, 1 + k);
                r.stepped = true;
            } else {
                r.drafted = 0;
            }
        }
        int prefill = 0;
        for (Running r : running) {
            if (r.decoding() || !batch.hasRoomForSequence()) {
                continue;
            }
            int end = r.out.promptLength();
            if (r.prefix != null) {
                advanceAdopted(r);
                end = reuse.computeEnd(r.prefix, r.computed, end);
                if (end == r.computed) {
                    continue; // waits for a block another request is computing
                }
            }
            int chunk = Math.min(Math.min(settings.prefillChunkTokens(), batch.remainingTokens()), end - r.computed);
            if (chunk <= 0) {
                break;
            }
            boolean last = r.computed + chunk == r.out.promptLength();
            r.row = batch.add(r.kv, r.out.tokens(), r.computed, r.computed + chunk, last);
            r.computed += chunk;
            r.stepped = true;
            prefill += chunk;
        }
        if (batch.tokenCount() == 0) {
            publishCounts(); // every admitted request waits for blocks others compute (or for free blocks)
            return work;
        }
        long stepStart = System.nanoTime();
        engine.forward().step(batch);
        long stepNanos = System.nanoTime() - stepStart;
        computeNanos += stepNanos;
        if (stepNanos > longestStepNanos) {
            longestStepNanos = stepNanos;
        }
        if (metrics != null) {
            metrics.stepped(stepNanos);
        }
        stepCount++;
        prefilledTokens += prefill;
        if (reuse != null) {
            for (Running r : running) {
                if (r.stepped && r.prefix != null && r.drafted == 0) { // drafts: after their rejected KV is dropped
                    reuse.publishWritten(r.prefix, r.kv, r.out.tokens());
                }
            }
        }
        int vocab = engine.config().vocabSize();
        float[] logits = engine.forward().logits();
        for (Iterator<Running> it = running.iterator(); it.hasNext(); ) {
            Running r = it.next();
            if (r.row < 0) {
                if (r.mode == Mode.PREFILL && r.computed > r.reported) {
                    // a chunk (or cached blocks) short of the prompt's end: its finished blocks may be shipped now
                    r.reported = r.computed;
                    ((PrefillListener) r.listener).onPrefillProgress(r.kv, r.computed);
                }
                continue;
            }
            if (r.out.generated() == 0) {
                r.listener.onPrefilled(r.out.requestPromptTokens(), r.cachedTokens);
            }
            int token = r.out.advance(logits, r.row * vocab);
            generatedTokens++;
            r.listener.onToken(token, r.out.text(), r.out.logprobs());
            if (r.drafted > 0) {
                token = verify(r, token, logits, vocab);
            }
            if (r.out.finished()) {
                it.remove();
                release(r);
                r.listener.onFinished(r.out.finishReason(), "", r.out.requestPromptTokens(), r.out.completionTokens());
            } else if (r.mode == Mode.PREFILL) {
                it.remove();
                byId.remove(r.id);
                left(r);
                ((PrefillListener) r.listener).onPrefillDone(new PrefilledSequence(r.id, r.kv, r.prompt, token,
                        r.out.text(), r.out.seed(), r.cacheSalt));
            }
        }
        publishCounts();
        return 1;
    }

    /**
     * Writes a draft for {@code r} after its last token (into its token array, past its length) and returns
     * its length: 0 when the drafter has none, or when no room is left once each of the {@code decodersAfter}
     * decoding sequences still to come has its one token and logit row, or when {@code r} can emit no more
     * than one token.
     */
    private int draft(Running r, int decodersAfter) {
        int k = draftLimit(r, Math.min(batch.remainingTokens(), batch.remainingLogitRows()) - 1 - decodersAfter);
        if (k <= 0) {
            return 0;
        }
        return takeDraft(r, r.sequenceDrafter.draft(r.out.tokens(), r.out.length(), r.draftTokens, k), k);
    }

    /**
     * The most draft tokens {@code r} may put into this step with {@code room} positions to spare (0: none; counts
     * down a pause), its sequence drafter made when it has none.
     */
    private int draftLimit(Running r, int room) {
        if (r.draftTokens == null) {
            return 0;
        }
        if (r.draftPause > 0) {
            r.draftPause--;
            return 0;
        }
        int k = Math.min(Math.min(room, r.draftTokens.length), r.out.maxTokens() - r.out.generated() - 1);
        if (k > 0 && r.sequenceDrafter == null) {
            r.sequenceDrafter = drafter.forSequence();
        }
        return Math.max(0, k);
    }

    /** A draft of {@code n} tokens in {@code r.draftTokens} (at most {@code k}) goes after its last token. */
    private static int takeDraft(Running r, int n, int k) {
        n = Math.min(k, n);
        if (n <= 0) {
            return 0;
        }
        System.arraycopy(r.draftTokens, 0, r.out.tokens(), r.out.length(), n);
        return n;
    }

    /** Per-step arrays of {@link #draftAll}, sized to the batch's sequences on first use. */
    private Running[] planRuns;
    private Drafter[] planDrafters;
    private int[][] planTokens;
    private int[] planLengths;
    private int[][] planOuts;
    private int[] planMax;
    private int[] planCounts;

    /**
     * A batched drafter's drafts for the step about to be built, in one call: which sequences the step will take and
     * how many draft positions each may have are worked out as the step's own pass does (with each draft at its
     * most, so whatever the drafts turn out to be the step has room for them), then {@link Drafter#draftBatch}
     * drafts them all; sets {@code drafted} of every running sequence.
     */
    private void draftAll(int decodersLeft) {
        int maxSequences = batch.remainingSequences();
        if (planRuns == null || planRuns.length < maxSequences) {
            planRuns = new Running[maxSequences];
            planDrafters = new Drafter[maxSequences];
            planTokens = new int[maxSequences][];
            planLengths = new int[maxSequences];
            planOuts = new int[maxSequences][];
            planMax = new int[maxSequences];
            planCounts = new int[maxSequences];
        }
        int tokens = batch.remainingTokens();
        int rows = batch.remainingLogitRows();
        int sequences = 0;
        int n = 0;
        for (Running r : running) {
            r.drafted = 0;
            if (!r.decoding() || sequences >= maxSequences || tokens <= 0 || rows <= 0) {
                continue;
            }
            sequences++;
            int k = draftLimit(r, Math.min(tokens, rows) - 1 - --decodersLeft);
            tokens -= 1 + k;
            rows -= 1 + k;
            if (k > 0) {
                planRuns[n] = r;
                planDrafters[n] = r.sequenceDrafter;
                planTokens[n] = r.out.tokens();
                planLengths[n] = r.out.length();
                planOuts[n] = r.draftTokens;
                planMax[n] = k;
                n++;
            }
        }
        if (n == 0) {
            return;
        }
        drafter.draftBatch(planDrafters, planTokens, planLengths, planOuts, planMax, planCounts, n);
        for (int i = 0; i < n; i++) {
            Running r = planRuns[i];
            r.drafted = takeDraft(r, planCounts[i], planMax[i]);
            planRuns[i] = null;
            planDrafters[i] = null;
            planTokens[i] = null;
            planOuts[i] = null;
        }
    }

    /**
     * After the step: {@code token}, sampled from the logits of {@code r}'s first row, is out already. While it
     * equals the draft token at the same position, the draft's next row is valid and samples the next token
     * (stopping when the sequence finishes). Then the KV of the positions past the last kept draft token is
     * dropped and the written full blocks are published. Returns the last token emitted.
     */
    private int verify(Running r, int token, float[] logits, int vocab) {
        int accepted = 0;
        while (accepted < r.drafted && !r.out.finished() && token == r.draftTokens[accepted]) {
            accepted++;
            token = r.out.advance(logits, (r.row + accepted) * vocab);
            generatedTokens++;
            r.listener.onToken(token, r.out.text(), r.out.logprobs());
        }
        draftedTokens += r.drafted;
        acceptedDraftTokens += accepted;
        if (accepted == 0) {
            r.draftMisses = Math.min(r.draftMisses + 1, MAX_DRAFT_BACKOFF);
            r.draftPause = (1 << r.draftMisses) - 1;
        } else {
            r.draftMisses = 0;
        }
        r.kv.setLength(r.out.length() - 1); // every emitted token but the last has its KV written
        if (r.prefix != null) {
            reuse.publishWritten(r.prefix, r.kv, r.out.tokens());
        }
        return token;
    }

    private int drainInbox() {
        int n = 0;
        Command c;
        while ((c = inbox.poll()) != null) {
            n++;
            switch (c) {
                case Submit s -> {
                    Running r = s.seq();
                    EarlyCancel cancelled = earlyCancels.isEmpty() ? null : earlyCancels.remove(r.id);
                    if (cancelled != null) {
                        left(r);
                        r.listener.onFailed(cancelled.reason());
                        break;
                    }
                    byId.put(r.id, r);
                    if (r.deferred && earlyStarts.remove(r.id) == null) {
                        r.deferredNanos = System.nanoTime();
                        deferred.add(r);
                    } else {
                        r.deferred = false;
                        waiting.add(r);
                    }
                    long[] early = r.mode == Mode.IMPORT ? earlyHandoffs.remove(r.id) : null;
                    if (early != null) {
                        r.handoffToken = (int) early[0];
                    }
                }
                case Cancel x -> {
                    Running r = byId.get(x.id());
                    if (r != null) {
                        cancel(r, x.reason(), x.retryable());
                    } else if (!x.retryable()) {
                        // a cancel may overtake its request (sent by another node): refuse the request if it comes;
                        // a retryable one comes from this node (its request left the loop meanwhile): nothing to keep
                        earlyCancels.put(x.id(), new EarlyCancel(x.reason(), System.nanoTime()));
                    }
                }
                case Handoff h -> {
                    Running r = byId.get(h.id());
                    if (r == null && h.token() >= 0) {
                        // the prefill node's handoff overtook the router's request: keep it for a while
                        earlyHandoffs.put(h.id(), new long[] {h.token(), System.nanoTime()});
                    } else if (r != null && r.mode == Mode.IMPORT && r.handoffToken < 0) {
                        r.handoffToken = h.token();
                        if (r.ticket != null) {
                            activateIfReady(r);
                        }
                    }
                }
                case Start x -> {
                    Running r = byId.get(x.id());
                    if (r == null) {
                        earlyStarts.put(x.id(), System.nanoTime()); // the prefill node's start overtook the request
                    } else if (r.deferred) {
                        r.deferred = false;
                        deferred.remove(r);
                        waiting.add(r);
                    }
                }
                case Imported m -> {
                    Running r = byId.get(m.id());
                    if (r == null || r.ticket != m.ticket()) {
                        break; // cannot happen: an import's blocks stay held until its transport gives them back
                    }
                    if (r.cancelReason != null) {
                        importing.remove(r);
                        release(r);
                        r.listener.onFailed(r.cancelReason);
                    } else if (!m.ok()) {
                        importing.remove(r);
                        release(r);
                        r.listener.onFailed("the prompt's KV transfer failed: " + m.reason(), true);
                    } else {
                        r.kvArrived = true;
                        activateIfReady(r);
                    }
                }
                case Task t -> {
                    try {
                        t.task().run();
                    } catch (RuntimeException e) {
                        LOG.warn("loop task failed", e);
                    }
                }
            }
        }
        return n;
    }

    private void cancel(Running r, String reason) {
        cancel(r, reason, false);
    }

    /** {@code retryable}: the request failed for a reason another node would not have (a peer's KV never came). */
    private void cancel(Running r, String reason, boolean retryable) {
        if (r.ticket != null && !r.ticket.revoke()) {
            // a transport holds the blocks: they are freed when it gives them back
            if (r.cancelReason == null) {
                r.cancelReason = reason;
                ((ImportListener) r.listener).onRevoke(r.ticket);
            }
            return;
        }
        waiting.remove(r);
        running.remove(r);
        importing.remove(r);
        if (r.deferred) {
            deferred.remove(r);
        }
        release(r);
        r.listener.onFailed(reason, retryable);
    }

    /** An import whose KV arrived and whose first token is known joins the decode batch. */
    private void activateIfReady(Running r) {
        if (!r.kvArrived || r.handoffToken < 0 || r.cancelReason != null) {
            return;
        }
        importing.remove(r);
        if (reuse != null) {
            advanceAdopted(r); // past the blocks this node held already: they count as cached tokens
        }
        importedBlocks += r.ticket.blockCount();
        importHeldBlocks += r.ticket.firstBlock();
        r.kv.setLength(r.out.promptLength());
        r.computed = r.out.promptLength();
        if (reuse != null) {
            // the imported prompt's full blocks are cached for later requests on this node
            reuse.publishWritten(r.prefix, r.kv, r.prompt);
        }
        try {
            r.out.appendSampled(r.handoffToken);
        } catch (RuntimeException e) {
            release(r);
            r.listener.onFailed("bad first token from the prefill node: " + e.getMessage());
            return;
        }
        if (r.out.finished()) {
            release(r);
            r.listener.onFinished(r.out.finishReason(), r.out.text(), r.out.requestPromptTokens(), r.out.completionTokens());
        } else {
            running.add(r);
        }
    }

    private int expireImports() {
        long now = System.nanoTime();
        int n = 0;
        if (!earlyHandoffs.isEmpty()) {
            earlyHandoffs.values().removeIf(h -> now - h[1] > settings.importTimeoutNanos());
        }
        if (!earlyCancels.isEmpty()) {
            earlyCancels.values().removeIf(c -> now - c.atNanos() > settings.importTimeoutNanos());
        }
        if (!earlyStarts.isEmpty()) {
            earlyStarts.values().removeIf(t -> now - t > settings.importTimeoutNanos());
        }
        if (!deferred.isEmpty()) {
            for (Running r : List.copyOf(deferred)) {
                if (now - r.deferredNanos > settings.startTimeoutNanos()) {
                    cancel(r, "the prefill node did not start the prompt within "
                            + java.time.Duration.ofNanos(settings.startTimeoutNanos()).toMillis() + " ms", true);
                    n++;
                }
            }
        }
        for (Running r : List.copyOf(importing)) {
            if (!r.kvArrived && r.cancelReason == null && now - r.reservedNanos > settings.importTimeoutNanos()) {
                cancel(r, "the prompt's KV did not arrive within "
                        + java.time.Duration.ofNanos(settings.importTimeoutNanos()).toMillis() + " ms", true);
                n++;
            }
        }
        return n;
    }

    private int admit() {
        int n = 0;
        KvBlockPool pool = engine.pool();
        while (!waiting.isEmpty() && running.size() + importing.size() < settings.maxRunning()) {
            Running r = waiting.peek();
            int held = 0; // leading prompt blocks this node holds already (adopted or read back)
            if (reuse != null) {
                boolean imported = r.mode == Mode.IMPORT;
                if (r.prefix == null) {
                    r.prefix = reuse.forPrompt(r.prompt, r.cacheSalt, r.reservedPositions(), true);
                }
                if (!reuse.fits(r.prefix, r.kv, r.reservedPositions(), imported)) {
                    break; // first come, first served: the head waits for room
                }
                waiting.poll();
                held = reuse.admit(r.prefix, r.kv, r.reservedPositions(), imported);
            } else {
                if (r.kv.blocksNeeded(r.reservedPositions()) > pool.freeBlockCount()) {
                    break; // first come, first served: the head waits for room
                }
                waiting.poll();
                r.kv.reserve(r.reservedPositions());
            }
            dequeued(r);
            long queued = System.nanoTime() - r.submittedNanos;
            queueNanos += queued;
            if (metrics != null) {
                metrics.queued(queued);
            }
            n++;
            r.listener.onAdmitted();
            if (r.mode == Mode.IMPORT) {
                int bs = pool.spec().blockSize();
                java.lang.foreign.MemorySegment[] segments =
                        new java.lang.foreign.MemorySegment[(r.out.promptLength() + bs - 1) / bs - held];
                for (int i = 0; i < segments.length; i++) {
                    segments[i] = pool.block(r.kv.blockTable()[held + i]);
                }
                r.ticket = new KvImport(r.id, r.out.promptLength(), held, segments, this);
                r.reservedNanos = System.nanoTime();
                importing.add(r);
                ((ImportListener) r.listener).onReserved(r.ticket);
                activateIfReady(r);
            } else {
                running.add(r);
            }
        }
        return n;
    }

    /**
     * Before admission: requests drop adopted blocks whose writer gave up (all of them before any
     * refills, so the freed blocks are there for the refills), then move past adopted blocks that are
     * written (see {@link PrefixReuse}).
     */
    private void prepareAdopted() {
        if (reuse.abandonsSinceLastLook()) {
            for (Running r : running) {
                if (r.prefix != null && !r.decoding()) {
                    reuse.dropAbandoned(r.prefix, r.kv, r.computed);
                }
            }
        }
        for (Running r : running) {
            if (r.prefix != null && !r.decoding()) {
                advanceAdopted(r);
            }
        }
    }

    private void advanceAdopted(Running r) {
        int before = r.computed;
        r.computed = reuse.advance(r.prefix, r.kv, r.computed);
        if (r.computed != before) {
            r.cachedTokens += r.computed - before;
            cachedTokens += r.computed - before;
        }
    }

    private void release(Running r) {
        if (r.prefix != null) {
            reuse.abandonClaims(r.prefix, r.kv);
        }
        r.kv.free();
        byId.remove(r.id);
        left(r);
    }

    /** {@code r} leaves the loop (ended, failed, or handed to a shipper). */
    private void left(Running r) {
        releaseDrafter(r);
        pending.decrementAndGet();
        dequeued(r);
    }

    /** {@code r} no longer waits: its prompt tokens leave the queued count (once). */
    private void dequeued(Running r) {
        if (r.queuedTokens > 0) {
            queuedPromptTokens.addAndGet(-r.queuedTokens);
            r.queuedTokens = 0;
        }
    }

    /**
     * Fails the running and waiting requests (a step failed, or the loop closes) and, when
     * {@code imports}, the imported ones too (those whose blocks a transport holds are not freed).
     */
    private void failAll(String reason, boolean imports) {
        List<Running> all = new ArrayList<>(running);
        all.addAll(waiting);
        running.clear();
        waiting.clear();
        if (imports) {
            all.addAll(importing);
            importing.clear();
            all.addAll(deferred);
            deferred.clear();
            Command c;
            while ((c = inbox.poll()) != null) {
                if (c instanceof Submit s) {
                    all.add(s.seq());
                }
            }
        }
        for (Running r : all) {
            if (r.ticket == null || r.ticket.revoke()) {
                release(r);
            } else {
                byId.remove(r.id);
                left(r);
            }
            try {
                r.listener.onFailed(reason, imports); // a closing node: another one can take the request
            } catch (RuntimeException e) {
                LOG.warn("listener of {} failed: {}", r.id, e.toString());
            }
        }
        publishCounts();
    }

    private void publishCounts() {
        runningCount = running.size();
        waitingCount = waiting.size() + deferred.size();
        importingCount = importing.size();
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
