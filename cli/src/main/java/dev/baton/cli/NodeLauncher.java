package dev.baton.cli;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a Baton process ({@code router}, {@code prefill}, ...) on this host the way {@code bin/baton up} does:
 * the same java binary, JVM flags, AOT cache (when this process runs with one) and class path as this process, in a
 * session of its own ({@code setsid}, so a
 * Ctrl-C in the terminal that started it does not stop it), stdin from /dev/null, stdout and stderr to one log
 * file. Used by {@code bin/baton up} and the planner's local connector. Stateless and thread-safe.
 */
public final class NodeLauncher {

    private NodeLauncher() {}

    /**
     * Starts {@code bin/baton ARGS} as a separate JVM.
     *
     * @param log  the log file (created or truncated)
     * @param heap the JVM heap ({@code -Xmx} value, e.g. {@code 1g})
     * @param args the subcommand and its options
     * @return the started process (its pid is the node's: setsid execs in place)
     */
    public static Process start(Path log, String heap, List<String> args) throws IOException {
        return new ProcessBuilder(command(heap, args)).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    }

    /** The command line {@link #start} runs. */
    static List<String> command(String heap, List<String> args) {
        return command(ProcessHandle.current().info().command().orElse("java"),
                ManagementFactory.getRuntimeMXBean().getInputArguments(), System.getProperty("java.class.path"), heap, args);
    }

    /**
     * The command line for a JVM started as {@code java JVM-ARGS} with {@code classPath}: its module, access and GC
     * flags, its {@code baton.*} properties and its AOT cache options ({@code -XX:AOTCache}, checked by bin/baton
     * against this JDK, these flags and these jars, which the node shares), with its own heap.
     */
    static List<String> command(String java, List<String> jvmArgs, String classPath, String heap, List<String> args) {
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid");
        }
        cmd.add(java);
        cmd.add("-Xmx" + heap);
        for (String a : jvmArgs) {
            if (a.startsWith("--add-") || a.startsWith("--enable-native-access") || a.startsWith("--sun-misc")
                    || a.startsWith("-Dbaton.") || a.startsWith("-Dchronicle.") || a.startsWith("-XX:+Use")
                    || a.startsWith("-XX:AOTCache=") || a.equals("-XX:+VerifySharedSpaces") || a.startsWith("-Xlog:aot")) {
                cmd.add(a);
            }
        }
        cmd.addAll(List.of("-cp", classPath, Baton.class.getName()));
        cmd.addAll(args);
        return cmd;
    }
}
