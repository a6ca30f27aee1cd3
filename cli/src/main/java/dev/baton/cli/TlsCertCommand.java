package dev.baton.cli;

import dev.baton.router.tls.KeyMaterial;
import dev.baton.router.tls.SelfSignedCertificate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/baton tls-cert}: writes a new self-signed certificate and its key (EC P-256, PEM), for the nodes of
 * one cluster to share ({@code baton.cluster.tls}, {@code --cluster-cert}) or for a router on a private network
 * ({@code --tls-cert}). Refuses to overwrite existing files.
 */
@Command(name = "tls-cert", mixinStandardHelpOptions = true,
        description = "Write a self-signed TLS certificate and its private key (PEM) for the cluster or the router.")
final class TlsCertCommand implements Callable<Integer> {

    @Option(names = "--cert", paramLabel = "FILE", required = true, description = "where the certificate goes (PEM)")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", required = true,
            description = "where the private key goes (PKCS#8 PEM, readable by its owner only)")
    Path key;

    @Option(names = "--name", paramLabel = "HOST", split = ",", defaultValue = "127.0.0.1,localhost",
            description = "IP addresses and DNS names the certificate is for (default: ${DEFAULT-VALUE})")
    List<String> names;

    @Option(names = "--days", paramLabel = "N", defaultValue = "365", description = "validity (default: ${DEFAULT-VALUE})")
    int days;

    @Override
    public Integer call() throws Exception {
        for (Path p : List.of(cert, key)) {
            if (Files.exists(p)) {
                System.err.println("baton tls-cert: " + p + " exists; not overwriting it");
                return 1;
            }
        }
        if (days < 1) {
            System.err.println("baton tls-cert: --days must be at least 1");
            return 1;
        }
        KeyMaterial m = SelfSignedCertificate.create("baton", names, Duration.ofDays(days));
        SelfSignedCertificate.writePem(m, cert, key);
        System.out.println("baton tls-cert: wrote " + cert + " and " + key + " (for " + String.join(", ", names)
                + ", " + days + " days)");
        return 0;
    }
}
