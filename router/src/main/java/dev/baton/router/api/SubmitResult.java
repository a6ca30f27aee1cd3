package dev.baton.router.api;

import java.util.Objects;

/**
 * What {@link GenerationBackend#submit} did with a request: a return code, not an exception. Only
 * {@link Accepted} means the listener will be called.
 */
public sealed interface SubmitResult {

    /** The one {@link Accepted} instance. */
    SubmitResult ACCEPTED = new Accepted();

    /** Taken: the listener will hear of it. */
    record Accepted() implements SubmitResult {}

    /** Queues or KV caches are full; the client should retry later (HTTP 503 with Retry-After). */
    record Overloaded(String reason) implements SubmitResult {
        public Overloaded {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** The backend cannot serve now: no node, shutting down (HTTP 503 with Retry-After). */
    record Unavailable(String reason) implements SubmitResult {
        public Unavailable {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /**
     * The backend can never serve this request, e.g. it needs more KV blocks than a node has
     * (HTTP 400). The message is shown to the client: it names the limit, not internals.
     */
    record Rejected(String message) implements SubmitResult {
        public Rejected {
            Objects.requireNonNull(message, "message");
        }
    }
}
