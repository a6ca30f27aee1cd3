package dev.baton.router.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.OutputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.util.io.pem.PemObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading keys and certificates in the formats people have, and the messages for the files that cannot be used. */
class KeyMaterialTest {

    @TempDir
    Path dir;

    private static final Duration DAY = Duration.ofDays(1);

    @Test
    void shouldReadAPkcs8EcKeyAndItsCertificateWrittenAsPem() throws Exception {
        KeyMaterial made = SelfSignedCertificate.create("node", List.of("127.0.0.1", "localhost"), DAY);
        SelfSignedCertificate.writePem(made, dir.resolve("c.pem"), dir.resolve("k.pem"));
        assertTrue(Files.readString(dir.resolve("k.pem")).startsWith("-----BEGIN PRIVATE KEY-----"));
        KeyMaterial read = KeyMaterial.fromPem(dir.resolve("c.pem"), dir.resolve("k.pem"), new char[0]);
        assertEquals(made.certificate(), read.certificate());
        assertTrue(read.sslContext(null).createSSLEngine().getSupportedCipherSuites().length > 0);
    }

    @Test
    void shouldReadTraditionalRsaAndEcKeys() throws Exception {
        for (String algorithm : List.of("RSA", "EC")) {
            KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
            g.initialize(algorithm.equals("RSA") ? 2048 : 256);
            KeyMaterial made = SelfSignedCertificate.create("node", List.of(), DAY, g.generateKeyPair());
            Path cert = dir.resolve(algorithm + "-c.pem");
            Path key = dir.resolve(algorithm + "-k.pem");
            SelfSignedCertificate.writePem(made, cert, dir.resolve("unused.pem"));
            StringWriter w = new StringWriter();
            try (JcaPEMWriter pem = new JcaPEMWriter(w)) {
                if (algorithm.equals("RSA")) {
                    pem.writeObject(made.key()); // OpenSSL's traditional form: PKCS#1
                } else {
                    pem.writeObject(new PemObject("EC PRIVATE KEY", sec1(made.key())));
                }
            }
            Files.writeString(key, w.toString());
            assertTrue(w.toString().startsWith("-----BEGIN " + algorithm + " PRIVATE KEY-----"), w.toString());
            assertEquals(made.certificate(), KeyMaterial.fromPem(cert, key, new char[0]).certificate());
        }
    }

    /** SEC1 as OpenSSL writes it: the key with its curve in the structure (the JDK's PKCS#8 keeps the curve outside). */
    private static byte[] sec1(java.security.PrivateKey key) throws java.io.IOException {
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(key.getEncoded());
        ECPrivateKey inner = ECPrivateKey.getInstance(info.parsePrivateKey());
        return new ECPrivateKey(256, inner.getKey(), info.getPrivateKeyAlgorithm().getParameters()).getEncoded();
    }

    @Test
    void shouldReadAPkcs12KeyStoreAndNameAWrongPassword() throws Exception {
        KeyMaterial made = SelfSignedCertificate.create("node", List.of(), DAY);
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("node", made.key(), "secret".toCharArray(), made.chain().toArray(new X509Certificate[0]));
        Path p12 = dir.resolve("node.p12");
        try (OutputStream out = Files.newOutputStream(p12)) {
            store.store(out, "secret".toCharArray());
        }
        assertEquals(made.certificate(), KeyMaterial.fromPkcs12(p12, "secret".toCharArray()).certificate());
        TlsConfigException e = assertThrows(TlsConfigException.class, () -> KeyMaterial.fromPkcs12(p12, "wrong".toCharArray()));
        assertTrue(e.getMessage().contains(p12.toString()) && e.getMessage().contains("password"), e.getMessage());
    }

    @Test
    void shouldNameAMissingFile() {
        Path missing = dir.resolve("nope.pem");
        TlsConfigException e = assertThrows(TlsConfigException.class,
                () -> KeyMaterial.fromPem(missing, missing, new char[0]));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void shouldNameAFileThatHoldsNoPem() throws Exception {
        KeyMaterial made = SelfSignedCertificate.create("node", List.of(), DAY);
        SelfSignedCertificate.writePem(made, dir.resolve("c.pem"), dir.resolve("k.pem"));
        Path junk = Files.writeString(dir.resolve("junk.pem"), "not a key\n", StandardCharsets.US_ASCII);
        TlsConfigException key = assertThrows(TlsConfigException.class,
                () -> KeyMaterial.fromPem(dir.resolve("c.pem"), junk, new char[0]));
        assertTrue(key.getMessage().contains(junk.toString()) && key.getMessage().contains("no PEM private key"),
                key.getMessage());
        TlsConfigException cert = assertThrows(TlsConfigException.class,
                () -> KeyMaterial.fromPem(junk, dir.resolve("k.pem"), new char[0]));
        assertTrue(cert.getMessage().contains(junk.toString()) && cert.getMessage().contains("no PEM certificate"),
                cert.getMessage());
    }

    @Test
    void shouldRefuseAKeyThatDoesNotMatchTheCertificate() throws Exception {
        SelfSignedCertificate.writePem(SelfSignedCertificate.create("a", List.of(), DAY), dir.resolve("a.pem"),
                dir.resolve("a.key"));
        SelfSignedCertificate.writePem(SelfSignedCertificate.create("b", List.of(), DAY), dir.resolve("b.pem"),
                dir.resolve("b.key"));
        TlsConfigException e = assertThrows(TlsConfigException.class,
                () -> KeyMaterial.fromPem(dir.resolve("a.pem"), dir.resolve("b.key"), new char[0]));
        assertTrue(e.getMessage().contains("does not match") && e.getMessage().contains("b.key")
                && e.getMessage().contains("a.pem"), e.getMessage());
    }

    @Test
    void shouldRefuseAnEnabledBlockWithoutAKeyOrWithBothSources() {
        TlsConfigException none = assertThrows(TlsConfigException.class, () -> TlsSettings.from(
                ConfigFactory.parseString("x.tls { enabled = on }"), "x.tls"));
        assertTrue(none.getMessage().contains("x.tls.enabled = on needs"), none.getMessage());
        TlsConfigException half = assertThrows(TlsConfigException.class, () -> TlsSettings.from(
                ConfigFactory.parseString("x.tls { enabled = on, certificate = c.pem }"), "x.tls"));
        assertTrue(half.getMessage().contains("private-key"), half.getMessage());
        TlsConfigException both = assertThrows(TlsConfigException.class, () -> TlsSettings.from(ConfigFactory.parseString(
                "x.tls { enabled = on, certificate = c.pem, private-key = k.pem, keystore = s.p12 }"), "x.tls"));
        assertTrue(both.getMessage().contains("not both"), both.getMessage());
    }
}
