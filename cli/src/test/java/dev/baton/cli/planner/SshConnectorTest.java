package dev.baton.cli.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.cli.deploy.DeployNode;
import dev.baton.cli.deploy.Inventory;
import dev.baton.cli.deploy.InventoryException;
import dev.baton.cli.deploy.PlannerSlots;
import dev.baton.planner.PlannerConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ssh connector's planning against an inventory with planner blocks: the slots' ids and ports, which slot a new
 * node takes, and the refusal of bad planner blocks. No ssh is run: slot states are given.
 */
class SshConnectorTest {

    @TempDir
    Path dir;

    private static final String HOSTS = """
            hosts = [
              { address = "10.0.0.1", roles { router = 1, prefill = 1 }, planner { prefill = 2 } }
              { address = "10.0.0.2", roles { decode = 1 }, planner { prefill = 1, decode = 2 } }
              { address = "10.0.0.3", roles { decode = 1 }, planner { decode = 1 } }
            ]
            """;

    private Path write(String hosts) throws IOException {
        return Files.writeString(dir.resolve("inventory.conf"), "baton-home = \"/opt/baton\"\nmodel = \"/models/m.gguf\"\n" + hosts);
    }

    private Inventory inventory() throws IOException {
        return Inventory.load(write(HOSTS));
    }

    private static String plan(DeployNode n) {
        return n.id() + "@" + n.host().address() + " " + n.clusterPort() + " " + n.port() + " " + n.kvPort();
    }

    @Test
    void shouldPlanSlotsAfterEachHostsInventoryNodes() throws IOException {
        assertEquals(List.of(
                "prefill-2@10.0.0.1 25522 9101 21002", "prefill-3@10.0.0.1 25523 9102 21004",
                "prefill-4@10.0.0.2 25521 9101 21002", "decode-3@10.0.0.2 25522 9102 21004", "decode-4@10.0.0.2 25523 9103 21006",
                "decode-5@10.0.0.3 25521 9101 21002"),
                inventory().plannerSlots().stream().map(SshConnectorTest::plan).toList());
        // the inventory's own nodes are planned as before
        assertEquals(List.of("router@10.0.0.1 25520 8000 0", "prefill-1@10.0.0.1 25521 9100 21000",
                "decode-1@10.0.0.2 25520 9100 21000", "decode-2@10.0.0.3 25520 9100 21000"),
                inventory().nodes().stream().map(SshConnectorTest::plan).toList());
    }

    @Test
    void shouldStartTheSlotsNodeWithTheDeploysArguments() throws IOException {
        Inventory inv = inventory();
        DeployNode slot = inv.plannerSlots().get(2);
        assertEquals(List.of("prefill", "--host", "10.0.0.2", "--cluster-port", "25521", "--seed", "10.0.0.1:25520",
                "--node-id", "prefill-4", "--model", "/models/m.gguf", "--metrics-port", "9101", "--kv-port", "21002",
                "--kv-reply-port", "21003"), slot.arguments(inv, List.of()));
    }

    @Test
    void shouldPutANewNodeOnTheHostWithTheFewestNodes() throws IOException {
        Inventory inv = inventory();
        List<DeployNode> slots = inv.plannerSlots();
        Map<DeployNode, PlannerSlots.State> states = new HashMap<>();
        slots.forEach(s -> states.put(s, PlannerSlots.State.FREE));
        List<String> order = new java.util.ArrayList<>();
        for (DeployNode n; (n = SshConnector.choose(inv, slots, states, DeployNode.Role.PREFILL)) != null; ) {
            order.add(n.id());
            states.put(n, PlannerSlots.State.RUNNING);
        }
        // 10.0.0.2 has one node, 10.0.0.1 two; then a tie (two each) goes to the earlier host
        assertEquals(List.of("prefill-4", "prefill-2", "prefill-3"), order);
    }

    @Test
    void shouldCountRunningSlotsOfAnyRoleAsLoad() throws IOException {
        Inventory inv = inventory();
        List<DeployNode> slots = inv.plannerSlots();
        Map<DeployNode, PlannerSlots.State> states = new HashMap<>();
        slots.forEach(s -> states.put(s, PlannerSlots.State.FREE));
        states.put(slots.get(3), PlannerSlots.State.RUNNING); // decode-3 on 10.0.0.2: two nodes there now
        assertEquals("decode-5", SshConnector.choose(inv, slots, states, DeployNode.Role.DECODE).id());
    }

    @Test
    void shouldSkipAHostThatCouldNotBeAsked() throws IOException {
        Inventory inv = inventory();
        List<DeployNode> slots = inv.plannerSlots();
        Map<DeployNode, PlannerSlots.State> states = new HashMap<>();
        slots.forEach(s -> states.put(s, s.host().address().equals("10.0.0.2") ? PlannerSlots.State.UNKNOWN
                : PlannerSlots.State.FREE));
        assertEquals("prefill-2", SshConnector.choose(inv, slots, states, DeployNode.Role.PREFILL).id());
        states.replaceAll((s, st) -> st == PlannerSlots.State.FREE ? PlannerSlots.State.RUNNING : st);
        assertNull(SshConnector.choose(inv, slots, states, DeployNode.Role.PREFILL), "every slot taken");
    }

    @Test
    void shouldRefuseThePlannerStartingARouter() throws IOException {
        Path f = write("hosts = [ { address = \"10.0.0.1\", roles { router = 1, worker = 1 }, planner { router = 1 } } ]");
        InventoryException e = assertThrows(InventoryException.class, () -> Inventory.load(f));
        assertTrue(e.getMessage().contains("hosts[0].planner.router is not a role the planner starts"), e.getMessage());
    }

    @Test
    void shouldRefuseABadPlannerCount() throws IOException {
        Path f = write("hosts = [ { address = \"10.0.0.1\", roles { router = 1, worker = 1 }, planner { worker = many } } ]");
        InventoryException e = assertThrows(InventoryException.class, () -> Inventory.load(f));
        assertTrue(e.getMessage().contains("hosts[0].planner.worker must be a count"), e.getMessage());
    }

    @Test
    void shouldStillRefuseUnknownHostKeys() throws IOException {
        Path f = write("hosts = [ { address = \"10.0.0.1\", roles { router = 1, worker = 1 }, planer { worker = 1 } } ]");
        InventoryException e = assertThrows(InventoryException.class, () -> Inventory.load(f));
        assertTrue(e.getMessage().contains("unknown key 'hosts[0].planer'"), e.getMessage());
    }

    @Test
    void shouldRefuseAnInventoryWithoutPlannerSlots() throws IOException {
        Path f = write("hosts = [ { address = \"10.0.0.1\", roles { router = 1, worker = 1 } } ]");
        Config root = ConfigFactory.parseString("baton.planner.ssh.inventory = \"" + f + "\"")
                .withFallback(ConfigFactory.defaultReference());
        PlannerConfigException e = assertThrows(PlannerConfigException.class, () -> SshConnector.create(root));
        assertTrue(e.getMessage().startsWith("baton.planner.ssh.inventory: no host of"), e.getMessage());
    }

    @Test
    void shouldRefuseAnEmptyInventoryKey() {
        PlannerConfigException e = assertThrows(PlannerConfigException.class,
                () -> SshConnector.create(ConfigFactory.defaultReference()));
        assertTrue(e.getMessage().startsWith("baton.planner.ssh.inventory: empty"), e.getMessage());
    }
}
