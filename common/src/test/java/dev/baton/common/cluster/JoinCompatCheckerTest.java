package dev.baton.common.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The join check on real actor systems on loopback: a seed without a tuple (as the router), a first engine
 * node that sets the cluster's tuple, then a node with another block size (refused, told why, stopped) and a
 * matching one (let in).
 */
@Timeout(90)
class JoinCompatCheckerTest {

    private final List<ActorSystem<Void>> systems = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (ActorSystem<Void> s : systems.reversed()) {
            s.terminate();
            s.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void shouldRefuseAnEngineNodeWithAnotherBlockSizeAtJoinAndTellItWhy() throws Exception {
        int seedPort = freePort();
        String seed = "pekko://baton@127.0.0.1:" + seedPort;
        ActorSystem<Void> router = start(seedPort, seed, null);
        awaitUp(router, 1);
        ActorSystem<Void> first = start(freePort(), seed, PeerCompatibilityTest.BASE);
        awaitUp(router, 2);

        PeerCompatibility wrong = new PeerCompatibility("oracle-tiny", PeerCompatibilityTest.TINY, "F32", 32,
                PeerCompatibilityTest.BASE.kvLayout(), 1);
        ActorSystem<Void> refused = start(freePort(), seed, wrong);
        JoinRefusals heard = JoinRefusals.start(refused, "decode test");
        refused.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(CoordinatedShutdown.incompatibleConfigurationDetectedReason(),
                CoordinatedShutdown.get(refused).getShutdownReason().orElse(null), "Pekko stopped the refused node");
        assertNotNull(heard.reason(), "the refused node heard why");
        assertEquals("block size 32 (the cluster's: 16)", heard.reason().reason());
        assertEquals(Cluster.get(router).selfMember().address().toString(), heard.reason().by());
        for (Member m : Cluster.get(router).state().getMembers()) {
            assertFalse(m.address().equals(refused.address()), "never a member: " + m);
        }

        ActorSystem<Void> matching = start(freePort(), seed, PeerCompatibilityTest.BASE);
        awaitUp(router, 3);
        assertEquals(MemberStatus.up(), Cluster.get(first).selfMember().status());
        assertTrue(Cluster.get(matching).selfMember().status() == MemberStatus.up()
                || Cluster.get(matching).selfMember().status() == MemberStatus.joining());
    }

    private ActorSystem<Void> start(int port, String seed, PeerCompatibility compat) {
        Config c = ConfigFactory.parseString("""
                pekko.actor.provider = cluster
                pekko.remote.artery.canonical { hostname = "127.0.0.1", port = %d }
                pekko.cluster.seed-nodes = ["%s"]
                pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                pekko.cluster.downing-provider-class = ""
                pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
                pekko.loglevel = WARNING
                """.formatted(port, seed)).withFallback(ConfigFactory.load());
        if (compat != null) {
            c = compat.addTo(c, "pekko://baton@127.0.0.1:" + port);
        }
        ActorSystem<Void> s = ActorSystem.create(Behaviors.empty(), "baton", c);
        systems.add(s);
        return s;
    }

    private static void awaitUp(ActorSystem<Void> observer, int members) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            int up = 0;
            for (Member m : Cluster.get(observer).state().getMembers()) {
                up += m.status() == MemberStatus.up() ? 1 : 0;
            }
            if (up >= members) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "fewer than " + members + " members up");
            Thread.sleep(100);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
