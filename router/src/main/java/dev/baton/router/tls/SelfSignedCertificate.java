package dev.baton.router.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Makes a self-signed certificate (an EC P-256 key, SHA-256 with ECDSA) and writes it and its key as PEM:
 * for a cluster that shares one certificate between its nodes (baton.cluster.tls), for a router on a
 * private network, and for tests. A public service wants a certificate from a CA instead.
 */
public final class SelfSignedCertificate {

    private SelfSignedCertificate() {}

    /**
     * A new key and a certificate for it.
     *
     * @param commonName the subject's CN
     * @param names      subject alternative names: IP addresses or DNS names (e.g. {@code 127.0.0.1}, {@code localhost})
     * @param validity   how long it is valid, from an hour ago (clock skew)
     */
    public static KeyMaterial create(String commonName, List<String> names, Duration validity) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            return create(commonName, names, validity, g.generateKeyPair());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot make an EC key: " + e.getMessage(), e);
        }
    }

    /** A certificate for {@code pair} (an EC or RSA key), signed by itself. */
    public static KeyMaterial create(String commonName, List<String> names, Duration validity, KeyPair pair) {
        try {
            X500Name subject = new X500Name("CN=" + commonName);
            Instant from = Instant.now().minus(Duration.ofHours(1));
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, new BigInteger(64, new SecureRandom()),
                    Date.from(from), Date.from(from.plus(validity)), subject, pair.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            List<GeneralName> alt = new ArrayList<>();
            for (String n : names) {
                alt.add(isAddress(n) ? new GeneralName(GeneralName.iPAddress, n) : new GeneralName(GeneralName.dNSName, n));
            }
            if (!alt.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(alt.toArray(new GeneralName[0])));
            }
            var holder = b.build(new JcaContentSignerBuilder(
                    pair.getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA").build(pair.getPrivate()));
            return new KeyMaterial(pair.getPrivate(), List.of(new JcaX509CertificateConverter().getCertificate(holder)));
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot make a self-signed certificate: " + e.getMessage(), e);
        }
    }

    /**
     * Writes the certificate chain to {@code certificateFile} and the key (PKCS#8, unencrypted, readable by
     * its owner only where the file system allows) to {@code keyFile}.
     */
    public static void writePem(KeyMaterial material, Path certificateFile, Path keyFile) throws IOException {
        StringWriter certs = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(certs)) {
            for (var c : material.chain()) {
                w.writeObject(c);
            }
        }
        StringWriter key = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(key)) {
            w.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(material.key(), null));
        }
        Files.writeString(certificateFile, certs.toString(), StandardCharsets.US_ASCII);
        Files.deleteIfExists(keyFile);
        try {
            Files.createFile(keyFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(keyFile);
        }
        Files.writeString(keyFile, key.toString(), StandardCharsets.US_ASCII);
    }

    private static boolean isAddress(String n) {
        if (n.indexOf(':') >= 0) {
            return true; // IPv6
        }
        if (!n.matches("[0-9.]+")) {
            return false;
        }
        try {
            return InetAddress.getByName(n) != null;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }
}
