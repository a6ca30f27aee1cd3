package dev.baton.cli.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InventoryTest {

    @TempDir
    Path dir;

    private static final String BASE = """
            baton-home = "/opt/baton"
            model = "/models/m.gguf"
            """;

    private Inventory load(String text) throws Exception {
        Path f = dir.resolve("inventory.conf");
        Files.writeString(f, text);
        return Inventory.load(f);
    }

    private String error(String text) {
        return assertThrows(InventoryException.class, () -> load(text)).getMessage();
    }

    private static final String FIVE_HOSTS = BASE + """
            heap = "384m"
            threads = 1
            ssh { user = root, options = ["StrictHostKeyChecking=no"] }
            hosts = [
              { address = "10.0.0.10", roles { router = 1 } }
              { address = "10.0.0.11", roles { prefill = 1 } }
              { address = "10.0.0.12", roles { prefill = 1 } }
              { address = "10.0.0.13", roles { decode = 1 }, ports { metrics = 9200 } }
              { address = "10.0.0.14", roles { decode = 1 }, ssh { port = 2222 } }
            ]
            """;

    @Test
    void shouldPlanTheRouterFirstThenEachHostsNodesWithTheirPorts() throws Exception {
        Inventory inv = load(FIVE_HOSTS);
        List<DeployNode> nodes = inv.nodes();
        assertEquals(List.of("router", "prefill-1", "prefill-2", "decode-1", "decode-2"),
                nodes.stream().map(DeployNode::id).toList());
        assertEquals("10.0.0.10:25520", inv.seed());
        assertEquals(8000, nodes.get(0).port());
        assertEquals(9100, nodes.get(1).port());
        assertEquals(9200, nodes.get(3).port(), "a host's ports override the defaults");
        assertEquals(21000, nodes.get(3).kvPort(), "ports it does not name keep the defaults");
        assertEquals(25520, nodes.get(1).clusterPort(), "the first node of a host without the router");
        assertEquals("http://10.0.0.13:9200/ready", nodes.get(3).readyUri().toString());
        assertEquals(2222, nodes.get(4).host().ssh().port());
        assertEquals("root", nodes.get(4).host().ssh().user(), "a host's ssh block overrides only what it names");
        assertEquals(22, nodes.get(1).host().ssh().port());
        assertEquals("root@10.0.0.11", nodes.get(1).host().sshTarget());
        assertEquals("/opt/baton/run/deploy", inv.effectiveRunDir());
        assertEquals(Duration.ofSeconds(75), inv.stopGrace());
    }

    @Test
    void shouldBuildTheNodeCommandLinesOfTheAddressingInterface() throws Exception {
        Inventory inv = load(FIVE_HOSTS);
        assertEquals(List.of("prefill", "--host", "10.0.0.11", "--cluster-port", "25520", "--seed", "10.0.0.10:25520",
                "--node-id", "prefill-1", "--model", "/models/m.gguf", "--threads", "1", "--metrics-port", "9100",
                "--kv-port", "21000", "--kv-reply-port", "21001"), inv.nodes().get(1).arguments(inv, List.of()));
        assertEquals(List.of("router", "--host", "10.0.0.10", "--cluster-port", "25520", "--seed", "10.0.0.11:25520",
                "--seed", "10.0.0.12:25520", "--node-id", "router", "--model", "/models/m.gguf", "--threads", "1",
                "--http-host", "10.0.0.10", "--port", "8000"), inv.nodes().get(0).arguments(inv, List.of("10.0.0.11:25520",
                "10.0.0.12:25520")));
    }

    @Test
    void shouldGiveTheDraftModelToTheDecodeNodesOnly() throws Exception {
        Inventory inv = load(FIVE_HOSTS + "draft-model = \"/models/draft.gguf\"\n");
        for (DeployNode n : inv.nodes()) {
            List<String> args = n.arguments(inv, List.of());
            boolean decode = n.id().startsWith("decode");
            assertEquals(decode, args.contains("--draft-model"), n.id() + ": " + args);
            if (decode) {
                assertEquals("/models/draft.gguf", args.get(args.indexOf("--draft-model") + 1));
            }
        }
        Inventory plain = load(FIVE_HOSTS);
        assertTrue(plain.nodes().stream().noneMatch(n -> n.arguments(plain, List.of()).contains("--draft-model")),
                "no draft model by default");
    }

    @Test
    void shouldGiveSeveralNodesOnOneHostTheirOwnPorts() throws Exception {
        Inventory inv = load(BASE + """
                node-id-prefix = "t1-"
                hosts = [ { address = "h1", roles { router = 1, prefill = 2, decode = 1 }, bind = "0.0.0.0" } ]
                """);
        List<DeployNode> nodes = inv.nodes();
        assertEquals(List.of("t1-router", "t1-prefill-1", "t1-prefill-2", "t1-decode-1"),
                nodes.stream().map(DeployNode::id).toList());
        assertEquals(List.of(25520, 25521, 25522, 25523), nodes.stream().map(DeployNode::clusterPort).toList());
        assertEquals(List.of(8000, 9100, 9101, 9102), nodes.stream().map(DeployNode::port).toList());
        assertEquals(List.of(0, 21000, 21002, 21004), nodes.stream().map(DeployNode::kvPort).toList());
        List<String> args = nodes.get(1).arguments(inv, List.of());
        assertEquals("0.0.0.0", args.get(args.indexOf("--bind") + 1));
        assertEquals("h1", args.get(args.indexOf("--host") + 1));
        List<String> router = nodes.get(0).arguments(inv, List.of());
        assertEquals("0.0.0.0", router.get(router.indexOf("--http-host") + 1));
    }

    @Test
    void shouldNameAnUnknownTopLevelKey() {
        String msg = error(BASE + "modle = x\nhosts = [ { address = a, roles { worker = 1, router = 1 } } ]\n");
        assertTrue(msg.contains("unknown key 'modle'"), msg);
        assertTrue(msg.contains("model"), "lists the known keys: " + msg);
    }

    @Test
    void shouldNameAnUnknownKeyInsideAHost() {
        String msg = error(BASE + "hosts = [ { address = a, roles { worker = 1, router = 1 }, port { http = 1 } } ]\n");
        assertTrue(msg.contains("unknown key 'hosts[0].port'"), msg);
    }

    @Test
    void shouldNameAnUnknownKeyInANestedBlock() {
        String msg = error(BASE + "ssh { identity = x }\nhosts = [ { address = a, roles { worker = 1, router = 1 } } ]\n");
        assertTrue(msg.contains("unknown key 'ssh.identity'"), msg);
        msg = error(BASE + "hosts = [ { address = a, roles { worker = 1, router = 1 }, ports { metric = 1 } } ]\n");
        assertTrue(msg.contains("unknown key 'hosts[0].ports.metric'"), msg);
    }

    @Test
    void shouldNameAnUnknownRole() {
        String msg = error(BASE + "hosts = [ { address = a, roles { router = 1, prefil = 1, decode = 1 } } ]\n");
        assertTrue(msg.contains("hosts[0].roles.prefil is not a role"), msg);
    }

    @Test
    void shouldRequireExactlyOneRouter() {
        assertTrue(error(BASE + "hosts = [ { address = a, roles { worker = 1 } } ]\n").contains("exactly one host"));
        assertTrue(error(BASE + "hosts = [ { address = a, roles { router = 2, worker = 1 } } ]\n")
                .contains("hosts[0].roles.router must be 0 to 1"));
    }

    @Test
    void shouldRequirePrefillAndDecodeTogether() {
        String msg = error(BASE + "hosts = [ { address = a, roles { router = 1, prefill = 1 } } ]\n");
        assertTrue(msg.contains("prefill and decode nodes together"), msg);
    }

    @Test
    void shouldRequireTheBatonHomeAndTheModel() {
        String hosts = "hosts = [ { address = a, roles { router = 1, worker = 1 } } ]\n";
        assertTrue(error("model = m\n" + hosts).contains("baton-home must be set"));
        assertTrue(error("baton-home = /x\n" + hosts).contains("model must be set"));
        assertTrue(error("baton-home = x\nmodel = m\n" + hosts).contains("baton-home must be an absolute path"));
    }

    @Test
    void shouldRejectTwoNodesOnOnePort() {
        String msg = error(BASE + """
                hosts = [ { address = a, roles { router = 1, worker = 1 }, ports { metrics = 25521 } } ]
                """);
        assertTrue(msg.contains("worker-1's metrics port a:25521 is also worker-1's cluster port"), msg);
    }

    @Test
    void shouldRejectBadValuesNamingTheKey() {
        String hosts = "hosts = [ { address = a, roles { router = 1, worker = 1 } } ]\n";
        assertTrue(error(BASE + "heap = lots\n" + hosts).contains("heap must be a JVM heap size"));
        assertTrue(error(BASE + "cluster-port = 70000\n" + hosts).contains("cluster-port must be a port"));
        assertTrue(error(BASE + "ssh { identity-file = /no/such/key }\n" + hosts).contains("ssh.identity-file no such file"));
        assertTrue(error(BASE + "ssh { options = [\"-v\"] }\n" + hosts).contains("ssh.options each option must be NAME=VALUE"));
        assertTrue(error(BASE + "environment { \"A-B\" = 1 }\n" + hosts).contains("environment.A-B is not a valid"));
        assertTrue(error(BASE + "hosts = [ { roles { router = 1, worker = 1 } } ]\n").contains("hosts[0].address must be set"));
        assertTrue(error(BASE + "hosts = []\n").contains("hosts must list at least one host"));
        assertTrue(error(BASE + "hosts = [ { address = a, roles { router = 1, worker = -1 } } ]\n")
                .contains("hosts[0].roles.worker must be 0 to 64"));
        assertTrue(error(BASE + "stop-grace = 0s\n" + hosts).contains("stop-grace must be positive"));
    }

    @Test
    void shouldReportAMissingFileAndHoconSyntaxErrors() {
        String missing = assertThrows(InventoryException.class, () -> Inventory.load(dir.resolve("nope.conf"))).getMessage();
        assertTrue(missing.contains("inventory file not found"), missing);
        String syntax = error("hosts = [ {\n");
        assertTrue(syntax.startsWith("inventory " + dir.resolve("inventory.conf")), syntax);
    }

    @Test
    void shouldParseTheExampleInventory() throws Exception {
        Path example = Path.of(System.getProperty("baton.home", "..")).resolve("deploy/hosts/inventory.conf");
        Inventory inv = Inventory.load(example.toAbsolutePath().normalize());
        assertEquals(5, inv.nodes().size());
        assertEquals(5, inv.hosts().size());
    }
}
