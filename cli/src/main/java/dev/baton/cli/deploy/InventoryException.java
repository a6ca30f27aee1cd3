package dev.baton.cli.deploy;

/** A deployment inventory that cannot be used; the message names the file and the key. */
public final class InventoryException extends RuntimeException {

    public InventoryException(String message) {
        super(message);
    }

    public InventoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
