package dev.baton.cli.deploy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * Runs POSIX shell scripts on a host with the OpenSSH client: {@code ssh -o BatchMode=yes ... TARGET sh -s}, the
 * script on ssh's standard input (so that it needs no quoting for the remote login shell). ssh's own failures
 * (exit 255) become a {@link DeployException} that says whether the host was unreachable, refused the key, or
 * failed host key verification. Stateless and thread-safe: every call is one ssh process.
 */
final class Ssh {

    /** What a script printed and how it ended. */
    record Result(int exitCode, String stdout, String stderr) {
        boolean ok() {
            return exitCode == 0;
        }
    }

    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._/:=@%+,-]+");

    private Ssh() {}

    /** {@code s} quoted for a POSIX shell (as it is when it needs no quotes). */
    static String quote(String s) {
        if (!s.isEmpty() && PLAIN.matcher(s).matches()) {
            return s;
        }
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** The ssh command line for {@code host} (without the remote command). */
    static List<String> command(Inventory.Host host) {
        Inventory.SshSettings s = host.ssh();
        List<String> cmd = new ArrayList<>(List.of("ssh", "-o", "BatchMode=yes", "-p", Integer.toString(s.port())));
        if (!s.identityFile().isEmpty()) {
            cmd.addAll(List.of("-i", s.identityFile(), "-o", "IdentitiesOnly=yes"));
        }
        for (String o : s.options()) {
            cmd.addAll(List.of("-o", o));
        }
        cmd.add(host.sshTarget());
        return cmd;
    }

    /**
     * Runs {@code script} with {@code sh -s} on {@code host} and returns its result, whatever its exit code (but 255).
     *
     * @throws DeployException if ssh fails (unreachable host, authentication, host key) or the run exceeds
     *                         {@code timeout}
     */
    static Result run(Inventory.Host host, String script, Duration timeout) {
        List<String> cmd = command(host);
        cmd.addAll(List.of("sh", "-s"));
        Process p;
        try {
            p = new ProcessBuilder(cmd).start();
        } catch (IOException e) {
            throw new DeployException("cannot run ssh (the OpenSSH client must be installed here): " + e.getMessage());
        }
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        try (OutputStream in = p.getOutputStream()) {
            in.write(script.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // ssh exited early (it could not connect): its exit code and stderr say why
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new DeployException("ssh " + host.sshTarget() + ": no answer in " + timeout.toSeconds() + " s");
            }
            Result r = new Result(p.exitValue(), out.get(5, TimeUnit.SECONDS), err.get(5, TimeUnit.SECONDS));
            if (r.exitCode() == 255) {
                throw failure(host, r.stderr());
            }
            return r;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DeployException("interrupted while running ssh " + host.sshTarget());
        } catch (ExecutionException | TimeoutException e) {
            throw new DeployException("ssh " + host.sshTarget() + ": reading its output failed: " + e);
        }
    }

    private static DeployException failure(Inventory.Host host, String stderr) {
        String detail = stderr.strip().lines().filter(l -> !l.startsWith("Warning: Permanently added"))
                .reduce((a, b) -> a + "; " + b).orElse("ssh exited 255");
        String lower = detail.toLowerCase(Locale.ROOT);
        String where = host.sshTarget() + " port " + host.ssh().port();
        if (lower.contains("permission denied") || lower.contains("too many authentication failures")) {
            return new DeployException("ssh authentication failed for " + where + " (" + detail
                    + "); check ssh.user and ssh.identity-file in the inventory, and the host's authorized_keys");
        }
        if (lower.contains("host key verification failed") || lower.contains("remote host identification has changed")) {
            return new DeployException("ssh host key verification failed for " + where + " (" + detail
                    + "); add the host to known_hosts, or set ssh.options = [\"StrictHostKeyChecking=accept-new\"]");
        }
        return new DeployException("cannot reach " + where + " over ssh (" + detail + ")");
    }

    /** Reads {@code stream} to its end beside the caller, so that a full pipe never blocks ssh. */
    private static CompletableFuture<String> drain(InputStream stream) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        }, Thread::startVirtualThread);
    }
}
