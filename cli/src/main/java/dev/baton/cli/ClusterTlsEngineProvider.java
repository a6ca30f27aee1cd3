package dev.baton.cli;

import dev.baton.router.tls.KeyMaterial;
import dev.baton.router.tls.TlsSettings;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import scala.Option;

/**
 * Artery's TLS ({@code pekko.remote.artery.transport = tls-tcp}) from {@code baton.cluster.tls}: every node
 * presents its key and certificate, and both sides of every connection require the other's certificate to
 * chain to {@code trust} (when it is not set: to this node's own certificate, for a cluster whose nodes share
 * one). A node without such a certificate fails the handshake, so it can neither join nor send a message.
 * Host names are not checked: nodes are addressed by IP and the trust is in the cluster's certificate.
 *
 * <p>Pekko creates one per actor system through its {@code (ActorSystem)} constructor
 * ({@code pekko.remote.artery.ssl.ssl-engine-provider}, set by {@link ClusterOptions}). Thread-safe.
 */
public final class ClusterTlsEngineProvider implements SSLEngineProvider {

    static final String KEY = "baton.cluster.tls";
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final SSLContext context;

    public ClusterTlsEngineProvider(ActorSystem system) {
        this(TlsSettings.from(system.settings().config(), KEY));
    }

    ClusterTlsEngineProvider(TlsSettings settings) {
        KeyMaterial own = settings.keyMaterial();
        context = own.sslContext(KeyMaterial.trustManagers(settings.trusted(own)));
    }

    @Override
    public SSLEngine createServerSSLEngine(String hostname, int port) {
        SSLEngine e = context.createSSLEngine();
        e.setUseClientMode(false);
        e.setNeedClientAuth(true);
        e.setEnabledProtocols(PROTOCOLS);
        return e;
    }

    @Override
    public SSLEngine createClientSSLEngine(String hostname, int port) {
        SSLEngine e = context.createSSLEngine(hostname, port);
        e.setUseClientMode(true);
        e.setEnabledProtocols(PROTOCOLS);
        return e;
    }

    @Override
    public Option<Throwable> verifyClientSession(String hostname, SSLSession session) {
        return Option.empty(); // the trust managers checked the chain during the handshake
    }

    @Override
    public Option<Throwable> verifyServerSession(String hostname, SSLSession session) {
        return Option.empty();
    }
}
