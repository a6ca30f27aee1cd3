package dev.baton.router.tls;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMException;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMDecryptorProviderBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * A private key and the certificate chain that goes with it, read from PEM files or a PKCS#12 key store,
 * checked (the key must match the first certificate), and turned into the JDK's TLS objects. Immutable.
 *
 * <p>PEM keys may be PKCS#8 ({@code BEGIN PRIVATE KEY}, or {@code BEGIN ENCRYPTED PRIVATE KEY} with a
 * password), PKCS#1 RSA ({@code BEGIN RSA PRIVATE KEY}) or SEC1 EC ({@code BEGIN EC PRIVATE KEY});
 * BouncyCastle parses them, the JDK's providers use them. Every failure is a {@link TlsConfigException}
 * naming the file and what is wrong.
 *
 * @param key   the private key
 * @param chain the certificate of {@code key} first, then the certificates that sign it (may be just one)
 */
public record KeyMaterial(PrivateKey key, List<X509Certificate> chain) {

    public KeyMaterial {
        chain = List.copyOf(chain);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("a certificate chain needs at least one certificate");
        }
    }

    /** The key's own certificate. */
    public X509Certificate certificate() {
        return chain.getFirst();
    }

    /**
     * Reads a PEM certificate chain and its PEM private key.
     *
     * @param certificateFile the certificate, then any intermediate certificates
     * @param keyFile         the private key of the first certificate
     * @param keyPassword     the password of an encrypted key; empty for a key that is not encrypted
     * @throws TlsConfigException naming the file: missing, unreadable, no certificate or key in it, a key that
     *                            does not match the certificate, an encrypted key without its password
     */
    public static KeyMaterial fromPem(Path certificateFile, Path keyFile, char[] keyPassword) {
        List<X509Certificate> chain = readCertificates(certificateFile, "certificate");
        PrivateKey key = readPrivateKey(keyFile, keyPassword);
        checkMatches(key, chain.getFirst(), "the private key " + keyFile + " does not match the certificate "
                + certificateFile + " (" + chain.getFirst().getSubjectX500Principal().getName() + ")");
        return new KeyMaterial(key, chain);
    }

    /**
     * Reads the first private key entry of a PKCS#12 key store.
     *
     * @throws TlsConfigException naming the file: missing, unreadable, not PKCS#12, a wrong password, no key entry
     */
    public static KeyMaterial fromPkcs12(Path file, char[] password) {
        byte[] bytes = readAll(file, "PKCS#12 key store");
        KeyStore store;
        try {
            store = KeyStore.getInstance("PKCS12");
            store.load(new java.io.ByteArrayInputStream(bytes), password);
        } catch (IOException e) {
            boolean password1 = e.getCause() instanceof java.security.UnrecoverableKeyException
                    || String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("password");
            throw new TlsConfigException("the PKCS#12 key store " + file + " cannot be read: "
                    + (password1 ? "wrong password (keystore-password)" : "not a PKCS#12 file (" + e.getMessage() + ")"), e);
        } catch (GeneralSecurityException e) {
            throw new TlsConfigException("the PKCS#12 key store " + file + " cannot be read: " + e.getMessage(), e);
        }
        try {
            for (String alias : Collections.list(store.aliases())) {
                if (!store.isKeyEntry(alias)) {
                    continue;
                }
                java.security.Key k = store.getKey(alias, password);
                Certificate[] certs = store.getCertificateChain(alias);
                if (!(k instanceof PrivateKey pk) || certs == null || certs.length == 0) {
                    continue;
                }
                List<X509Certificate> chain = new ArrayList<>();
                for (Certificate c : certs) {
                    chain.add((X509Certificate) c);
                }
                checkMatches(pk, chain.getFirst(), "the key entry '" + alias + "' of " + file
                        + " does not match its own certificate");
                return new KeyMaterial(pk, chain);
            }
        } catch (GeneralSecurityException e) {
            throw new TlsConfigException("the key in the PKCS#12 key store " + file + " cannot be read (a key password "
                    + "other than the store's?): " + e.getMessage(), e);
        }
        throw new TlsConfigException("the PKCS#12 key store " + file + " holds no private key with its certificate");
    }

    /**
     * Reads PEM certificates (a CA bundle or a peer's certificate) to trust.
     *
     * @throws TlsConfigException naming the file when it is missing, unreadable or holds no certificate
     */
    public static List<X509Certificate> readCertificates(Path file, String what) {
        byte[] bytes = readAll(file, what);
        List<X509Certificate> out = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        try (PEMParser pem = parser(bytes)) {
            Object o;
            while ((o = pem.readObject()) != null) {
                if (o instanceof X509CertificateHolder h) {
                    out.add(converter.getCertificate(h));
                }
            }
        } catch (IOException | CertificateException e) {
            throw new TlsConfigException("the " + what + " file " + file + " is not valid PEM: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new TlsConfigException("the " + what + " file " + file + " holds no PEM certificate "
                    + "(-----BEGIN CERTIFICATE-----)");
        }
        return out;
    }

    /** A trust store of {@code certificates}: peers must present a chain that ends in one of them. */
    public static TrustManager[] trustManagers(List<X509Certificate> certificates) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < certificates.size(); i++) {
                store.setCertificateEntry("trusted-" + i, certificates.get(i));
            }
            TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            f.init(store);
            return f.getTrustManagers();
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("the JDK cannot build a trust store: " + e.getMessage(), e);
        }
    }

    /** Key managers that present this key and chain. */
    public KeyManager[] keyManagers() {
        try {
            char[] none = new char[0];
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("key", key, none, chain.toArray(new X509Certificate[0]));
            KeyManagerFactory f = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            f.init(store, none);
            return f.getKeyManagers();
        } catch (GeneralSecurityException | IOException e) {
            throw new TlsConfigException("the key of " + certificate().getSubjectX500Principal().getName()
                    + " cannot be used for TLS: " + e.getMessage(), e);
        }
    }

    /** A TLS context presenting this key; {@code trust} null: the JDK's default trust (for a server without client certificates). */
    public SSLContext sslContext(TrustManager[] trust) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keyManagers(), trust, new SecureRandom());
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no TLS: " + e.getMessage(), e);
        }
    }

    private static PrivateKey readPrivateKey(Path file, char[] password) {
        byte[] bytes = readAll(file, "private key");
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (PEMParser pem = parser(bytes)) {
            Object o;
            while ((o = pem.readObject()) != null) {
                switch (o) {
                    case PrivateKeyInfo info -> {
                        return converter.getPrivateKey(info);
                    }
                    case PEMKeyPair pair -> {
                        // the private part only: a SEC1 EC key may leave its optional public key out
                        return converter.getPrivateKey(pair.getPrivateKeyInfo());
                    }
                    case PKCS8EncryptedPrivateKeyInfo enc -> {
                        requirePassword(file, password);
                        return converter.getPrivateKey(enc.decryptPrivateKeyInfo(
                                new JceOpenSSLPKCS8DecryptorProviderBuilder().build(password)));
                    }
                    case PEMEncryptedKeyPair enc -> {
                        requirePassword(file, password);
                        return converter.getPrivateKey(enc.decryptKeyPair(new JcePEMDecryptorProviderBuilder().build(password))
                                .getPrivateKeyInfo());
                    }
                    default -> {
                        // a certificate or parameters beside the key: look further
                    }
                }
            }
        } catch (PKCSException | OperatorCreationException e) {
            throw new TlsConfigException("the private key " + file + " cannot be decrypted (wrong key password?): "
                    + e.getMessage(), e);
        } catch (PEMException e) {
            throw new TlsConfigException("the private key " + file + " cannot be read: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new TlsConfigException("the private key file " + file + " is not valid PEM: " + e.getMessage(), e);
        }
        throw new TlsConfigException("the private key file " + file + " holds no PEM private key (PKCS#8 "
                + "-----BEGIN PRIVATE KEY-----, PKCS#1 -----BEGIN RSA PRIVATE KEY----- or SEC1 -----BEGIN EC PRIVATE KEY-----)");
    }

    private static void requirePassword(Path file, char[] password) {
        if (password == null || password.length == 0) {
            throw new TlsConfigException("the private key " + file + " is encrypted: give its password (key-password)");
        }
    }

    /** Signs a challenge with {@code key} and checks it with the certificate's public key. */
    private static void checkMatches(PrivateKey key, X509Certificate certificate, String mismatch) {
        PublicKey pub = certificate.getPublicKey();
        if (!key.getAlgorithm().equals(pub.getAlgorithm())
                && !(key.getAlgorithm().startsWith("EC") && pub.getAlgorithm().startsWith("EC"))) {
            throw new TlsConfigException(mismatch + ": a " + key.getAlgorithm() + " key for a " + pub.getAlgorithm()
                    + " certificate");
        }
        String algorithm = switch (pub.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "Ed25519", "Ed448", "EdDSA" -> pub.getAlgorithm();
            case "DSA" -> "SHA256withDSA";
            default -> null;
        };
        if (algorithm == null) {
            return; // a key type we cannot test here (RSASSA-PSS, ...): the TLS handshake will tell
        }
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature s = Signature.getInstance(algorithm);
            s.initSign(key);
            s.update(challenge);
            byte[] signature = s.sign();
            s.initVerify(pub);
            s.update(challenge);
            if (!s.verify(signature)) {
                throw new TlsConfigException(mismatch);
            }
        } catch (GeneralSecurityException e) {
            throw new TlsConfigException(mismatch + ": " + e.getMessage(), e);
        }
    }

    private static byte[] readAll(Path file, String what) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TlsConfigException("the " + what + " file " + file + " does not exist", e);
        } catch (AccessDeniedException e) {
            throw new TlsConfigException("the " + what + " file " + file + " cannot be read: permission denied", e);
        } catch (IOException e) {
            throw new TlsConfigException("the " + what + " file " + file + " cannot be read: " + e, e);
        }
    }

    private static PEMParser parser(byte[] bytes) {
        Reader r = new java.io.InputStreamReader(new java.io.ByteArrayInputStream(bytes), StandardCharsets.US_ASCII);
        return new PEMParser(r);
    }
}
