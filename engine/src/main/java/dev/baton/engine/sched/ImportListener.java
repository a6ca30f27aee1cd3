package dev.baton.engine.sched;

/**
 * The listener of a request whose prompt KV is computed elsewhere and imported
 * ({@link EngineLoop#submitImport}): the decode side of a disaggregated request.
 */
public interface ImportListener extends GenerationListener {

    /**
     * Blocks for the prompt plus {@code max_tokens} are reserved; {@code ticket} holds the segments
     * the prompt's KV must be written into. Called on the loop thread; must not block.
     */
    void onReserved(KvImport ticket);

    /**
     * The request was cancelled while a transport holds the ticket's segments: make the transport
     * stop and {@link KvImport#giveBack give them back} (the blocks are freed only then). Called on
     * the loop thread; must not block.
     */
    default void onRevoke(KvImport ticket) {}
}
