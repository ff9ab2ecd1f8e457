package io.obplay.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code obplay} command. */
@Command(name = "obplay", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Declarative automation for OceanBase fleets: plan, run and serve lifecycle playbooks.",
        footer = {"", "Exit codes: 0 ok; 1 usage or input errors (nothing was run); 2 some hosts failed;",
                "4 some hosts unreachable; 70 internal error; 130 interrupted."})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (validate, inventory, plan, ...)");
    }

    public static void main(String[] args) {
        Integer rerun = FastStart.rerun(args);  // plain `java -jar` of a short command: run as bin/obplay runs it
        System.exit(rerun != null ? rerun : execute(args));
    }

    /** Runs obplay with the given arguments and returns its exit code (for tests and {@link #main}). */
    public static int execute(String... args) {
        return execute(new Stdout(System.out), new java.io.PrintWriter(System.err, true), args);
    }

    /**
     * The writer {@link #execute(String...)} puts on {@code System.out}: the same as {@code new PrintWriter(System.out,
     * true)}, and it tells a command that may write bytes straight to that stream (a large plan) where it goes.
     */
    static final class Stdout extends java.io.PrintWriter {
        private final java.io.OutputStream stream;

        Stdout(java.io.OutputStream stream) {
            super(stream, true);
            this.stream = stream;
        }

        /** The stream under this writer; flush the writer before writing to it. */
        java.io.OutputStream stream() {
            return stream;
        }
    }

    /** Runs obplay with its standard output and error sent to the given writers. */
    public static int execute(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new Main());
        // Building picocli's model of a command costs time (about 0.3 s of CPU for all of them, before any
        // work starts): when the first argument names a command, only that one is built.
        Object only = args.length > 0 && !"help".equals(args[0]) ? command(args[0]) : null;
        if (only != null) {
            cl.addSubcommand(only);
        } else {
            for (String name : COMMANDS) {
                cl.addSubcommand(command(name));
            }
        }
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> failed(e, cmd.getErr()));
        cl.setParameterExceptionHandler((e, a) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("obplay: " + e.getMessage());
            cmd.getErr().println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help'.");
            return ExitCodes.INVALID;
        });
        return cl.execute(args);
    }

    /** The commands, in the order {@code obplay --help} lists them. */
    static final java.util.List<String> COMMANDS = java.util.List.of("validate", "inventory", "plan", "run", "dag", "serve", "help");

    /** A new command object for a command's name, or null when there is no such command. */
    private static Object command(String name) {
        return switch (name) {
            case "validate" -> new ValidateCommand();
            case "inventory" -> new InventoryCommand();
            case "plan" -> new PlanCommand();
            case "run" -> new RunCommand();
            case "dag" -> new DagCommand();
            case "serve" -> new ServeCommand();
            case "help" -> new CommandLine.HelpCommand();
            default -> null;
        };
    }

    /** What a command that threw prints, and the exit code. */
    static int failed(Exception e, java.io.PrintWriter err) {
        if (e instanceof CliException ce) {
            err.println("obplay: " + io.obplay.plan.Printable.terminal().lines(ce.getMessage()));
            return ce.exitCode();
        }
        err.println("obplay: internal error: " + e);
        e.printStackTrace(err);
        return ExitCodes.INTERNAL;
    }

    /** The version from the jar's manifest. */
    public static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"obplay " + (v == null ? "dev" : v) + " (Java " + System.getProperty("java.version") + ")"};
        }
    }
}
