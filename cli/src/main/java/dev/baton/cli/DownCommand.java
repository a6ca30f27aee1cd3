package dev.baton.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;

/** {@code bin/baton down}: stops the cluster {@code bin/baton up} started (SIGTERM, then SIGKILL after 20 s). */
@Command(name = "down", mixinStandardHelpOptions = true, description = "Stop the local cluster started by bin/baton up.")
final class DownCommand implements Callable<Integer> {

    @Override
    public Integer call() throws Exception {
        Path home = Path.of(System.getProperty("baton.home", ".")).toAbsolutePath().normalize();
        Path pids = home.resolve("run/current/pids");
        if (!Files.exists(pids)) {
            System.err.println("baton: no cluster to stop (no " + pids + ")");
            return 0;
        }
        int stopped = stop(pids);
        System.err.println("baton: stopped " + stopped + " process(es)");
        return 0;
    }

    /**
     * Stops every live process listed in {@code pids}; returns how many were running. The file is read again
     * afterwards, a few times: the router's planner may have started a node (and listed it) while the first
     * ones were stopping.
     */
    static int stop(Path pids) throws IOException, InterruptedException {
        int stopped = 0;
        for (int round = 0; round < 3; round++) {
            int n = stopOnce(pids);
            stopped += n;
            if (n == 0) {
                break;
            }
        }
        return stopped;
    }

    private static int stopOnce(Path pids) throws IOException, InterruptedException {
        List<ProcessHandle> live = new ArrayList<>();
        for (String line : Files.readAllLines(pids)) {
            if (!line.isBlank()) {
                ProcessHandle.of(Long.parseLong(line.trim())).filter(ProcessHandle::isAlive).ifPresent(live::add);
            }
        }
        // nodes first, the router (first line) last, so streams end with an error rather than hang
        for (int i = live.size() - 1; i >= 0; i--) {
            live.get(i).destroy();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (ProcessHandle p : live) {
            while (p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
        return live.size();
    }
}
