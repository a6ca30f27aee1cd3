package dev.baton.cli.deploy;

import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The nodes an inventory lets the SLO planner start ({@link Inventory#plannerSlots()}: each host's {@code planner}
 * block) and the deploy operations on them, for the planner's ssh connector: the same scripts over the same ssh as
 * {@code bin/baton deploy} ({@link Deployment}). Each call blocks for its ssh round trips. Not thread-safe.
 */
public final class PlannerSlots {

    /** A slot's state on its host. */
    public enum State {
        /** no process of that node id runs */
        FREE,
        /** its process runs */
        RUNNING,
        /** its host could not be asked over ssh */
        UNKNOWN
    }

    private final Inventory inventory;
    private final Deployment deployment;

    public PlannerSlots(Inventory inventory) {
        this.inventory = inventory;
        PrintWriter quiet = new PrintWriter(Writer.nullWriter());
        this.deployment = new Deployment(inventory, quiet, quiet);
    }

    /**
     * Reads the inventory {@code file}.
     *
     * @throws InventoryException if it is missing or invalid (the message names the key)
     */
    public static PlannerSlots load(Path file) {
        return new PlannerSlots(Inventory.load(file));
    }

    public Inventory inventory() {
        return inventory;
    }

    /** Every slot, host by host. */
    public List<DeployNode> slots() {
        return inventory.plannerSlots();
    }

    /** Each of {@code slots}' state, asked over ssh (one round trip per host, hosts in parallel). */
    public Map<DeployNode, State> states(List<DeployNode> slots) {
        Map<DeployNode, State> states = new LinkedHashMap<>();
        for (Deployment.NodeStatus s : deployment.processStates(slots)) {
            states.put(s.node(), switch (s.state()) {
                case UNKNOWN -> State.UNKNOWN;
                case STOPPED -> State.FREE;
                case READY, NOT_READY -> State.RUNNING;
            });
        }
        return states;
    }

    /**
     * Starts {@code node} detached on its host, as {@code bin/baton deploy up} starts a node.
     *
     * @throws DeployException naming the node and host when it runs already or could not be started
     */
    public void start(DeployNode node) {
        deployment.start(node, List.of());
    }

    /**
     * Stops {@code nodes} as {@code bin/baton deploy down} does (SIGTERM, SIGKILL after the inventory's stop grace).
     *
     * @throws DeployException when a host could not be reached
     */
    public void stop(List<DeployNode> nodes) {
        deployment.stop(nodes);
    }
}
