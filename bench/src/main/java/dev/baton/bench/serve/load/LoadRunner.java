package dev.baton.bench.serve.load;

import dev.baton.bench.serve.client.OpenAiClient;
import dev.baton.bench.serve.metrics.RequestResult;
import dev.baton.bench.serve.workload.Message;
import dev.baton.bench.serve.workload.Session;
import dev.baton.bench.serve.workload.Turn;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Offers one load point to one target: sends the sessions of a workload at precomputed arrival times
 * ({@link LoadSpec.Rate}) or from a fixed number of clients ({@link LoadSpec.Concurrency}), and collects
 * every request's {@link RequestResult}.
 *
 * <p>Each session runs on its own virtual thread and sends its turns one after another, each with the
 * history so far (the earlier messages and the server's answers); a failed turn ends its session. No new
 * request starts once {@code maxRequests} have been sent or {@code maxDuration} has passed; requests in
 * flight then finish (each is bounded by the client's request timeout). In rate mode at most
 * {@code maxInFlight} requests are in flight: an arrival beyond that waits for a slot, as vLLM's
 * {@code --max-concurrency} does.
 *
 * <p>One {@link #run} at a time per instance; the client may be shared.
 */
public final class LoadRunner {

    /**
     * Bounds of a load point.
     *
     * @param maxRequests requests to send at most
     * @param maxDuration no request starts after this much time from the start; null for no limit
     * @param thinkTime pause between a turn's answer and the session's next turn
     * @param maxInFlight requests in flight at most in rate mode
     */
    public record Limits(int maxRequests, Duration maxDuration, Duration thinkTime, int maxInFlight) {
        public Limits {
            if (maxRequests < 1) {
                throw new IllegalArgumentException("--requests " + maxRequests + " must be at least 1");
            }
            if (maxInFlight < 1) {
                throw new IllegalArgumentException("--max-in-flight " + maxInFlight + " must be at least 1");
            }
        }
    }

    /** One sent request: its session, turn and what came back. */
    public record Exchange(Session session, int turn, Turn spec, RequestResult result) {}

    /** Everything one load point sent, in send order, and when it started and ended ({@link System#nanoTime()}). */
    public record PointRun(long startNs, long endNs, List<Exchange> exchanges) {

        /** The point's duration in seconds: start to the end of its last request. */
        public double durationS() {
            return (endNs - startNs) / 1e9;
        }
    }

    /** Told about each request as it ends (progress display); called from many threads. */
    public interface Listener {
        void finished(RequestResult result);

        Listener NONE = r -> {};
    }

    private final OpenAiClient client;
    private final String model;
    private final Limits limits;

    public LoadRunner(OpenAiClient client, String model, Limits limits) {
        this.client = client;
        this.model = model;
        this.limits = limits;
    }

    /**
     * Runs one load point and waits for every request it started.
     *
     * @param scheduleSeed seeds the arrival times of a rate load
     */
    public PointRun run(LoadSpec load, List<Session> sessions, long scheduleSeed, Listener listener) {
        Run run = new Run(listener);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            switch (load) {
                case LoadSpec.Rate rate -> {
                    long[] offsets = ArrivalSchedule.offsetsNs(rate, sessions.size(), scheduleSeed);
                    for (int i = 0; i < sessions.size(); i++) {
                        long at = run.startNs + offsets[i];
                        if (at >= run.deadlineNs || run.issued.get() >= limits.maxRequests()) {
                            break;
                        }
                        sleepUntil(at);
                        Session s = sessions.get(i);
                        pool.submit(() -> run.session(s));
                    }
                }
                case LoadSpec.Concurrency c -> {
                    AtomicInteger next = new AtomicInteger();
                    for (int w = 0; w < c.clients(); w++) {
                        pool.submit(() -> {
                            int i;
                            while ((i = next.getAndIncrement()) < sessions.size() && run.session(sessions.get(i))) {
                                // next session
                            }
                        });
                    }
                }
            }
        }
        List<Exchange> done = new ArrayList<>(run.exchanges);
        done.sort(Comparator.comparingLong(e -> e.result().sendNs()));
        long end = run.startNs;
        for (Exchange e : done) {
            end = Math.max(end, e.result().endNs());
        }
        return new PointRun(run.startNs, end, List.copyOf(done));
    }

    private static void sleepUntil(long atNs) {
        long left;
        while ((left = atNs - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
        }
    }

    /** The shared state of one load point. */
    private final class Run {
        final long startNs = System.nanoTime();
        final long deadlineNs = limits.maxDuration() == null ? Long.MAX_VALUE : startNs + limits.maxDuration().toNanos();
        final AtomicInteger issued = new AtomicInteger();
        final Semaphore inFlight = new Semaphore(limits.maxInFlight());
        final ConcurrentLinkedQueue<Exchange> exchanges = new ConcurrentLinkedQueue<>();
        final Listener listener;

        Run(Listener listener) {
            this.listener = listener;
        }

        /** Whether one more request may start now; takes it from the budget if so. */
        boolean mayIssue() {
            if (System.nanoTime() >= deadlineNs) {
                return false;
            }
            return issued.getAndIncrement() < limits.maxRequests();
        }

        /** Runs a session's turns in order; false once the budget is spent (no further session should start). */
        boolean session(Session s) {
            List<Message> history = new ArrayList<>();
            for (int k = 0; k < s.turns().size(); k++) {
                if (!mayIssue()) {
                    return false;
                }
                Turn turn = s.turns().get(k);
                history.addAll(turn.messages());
                RequestResult r;
                inFlight.acquireUninterruptibly();
                try {
                    r = client.send(model, List.copyOf(history), turn.maxTokens(), client.sessionId(s.id()));
                } finally {
                    inFlight.release();
                }
                exchanges.add(new Exchange(s, k, turn, r));
                listener.finished(r);
                if (!r.ok()) {
                    return true;
                }
                history.add(Message.assistant(r.text()));
                if (k + 1 < s.turns().size() && !limits.thinkTime().isZero()) {
                    sleepUntil(Math.min(deadlineNs, System.nanoTime() + limits.thinkTime().toNanos()));
                }
            }
            return true;
        }
    }
}
