package dev.baton.cli.deploy;

import static dev.baton.cli.deploy.Ssh.quote;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The POSIX shell scripts {@code bin/baton deploy} runs on a host (with {@code sh -s} over ssh). Pure functions of
 * the inventory: they build text and run nothing.
 *
 * <p>On a host, node {@code ID} keeps {@code RUN/ID.log} (appended to, one header line per start) and
 * {@code RUN/ID.pid}, where {@code RUN} is the inventory's run directory. A node counts as running when its pid
 * file names a live process whose command line holds {@code --node-id ID} (so a pid reused by another process
 * after a crash is not taken for the node).
 */
final class NodeScripts {

    /** Exit code of {@link #preflight} and {@link #start} when the host lacks something; the output says what. */
    static final int MISSING = 3;
    /** Exit code of {@link #start} when the node runs already. */
    static final int ALREADY_RUNNING = 4;

    private NodeScripts() {}

    /** Defines {@code RUN} and {@code alive ID} (prints the node's pid and succeeds when it runs). */
    private static String prelude(Inventory inventory) {
        return "RUN=" + quote(inventory.effectiveRunDir()) + "\n"
                + "alive() {\n"
                + "  f=\"$RUN/$1.pid\"; [ -s \"$f\" ] || return 1\n"
                + "  p=$(cat \"$f\"); kill -0 \"$p\" 2>/dev/null || return 1\n"
                + "  if [ -r \"/proc/$p/cmdline\" ]; then\n"
                + "    tr '\\000' ' ' < \"/proc/$p/cmdline\" | grep -qF -e \"--node-id $1 \" || return 1\n"
                + "  fi\n"
                + "  echo \"$p\"\n"
                + "}\n";
    }

    /**
     * Checks that the host can run nodes: {@code bin/baton} and a built distribution in the Baton home, the model
     * (and config) file, a writable run directory. Prints one line per problem and exits {@link #MISSING} if any.
     */
    static String preflight(Inventory inventory) {
        String home = quote(inventory.batonHome());
        StringBuilder s = new StringBuilder(prelude(inventory));
        s.append("bad=0\n");
        s.append("problem() { echo \"$1\"; bad=1; }\n");
        s.append("[ -x ").append(home).append("/bin/baton ] || problem ")
                .append(quote("no executable bin/baton in baton-home " + inventory.batonHome())).append('\n');
        s.append("[ -d ").append(home).append("/cli/target/dist/lib ] || problem ")
                .append(quote("no built distribution in " + inventory.batonHome()
                        + "/cli/target/dist (run bin/build -DskipTests package there)")).append('\n');
        s.append("[ -f ").append(quote(inventory.model())).append(" ] || problem ")
                .append(quote("model file not found: " + inventory.model())).append('\n');
        if (!inventory.draftModel().isEmpty()) {
            s.append("[ -f ").append(quote(inventory.draftModel())).append(" ] || problem ")
                    .append(quote("draft model file not found: " + inventory.draftModel())).append('\n');
        }
        if (!inventory.config().isEmpty()) {
            s.append("[ -f ").append(quote(inventory.config())).append(" ] || problem ")
                    .append(quote("config file not found: " + inventory.config())).append('\n');
        }
        s.append("mkdir -p \"$RUN\" 2>/dev/null && [ -w \"$RUN\" ] || problem \"cannot write the run directory $RUN\"\n");
        s.append("exit $((bad * ").append(MISSING).append("))\n");
        return s.toString();
    }

    /**
     * Starts {@code node} detached from the ssh session (its own session via {@code setsid}, else {@code nohup};
     * stdin from /dev/null, output appended to its log) and prints its pid. Exits {@link #ALREADY_RUNNING} (with
     * the pid) if the node runs already, {@link #MISSING} if the Baton home lacks {@code bin/baton}.
     */
    static String start(Inventory inventory, DeployNode node, List<String> seeds) {
        String id = node.id();
        String home = quote(inventory.batonHome());
        StringBuilder s = new StringBuilder(prelude(inventory));
        s.append("mkdir -p \"$RUN\" || exit ").append(MISSING).append('\n');
        s.append("cd ").append(home).append(" 2>/dev/null && [ -x bin/baton ] || { echo ")
                .append(quote("no executable bin/baton in " + inventory.batonHome())).append("; exit ").append(MISSING)
                .append("; }\n");
        s.append("if p=$(alive ").append(id).append("); then echo \"$p\"; exit ").append(ALREADY_RUNNING).append("; fi\n");
        s.append("rm -f \"$RUN/").append(id).append(".pid\"\n");
        s.append("echo \"=== $(date '+%Y-%m-%d %H:%M:%S') bin/baton deploy: starting ").append(id)
                .append("\" >> \"$RUN/").append(id).append(".log\"\n");
        s.append("if command -v setsid >/dev/null 2>&1; then DETACH=setsid; else DETACH=nohup; fi\n");
        List<String> env = new ArrayList<>();
        for (Map.Entry<String, String> e : inventory.environment().entrySet()) {
            env.add(e.getKey() + "=" + quote(e.getValue()));
        }
        env.add("BATON_SKIP_BUILD=1");
        String jvm = ("-Xmx" + inventory.heap() + " " + inventory.javaOptions()).strip();
        env.add("BATON_JVM_OPTS=" + quote(jvm));
        s.append("env ").append(String.join(" ", env)).append(" $DETACH sh -c ")
                .append(quote("echo $$ > \"$0\"; exec \"$@\"")).append(" \"$RUN/").append(id).append(".pid\" bin/baton");
        for (String a : node.arguments(inventory, seeds)) {
            s.append(' ').append(quote(a));
        }
        s.append(" >> \"$RUN/").append(id).append(".log\" 2>&1 < /dev/null &\n");
        // the pid file appears as soon as the detached shell runs
        s.append("i=0; while [ ! -s \"$RUN/").append(id).append(".pid\" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done\n");
        s.append("cat \"$RUN/").append(id).append(".pid\"\n");
        return s.toString();
    }

    /** Prints {@code ID PID} for each of {@code nodes} that runs on this host, {@code ID -} for the others. */
    static String states(Inventory inventory, List<DeployNode> nodes) {
        StringBuilder s = new StringBuilder(prelude(inventory));
        for (DeployNode n : nodes) {
            s.append("if p=$(alive ").append(n.id()).append("); then echo \"").append(n.id())
                    .append(" $p\"; else echo \"").append(n.id()).append(" -\"; fi\n");
        }
        return s.toString();
    }

    /**
     * Stops {@code nodes} (all on one host): SIGTERM to each that runs, a wait of up to the inventory's stop grace
     * for all of them, then SIGKILL to any left; removes their pid files. Prints {@code ID stopped},
     * {@code ID killed} or {@code ID not-running} per node.
     */
    static String stop(Inventory inventory, List<DeployNode> nodes) {
        long tenths = Math.max(1, inventory.stopGrace().toMillis() / 100);
        StringBuilder s = new StringBuilder(prelude(inventory));
        s.append("pids=''\n");
        for (DeployNode n : nodes) {
            String id = n.id();
            s.append("if p=$(alive ").append(id).append("); then kill -TERM \"$p\"; pids=\"$pids ").append(id)
                    .append(":$p\"; else echo \"").append(id).append(" not-running\"; rm -f \"$RUN/").append(id)
                    .append(".pid\"; fi\n");
        }
        s.append("i=0\n");
        s.append("while [ $i -lt ").append(tenths).append(" ]; do\n");
        s.append("  left=0; for e in $pids; do alive \"${e%%:*}\" >/dev/null && left=1; done\n");
        s.append("  [ $left = 0 ] && break; sleep 0.1; i=$((i+1))\n");
        s.append("done\n");
        s.append("for e in $pids; do\n");
        s.append("  id=\"${e%%:*}\"; p=\"${e#*:}\"\n");
        s.append("  if alive \"$id\" >/dev/null; then kill -KILL \"$p\"; echo \"$id killed\"; else echo \"$id stopped\"; fi\n");
        s.append("  rm -f \"$RUN/$id.pid\"\n");
        s.append("done\n");
        return s.toString();
    }

    /** Prints the last {@code lines} lines of the node's log. */
    static String tail(Inventory inventory, DeployNode node, int lines) {
        return prelude(inventory) + "tail -n " + lines + " \"$RUN/" + node.id() + ".log\" 2>/dev/null || echo \"(no log at $RUN/"
                + node.id() + ".log)\"\n";
    }
}
