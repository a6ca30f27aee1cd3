package dev.baton.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The namespace hosts themselves: addresses, reachability both ways and between hosts, and a clean close. */
@Timeout(120)
class TestHostsIT {

    @BeforeAll
    static void namespacesAvailable() {
        TestHosts.assumeAvailable();
    }

    /** A tiny HTTP server (the JDK's jwebserver) in {@code host}, serving {@code dir}, on port 8000. */
    private static Process serve(TestHosts hosts, TestHosts.Host host, Path dir) throws IOException {
        Path jwebserver = Path.of(System.getProperty("java.home"), "bin", "jwebserver");
        return hosts.builder(host, jwebserver.toString(), "-b", host.address(), "-p", "8000", "-d", dir.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("server.log").toFile()).start();
    }

    private static String get(HttpClient http, String url) throws IOException, InterruptedException {
        IOException last = null;
        for (int attempt = 0; attempt < 100; attempt++) { // about 10 s for the server to start
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
                        .build(), HttpResponse.BodyHandlers.ofString());
                return r.body();
            } catch (IOException e) {
                last = e;
                Thread.sleep(100);
            }
        }
        throw last;
    }

    @Test
    void shouldReachEveryHostFromTheRootAndFromTheOtherHosts(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("hello.txt"), "hello from a namespace");
        try (TestHosts hosts = TestHosts.create(2)) {
            TestHosts.Host a = hosts.host(0);
            TestHosts.Host b = hosts.host(1);
            assertNotEquals(a.address(), b.address());
            assertNotEquals(a.namespace(), b.namespace());
            assertTrue(hosts.run(a, Duration.ofSeconds(10), "ip", "-o", "-4", "addr").contains(a.address() + "/24"),
                    "host 0 has its address");

            Process server = serve(hosts, a, dir);
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            assertEquals("hello from a namespace", get(http, "http://" + a.address() + ":8000/hello.txt"),
                    "the root namespace reaches host 0");
            // host 1 reaches host 0 (curl inside host 1's namespace)
            String fromB = hosts.run(b, Duration.ofSeconds(20), "curl", "-sS", "--retry", "5", "--retry-connrefused",
                    "http://" + a.address() + ":8000/hello.txt");
            assertEquals("hello from a namespace", fromB);
            assertFalse(hosts.run(a, Duration.ofSeconds(10), "ip", "-o", "-4", "addr").contains("192.0.2."),
                    "the namespace holds none of the machine's own addresses");
            // ip netns exec execs the command: the server's pid is in host 0's namespace, not in host 1's
            assertTrue(hosts.pids(a).contains(server.pid()), "the server runs inside host 0's namespace");
            assertFalse(hosts.pids(b).contains(server.pid()), "and not inside host 1's");
        }
    }

    @Test
    void shouldKillProcessesAndRemoveNamespacesOnClose(@TempDir Path dir) throws Exception {
        TestHosts hosts = TestHosts.create(1);
        TestHosts.Host a = hosts.host(0);
        Process sleeper = hosts.exec(a, "sleep", "300");
        for (int i = 0; i < 50 && hosts.pids(a).isEmpty(); i++) {
            Thread.sleep(100);
        }
        List<Long> pids = hosts.pids(a);
        assertFalse(pids.isEmpty(), "sleep runs in the namespace");
        hosts.close();
        assertTrue(sleeper.waitFor(10, java.util.concurrent.TimeUnit.SECONDS), "close() killed the process");
        Process list = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
        String namespaces = new String(list.getInputStream().readAllBytes());
        assertFalse(namespaces.lines().anyMatch(l -> l.split(" ")[0].equals(a.namespace())),
                "namespace deleted: " + namespaces);
        Process links = new ProcessBuilder("ip", "-o", "-4", "addr").redirectErrorStream(true).start();
        String addrs = new String(links.getInputStream().readAllBytes());
        assertFalse(addrs.contains(" " + hosts.gateway() + "/24"), "bridge address removed: " + addrs);
        hosts.close(); // idempotent
    }
}
