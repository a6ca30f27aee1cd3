package dev.baton.cli.deploy;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/baton deploy up|status|down|restart --inventory FILE}: runs a cluster on several hosts over ssh, without
 * Kubernetes. The inventory (HOCON, see {@code deploy/hosts/inventory.conf}) lists the hosts and the nodes on each;
 * every host needs sshd, a JDK 25 and a built Baton in the inventory's {@code baton-home}.
 *
 * <pre>
 *   up       start the router (the seed), then every node, each detached on its host; wait for every /ready
 *   status   each node's process and /ready, and the router's view of the cluster; exit 1 unless all are ready
 *   down     SIGTERM every node (the router last), SIGKILL after the stop grace; remove the pid files
 *   restart  rolling: one node at a time (the router last) stop, start, wait for /ready
 * </pre>
 *
 * Exit codes: 0 done, 1 a step failed (the message names the host and node), 2 bad command line.
 */
@Command(name = "deploy", mixinStandardHelpOptions = true,
        description = "Run a cluster on several hosts over ssh, as an inventory file describes.",
        subcommands = {DeployCommand.Up.class, DeployCommand.Status.class, DeployCommand.Down.class,
            DeployCommand.Restart.class})
public final class DeployCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The option every subcommand takes. */
    static final class InventoryOption {
        @Option(names = {"-i", "--inventory"}, paramLabel = "FILE", required = true,
                description = "the inventory (HOCON): hosts, roles, ports, ssh; see deploy/hosts/inventory.conf")
        Path file;
    }

    /** Loads the inventory, runs one operation, and turns inventory and deployment errors into one clear line. */
    abstract static class Subcommand implements Callable<Integer> {

        @Mixin
        InventoryOption inventory = new InventoryOption();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        /** The operation; returns the exit code. */
        abstract int run(Deployment deployment);

        @Override
        public final Integer call() {
            CommandLine cl = spec.commandLine();
            try {
                Deployment deployment = new Deployment(Inventory.load(inventory.file), cl.getOut(), cl.getErr());
                int code = run(deployment);
                cl.getOut().flush();
                return code;
            } catch (InventoryException | DeployException e) {
                cl.getOut().flush();
                cl.getErr().println("baton deploy " + spec.name() + ": " + e.getMessage());
                cl.getErr().flush();
                return 1;
            }
        }
    }

    @Command(name = "up", mixinStandardHelpOptions = true,
            description = "Start the router, then every node, over ssh; wait until all are ready; print the cluster.")
    static final class Up extends Subcommand {
        @Override
        int run(Deployment deployment) {
            deployment.up();
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Print each node's state (process, /ready) and the cluster; exit 1 unless every node is ready.")
    static final class Status extends Subcommand {
        @Override
        int run(Deployment deployment) {
            return deployment.status() ? 0 : 1;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true,
            description = "Stop every node (SIGTERM, SIGKILL after the stop grace), the router last.")
    static final class Down extends Subcommand {
        @Override
        int run(Deployment deployment) {
            deployment.down();
            return 0;
        }
    }

    @Command(name = "restart", mixinStandardHelpOptions = true,
            description = "Rolling restart: one node at a time (the router last), stop, start, wait until ready.")
    static final class Restart extends Subcommand {
        @Override
        int run(Deployment deployment) {
            deployment.restart();
            return 0;
        }
    }
}
