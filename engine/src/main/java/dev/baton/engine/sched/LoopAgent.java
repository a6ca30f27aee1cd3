package dev.baton.engine.sched;

/**
 * Work that must run on an {@link EngineLoop}'s thread between steps, for instance a KV sender
 * that reads blocks the loop owns and frees them once shipped. Attached with {@link EngineLoop#attach}.
 */
@FunctionalInterface
public interface LoopAgent {

    /**
     * One duty cycle; must not block or throw.
     *
     * @return the work done (0 when idle: the loop may then park for its idle time)
     */
    int doWork();
}
