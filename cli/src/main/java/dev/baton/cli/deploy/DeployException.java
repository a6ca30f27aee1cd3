package dev.baton.cli.deploy;

/**
 * A deployment step that failed on a host: unreachable over ssh, refused authentication, a node that exited during
 * start-up (the message carries the tail of its log), a node that did not become ready in time.
 */
public final class DeployException extends RuntimeException {

    public DeployException(String message) {
        super(message);
    }
}
