package dev.baton.router.tls;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * One {@code tls} block of the configuration ({@code baton.router.tls}, {@code baton.cluster.tls}): whether TLS
 * is on and where the key comes from, either a PEM pair ({@code certificate}, {@code private-key}, with
 * {@code key-password} for an encrypted key) or a PKCS#12 key store ({@code keystore}, {@code keystore-password});
 * {@code trust} is a PEM bundle of certificates to trust in peers (used where peers are checked). Immutable;
 * the files are read by {@link #keyMaterial()}, not here.
 *
 * @param prefix           the block's path, for messages (e.g. {@code baton.router.tls})
 * @param enabled          whether TLS is on
 * @param certificate      PEM certificate chain, or null
 * @param privateKey       PEM private key, or null
 * @param keyPassword      password of an encrypted PEM key; empty for none
 * @param keystore         PKCS#12 key store, or null
 * @param keystorePassword its password
 * @param trust            PEM certificates to trust in peers, or null
 */
public record TlsSettings(String prefix, boolean enabled, Path certificate, Path privateKey, String keyPassword,
        Path keystore, String keystorePassword, Path trust) {

    /** TLS off. */
    public static TlsSettings off(String prefix) {
        return new TlsSettings(prefix, false, null, null, "", null, "", null);
    }

    /** PEM files, TLS on. */
    public static TlsSettings pem(String prefix, Path certificate, Path privateKey) {
        return new TlsSettings(prefix, true, certificate, privateKey, "", null, "", null).validate();
    }

    /**
     * Reads the block at {@code prefix} (every key optional except {@code enabled}) and validates it.
     *
     * @throws TlsConfigException naming the key that is wrong
     */
    public static TlsSettings from(Config root, String prefix) {
        try {
            Config c = root.getConfig(prefix);
            return new TlsSettings(prefix, c.getBoolean("enabled"), path(c, "certificate"), path(c, "private-key"),
                    string(c, "key-password"), path(c, "keystore"), string(c, "keystore-password"), path(c, "trust"))
                    .validate();
        } catch (ConfigException e) {
            throw new TlsConfigException("configuration: " + e.getMessage(), e);
        }
    }

    /**
     * Checks that an enabled block names exactly one source of its key.
     *
     * @return this
     */
    public TlsSettings validate() {
        if (!enabled) {
            return this;
        }
        boolean pem = certificate != null || privateKey != null;
        if (pem && keystore != null) {
            throw new TlsConfigException(prefix + ": set either certificate and private-key (PEM) or keystore (PKCS#12), not both");
        }
        if (!pem && keystore == null) {
            throw new TlsConfigException(prefix + ".enabled = on needs certificate and private-key (PEM files) or "
                    + "keystore (a PKCS#12 file)");
        }
        if (pem && (certificate == null || privateKey == null)) {
            throw new TlsConfigException(prefix + ": " + (certificate == null ? "private-key is set but certificate is not"
                    : "certificate is set but private-key is not") + " (both PEM files are needed)");
        }
        return this;
    }

    /**
     * Reads and checks the key and its certificate chain.
     *
     * @throws TlsConfigException naming the file and what is wrong with it
     * @throws IllegalStateException when TLS is off
     */
    public KeyMaterial keyMaterial() {
        if (!enabled) {
            throw new IllegalStateException(prefix + " is off");
        }
        return keystore != null ? KeyMaterial.fromPkcs12(keystore, keystorePassword.toCharArray())
                : KeyMaterial.fromPem(certificate, privateKey, keyPassword.toCharArray());
    }

    /** The certificates of {@code trust}, or, when it is not set, those of {@code own}'s chain. */
    public List<X509Certificate> trusted(KeyMaterial own) {
        return trust != null ? KeyMaterial.readCertificates(trust, "trust") : own.chain();
    }

    /** Never prints the passwords. */
    @Override
    public String toString() {
        return prefix + "[enabled=" + enabled + (keystore != null ? ", keystore=" + keystore
                : ", certificate=" + certificate + ", private-key=" + privateKey) + (trust != null ? ", trust=" + trust : "") + "]";
    }

    private static Path path(Config c, String key) {
        if (!c.hasPath(key)) {
            return null;
        }
        String v = c.getString(key).strip();
        return v.isEmpty() ? null : Path.of(v);
    }

    private static String string(Config c, String key) {
        return c.hasPath(key) ? c.getString(key) : "";
    }
}
