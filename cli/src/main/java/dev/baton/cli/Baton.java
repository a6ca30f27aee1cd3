package dev.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/baton}: the root command; each subcommand is one role or tool. */
@Command(name = "baton", mixinStandardHelpOptions = true, versionProvider = Baton.Version.class,
        description = "Baton: a disaggregated prefill/decode runtime for serving LLMs.",
        subcommands = {GenerateCommand.class, UpCommand.class, DownCommand.class, DrainCommand.class, PlanCommand.class, dev.baton.cli.deploy.DeployCommand.class, RouterCommand.class, WorkerCommand.class, PrefillCommand.class, DecodeCommand.class, BenchCommand.class, AotTrainingCommand.class, TlsCertCommand.class, CommandLine.HelpCommand.class})
public final class Baton implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Commands that run a node: they log lifecycle events at INFO (the others stay quiet). */
    private static final java.util.Set<String> NODE_COMMANDS = java.util.Set.of("router", "worker", "prefill", "decode");

    public static void main(String[] args) {
        if (args.length > 0 && NODE_COMMANDS.contains(args[0]) && System.getProperty("baton.log.level") == null) {
            System.setProperty("baton.log.level", "INFO");
        }
        System.exit(commandLine().execute(args));
    }

    /** The command line with Baton's error handling: bad input prints one clear line, not a stack trace. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Baton());
        cl.setOut(new java.io.PrintWriter(new java.io.OutputStreamWriter(System.out, java.nio.charset.StandardCharsets.UTF_8), true));
        cl.setErr(new java.io.PrintWriter(new java.io.OutputStreamWriter(System.err, java.nio.charset.StandardCharsets.UTF_8), true));
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("baton " + cmd.getCommandName() + ": " + describe(ex));
            if (Boolean.getBoolean("baton.debug")) {
                ex.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cl;
    }

    static String describe(Throwable ex) {
        if (ex instanceof java.nio.file.NoSuchFileException n) {
            return "file not found: " + n.getFile();
        }
        String msg = ex.getMessage();
        return msg == null || msg.isBlank() ? ex.getClass().getSimpleName() : msg;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Baton.class.getPackage().getImplementationVersion();
            return new String[] {"baton " + (v == null ? "development build" : v) + ", Java " + Runtime.version()};
        }
    }
}
