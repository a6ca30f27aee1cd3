package dev.baton.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of compute threads that run one {@link Task} at a time, split into parts.
 *
 * <p>{@link #run(Task)} runs part 0 on the calling thread and parts {@code 1..threads-1} on the
 * workers, and returns when every part is done. Workers spin briefly, then park, between tasks.
 * Nothing is allocated per call. Which thread runs which part never changes a result as long as
 * tasks split work by part index (see {@link #start(int, int, int)}): that is what keeps the
 * forward pass deterministic across thread counts.
 *
 * <p>One caller at a time: {@code run} is not re-entrant and must be called from one thread.
 */
public final class WorkerPool implements AutoCloseable {

    /** A piece of work split into {@code parts} parts; part {@code part} runs on one thread. */
    public interface Task {
        void run(int part, int parts);
    }

    private static final int SPINS = 20_000;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile long epoch;
    private volatile boolean closed;
    private volatile Task current;
    private final Thread[] parked;

    public WorkerPool(int threads, String name) {
        if (threads < 1 || threads > 1024) {
            throw new IllegalArgumentException("threads must be 1..1024, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        this.parked = workers;
        for (int i = 0; i < workers.length; i++) {
            int part = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name(name + "-" + part).unstarted(() -> loop(part));
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /** First index of part {@code part} when {@code total} items are split into {@code parts} parts. */
    public static int start(int total, int part, int parts) {
        return (int) ((long) total * part / parts);
    }

    /** Runs {@code task} on every thread and waits for all parts. */
    public void run(Task task) {
        if (threads == 1) {
            task.run(0, 1);
            return;
        }
        current = task;
        pending.set(threads - 1);
        epoch++;
        for (Thread w : parked) {
            LockSupport.unpark(w);
        }
        Throwable failure = null;
        try {
            task.run(0, threads);
        } catch (Throwable t) {
            failure = t;
        }
        int spins = 0;
        while (pending.get() != 0) {
            if (++spins > SPINS) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
        current = null;
        if (failure != null) {
            sneakyThrow(failure);
        }
        if (workerFailure != null) {
            Throwable t = workerFailure;
            workerFailure = null;
            sneakyThrow(t);
        }
    }

    private volatile Throwable workerFailure;

    private void loop(int part) {
        long seen = 0;
        while (!closed) {
            int spins = 0;
            while (epoch == seen && !closed) {
                if (++spins > SPINS) {
                    LockSupport.parkNanos(this, 1_000_000L);
                } else {
                    Thread.onSpinWait();
                }
            }
            if (closed) {
                return;
            }
            seen = epoch;
            try {
                current.run(part, threads);
            } catch (Throwable t) {
                workerFailure = t;
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> void sneakyThrow(Throwable t) throws T {
        throw (T) t;
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
