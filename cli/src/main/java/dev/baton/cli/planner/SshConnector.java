package dev.baton.cli.planner;

import static dev.baton.cli.planner.ConnectorConfig.key;

import com.typesafe.config.Config;
import dev.baton.cli.deploy.DeployNode;
import dev.baton.cli.deploy.Inventory;
import dev.baton.cli.deploy.InventoryException;
import dev.baton.cli.deploy.PlannerSlots;
import dev.baton.planner.NodeConnector;
import dev.baton.planner.PlannerConfigException;
import dev.baton.planner.Pool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code connector = ssh}: starts nodes on the hosts of a deploy inventory ({@code bin/baton deploy}), in the
 * slots each host's {@code planner} block gives ({@link Inventory#plannerSlots()}: ids and ports planned as the
 * inventory's own nodes are), with the deploy's own start and stop scripts over ssh ({@link PlannerSlots}).
 *
 * <p>start asks the hosts which slots run (so slots taken before a router restart stay taken) and puts each new
 * node on the host with the fewest nodes (inventory nodes and running slots, any role) that has a free slot of its
 * role, the earlier host on a tie. drain goes through the cluster: the node exits and its slot is free again.
 * abandon stops, oldest first, nodes this connector started that are not ready. Calls block for their ssh round
 * trips. Not thread-safe (one planner thread).
 */
public final class SshConnector implements NodeConnector {

    private static final Logger LOG = LoggerFactory.getLogger(SshConnector.class);
    private static final String KEY = "baton.planner.ssh.inventory";

    private final PlannerSlots hosts;
    private final List<DeployNode> started = new ArrayList<>();

    SshConnector(PlannerSlots hosts) {
        this.hosts = hosts;
    }

    /** The connector for {@code baton.planner.ssh} of {@code root}; refuses a missing or invalid inventory. */
    public static SshConnector create(Config root) {
        String file = key(KEY, () -> root.getString(KEY).strip());
        if (file.isEmpty()) {
            throw new PlannerConfigException(KEY + ": empty; set the deploy inventory (bin/baton deploy --inventory) whose"
                    + " hosts' planner blocks say where nodes may be started");
        }
        PlannerSlots slots;
        try {
            slots = PlannerSlots.load(Path.of(file));
        } catch (InventoryException e) {
            throw new PlannerConfigException(KEY + ": " + e.getMessage(), e);
        }
        if (slots.slots().isEmpty()) {
            throw new PlannerConfigException(KEY + ": no host of " + file + " has a planner block (e.g. planner { prefill = 2,"
                    + " decode = 2 }): the planner could start no node there");
        }
        return new SshConnector(slots);
    }

    @Override
    public String name() {
        return "ssh";
    }

    @Override
    public void start(Pool pool, int count) {
        DeployNode.Role role = role(pool);
        List<DeployNode> all = hosts.slots();
        if (all.stream().noneMatch(n -> n.role() == role)) {
            throw new IllegalStateException("no host of inventory " + hosts.inventory().source() + " has planner { "
                    + role.command() + " = N }: no " + role.command() + " node can be started");
        }
        Map<DeployNode, PlannerSlots.State> states = new HashMap<>(hosts.states(all));
        for (int i = 0; i < count; i++) {
            DeployNode slot = choose(hosts.inventory(), all, states, role);
            if (slot == null) {
                throw new IllegalStateException("no free " + role.command() + " slot in inventory "
                        + hosts.inventory().source() + " (started " + i + " of " + count + "; every host's planner "
                        + role.command() + " slots run or the host cannot be reached)");
            }
            hosts.start(slot);
            states.put(slot, PlannerSlots.State.RUNNING);
            started.add(slot);
            LOG.info("planner: started {} on {}", slot.id(), slot.host().address());
        }
    }

    /**
     * The slot a new {@code role} node takes: on the host with the fewest nodes (its inventory nodes and its running
     * or unknown slots) among those with a free {@code role} slot, the earlier host on a tie; the host's first free
     * slot. A host that could not be asked offers none. Null when no slot is free.
     */
    static DeployNode choose(Inventory inventory, List<DeployNode> slots, Map<DeployNode, PlannerSlots.State> states,
            DeployNode.Role role) {
        DeployNode best = null;
        int bestLoad = Integer.MAX_VALUE;
        for (Inventory.Host h : inventory.hosts()) {
            List<DeployNode> own = slots.stream().filter(s -> s.host().equals(h)).toList();
            if (own.stream().anyMatch(s -> states.getOrDefault(s, PlannerSlots.State.UNKNOWN) == PlannerSlots.State.UNKNOWN)) {
                continue;
            }
            DeployNode free = own.stream().filter(s -> s.role() == role && states.get(s) == PlannerSlots.State.FREE)
                    .findFirst().orElse(null);
            if (free == null) {
                continue;
            }
            int load = h.roles().values().stream().mapToInt(Integer::intValue).sum()
                    + (int) own.stream().filter(s -> states.get(s) == PlannerSlots.State.RUNNING).count();
            if (load < bestLoad) {
                best = free;
                bestLoad = load;
            }
        }
        return best;
    }

    @Override
    public void drain(Pool pool, String nodeId, Runnable viaCluster) {
        viaCluster.run();
        started.removeIf(n -> n.id().equals(nodeId));
    }

    @Override
    public void abandon(Pool pool, int count, Set<String> readyNodeIds) {
        DeployNode.Role role = role(pool);
        List<DeployNode> stop = started.stream().filter(n -> n.role() == role && !readyNodeIds.contains(n.id()))
                .limit(count).toList();
        if (stop.isEmpty()) {
            return;
        }
        started.removeAll(stop);
        LOG.info("planner: stopping {}: not ready in time", stop.stream().map(DeployNode::id).toList());
        hosts.stop(stop);
    }

    /** The nodes this connector started and still counts, oldest first. */
    List<DeployNode> started() {
        return List.copyOf(started);
    }

    private static DeployNode.Role role(Pool pool) {
        return DeployNode.Role.valueOf(pool.name());
    }
}
