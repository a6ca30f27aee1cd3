package dev.baton.common.protocol;

import dev.baton.common.NodeId;
import dev.baton.common.RequestId;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The protocol of a node that runs whole requests (role {@code worker}: prefill and decode in one
 * loop). Routers find workers through the Receptionist under {@link #SERVICE_KEY}.
 */
public final class WorkerProtocol {

    private WorkerProtocol() {}

    /** Messages a worker accepts (not sealed: the worker adds private messages of its own). */
    public interface Command extends CborSerializable {}

    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "baton-worker");

    /** Runs a request; events go to {@code replyTo}. Refusals arrive as {@link GenerationEvent.Failed}. */
    public record Generate(RequestId requestId, int[] promptTokens, SamplingSpec sampling,
            ActorRef<GenerationEvent> replyTo) implements Command {}

    /** Cancels a request (client gone, timeout); answered by a {@link GenerationEvent.Failed}. */
    public record Cancel(RequestId requestId, String reason) implements Command {}

    /** Asks for a {@link LoadReport}. */
    public record GetLoad(ActorRef<LoadReport> replyTo) implements Command {}

    /**
     * A node's load as routers see it.
     *
     * @param freeBlocks  KV blocks not held by any sequence
     */
    public record LoadReport(NodeId node, String role, int running, int waiting, int freeBlocks, int totalBlocks,
            int blockSize, long generatedTokens) implements CborSerializable {}
}
