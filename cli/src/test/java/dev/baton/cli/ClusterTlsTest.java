package dev.baton.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.router.tls.SelfSignedCertificate;
import dev.baton.router.tls.TlsConfigException;
import dev.baton.router.tls.TlsSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** How {@code baton.cluster.tls} and the {@code --cluster-*} flags become Artery's configuration. */
class ClusterTlsTest {

    @TempDir
    Path dir;

    private static Config apply(String... args) {
        WorkerCommand cmd = new WorkerCommand();
        new CommandLine(cmd).parseArgs(args);
        return cmd.cluster.apply(ConfigFactory.parseString("pekko.remote.artery.canonical { hostname = \"127.0.0.1\", "
                + "port = 25520 }").withFallback(ConfigFactory.defaultReference()), "worker");
    }

    @Test
    void shouldLeaveArteryOnPlainTcpByDefault() {
        Config c = apply();
        assertEquals("tcp", c.getString("pekko.remote.artery.transport"));
    }

    @Test
    void shouldTurnTheClusterCertificateIntoTlsTcpWithMutualAuthentication() throws Exception {
        SelfSignedCertificate.writePem(SelfSignedCertificate.create("cluster", List.of(), Duration.ofDays(1)),
                dir.resolve("c.pem"), dir.resolve("c.key"));
        Config c = apply("--cluster-cert", dir.resolve("c.pem").toString(), "--cluster-key", dir.resolve("c.key").toString());
        assertEquals("tls-tcp", c.getString("pekko.remote.artery.transport"));
        assertEquals(ClusterTlsEngineProvider.class.getName(), c.getString("pekko.remote.artery.ssl.ssl-engine-provider"));
        ClusterTlsEngineProvider provider = new ClusterTlsEngineProvider(TlsSettings.from(c, ClusterTlsEngineProvider.KEY));
        SSLEngine server = provider.createServerSSLEngine("127.0.0.1", 25520);
        assertTrue(server.getNeedClientAuth(), "a peer without the cluster's certificate is refused");
        assertTrue(provider.createClientSSLEngine("127.0.0.1", 25520).getUseClientMode());
    }

    @Test
    void shouldStopANodeWhoseClusterKeyCannotBeReadNamingTheFile() {
        Path missing = dir.resolve("missing.key");
        TlsConfigException e = assertThrows(TlsConfigException.class, () -> apply("--cluster-cert",
                dir.resolve("c.pem").toString(), "--cluster-key", missing.toString()));
        assertTrue(e.getMessage().contains("c.pem") && e.getMessage().contains("does not exist"), e.getMessage());
        TlsConfigException half = assertThrows(TlsConfigException.class, () -> apply("--cluster-key", missing.toString()));
        assertTrue(half.getMessage().contains("baton.cluster.tls") && half.getMessage().contains("certificate"),
                half.getMessage());
    }
}
