package dev.baton.router.tls;

/**
 * A TLS key, certificate or key store that cannot be used. The message names the file and what is wrong
 * with it (missing, unreadable, not PEM, a key that does not match its certificate, a wrong password), so
 * that it can be shown to the person who configured it as it is.
 */
public final class TlsConfigException extends RuntimeException {

    public TlsConfigException(String message) {
        super(message);
    }

    public TlsConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
