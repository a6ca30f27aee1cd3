package dev.baton.kvtransfer.hosttier;

/**
 * A host tier cannot be opened or used as configured: bad settings, files of another shape under the
 * same name, an I/O failure. The message names the file or setting and the limit. Normal outcomes
 * (a miss, a full tier, a corrupt block) are return codes, never this exception.
 */
public class HostTierException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public HostTierException(String message) {
        super(message);
    }

    public HostTierException(String message, Throwable cause) {
        super(message, cause);
    }
}
