package dev.baton.kvtransfer;

/**
 * A kv-transfer setting or argument outside its limits, or a transport that could not start. The
 * message names the field (or configuration key) and the limit. Never thrown for conditions of the
 * peer or the network: those are {@link SendResult}s and {@link KvFailure}s.
 */
public class KvTransferException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public KvTransferException(String message) {
        super(message);
    }

    public KvTransferException(String message, Throwable cause) {
        super(message, cause);
    }
}
