package io.obplay.cli;

import io.obplay.inventory.Inventory;
import io.obplay.plan.Dag;
import io.obplay.plan.DotRenderer;
import io.obplay.plan.ObshellJson;
import io.obplay.plan.OcpJson;
import io.obplay.plan.Printable;
import io.obplay.plan.Times;
import io.obplay.plan.TextRenderer;
import io.obplay.run.DagControl;
import io.obplay.run.RunOptions;
import io.obplay.store.Store;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code obplay dag}: the recorded DAGs, and obshell's operators on them. */
@Command(name = "dag", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "List and show recorded DAGs; retry, cancel or pass one (as obshell's operators do).",
        subcommands = {DagCommand.ListDags.class, DagCommand.Show.class, DagCommand.Retry.class, DagCommand.Cancel.class, DagCommand.Pass.class})
public final class DagCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: list, show, retry, cancel or pass");
    }

    static Dag find(Store store, String id) {
        long dagId = DagIds.parse(id);
        return new DagControl(store).reconcile(dagId)
                .orElseThrow(() -> new CliException(ExitCodes.INVALID, "no DAG " + id + " in this state directory"));
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "The recorded DAGs, newest first.")
    static final class ListDags implements Callable<Integer> {
        @Mixin
        StateDir state;

        @Option(names = {"-n", "--limit"}, defaultValue = "50", description = "At most this many (default ${DEFAULT-VALUE}).")
        int limit;

        @Option(names = "--json", description = "One JSON object per DAG on stdout.")
        boolean json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            try (Store store = state.open()) {
                List<Dag> dags = store.dags(limit);
                if (!json) {
                    out.printf("%-20s %-6s %-34s %-8s %-8s %-7s %s%n", "ID", "DAG_ID", "NAME", "STATE", "OPERATOR", "STAGE", "STARTED");
                }
                for (Dag d : dags) {
                    Dag now = new DagControl(store).reconcile(d.dagId()).orElse(d);
                    if (json) {
                        out.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(ObshellJson.dag(now.withNodes(List.of()), false)));
                    } else {
                        out.printf("%-20s %-6d %-34s %-8s %-8s %-7s %s%n", Printable.terminal().line(now.id()), now.dagId(),
                                cut(Printable.terminal().line(now.name()), 34), now.state(), now.operator(),
                                now.stage() + "/" + now.maxStage(), Times.format(now.startTime()));
                    }
                }
                out.flush();
            }
            return ExitCodes.OK;
        }

        private static String cut(String s, int n) {
            String ellipsis = Printable.terminal().shows("…") ? "…" : "~";
            return s.length() <= n ? s : s.substring(0, n - ellipsis.length()) + ellipsis;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "A DAG with its stages, sub-tasks, states and last log lines (--format obshell for everything).")
    static final class Show implements Callable<Integer> {
        @Mixin
        StateDir state;

        @Parameters(paramLabel = "ID", description = "The DAG's generic id or dag_id.")
        String id;

        @Option(names = {"-f", "--format"}, defaultValue = "text", description = "text (default), obshell, ocp or dot.")
        String format;

        @Option(names = "--show-scripts", description = "With --format text: print every sub-task's script.")
        boolean scripts;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try (Store store = state.open()) {
                Dag d = find(store, id);
                switch (format) {
                    case "text" -> {
                        out.print(TextRenderer.render(d, scripts, true));
                        if (!d.nodes().isEmpty()) {
                            out.print(Recap.render(d));
                        }
                    }
                    case "obshell" -> out.print(ObshellJson.write(d));
                    case "ocp" -> out.print(OcpJson.write(d, System.getProperty("user.name", "obplay"), "obplay"));
                    case "dot" -> out.print(DotRenderer.render(d));
                    default -> throw new CliException(ExitCodes.INVALID, "--format must be text, obshell, ocp or dot, not '" + format + "'");
                }
                out.flush();
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "retry", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Re-run a FAILED DAG: only the sub-tasks that failed or never ran.",
            footer = {"", "Exit codes as 'obplay run': 0, 1, 2, 4, 130."})
    static final class Retry implements Callable<Integer> {
        @Mixin
        StateDir state;

        @Parameters(paramLabel = "ID", description = "The DAG's generic id or dag_id.")
        String id;

        @Option(names = {"-i", "--inventory"}, paramLabel = "FILE", description = "How to reach the hosts (default: the inventory the DAG was planned from).")
        Path inventory;

        @Option(names = "--json", description = "JSON lines on stdout, as 'obplay run --json'.")
        boolean json;

        @Option(names = "--junit", paramLabel = "FILE", description = "Write a JUnit XML report.")
        Path junit;

        @Option(names = "--skip-host", paramLabel = "HOST", split = ",", description = "Leave out this host or server.")
        List<String> skipHosts = new java.util.ArrayList<>();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            try (Store store = state.open()) {
                Dag d = find(store, id);
                Path invPath = inventory;
                if (invPath == null) {
                    Object recorded = d.additionalData() == null ? null : d.additionalData().get("inventory");
                    if (recorded == null) {
                        throw new CliException(ExitCodes.INVALID, "DAG " + d.id() + " does not say which inventory it used; give -i FILE");
                    }
                    invPath = Path.of(recorded.toString());
                }
                Inventory inv = Inputs.loadInventory(invPath, err);
                try {
                    new DagControl(store).retry(d.dagId());
                } catch (DagControl.Refused e) {
                    throw new CliException(ExitCodes.INVALID, e.getMessage() + " [" + e.code() + "]");
                }
                err.println("Retrying DAG " + d.id() + ": the sub-tasks that failed or never ran");
                return RunSession.run(store, inv, d.dagId(), new RunOptions(new java.util.LinkedHashSet<>(skipHosts), "left out with --skip-host", 0),
                        spec.commandLine().getOut(), err, json, junit);
            }
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Cancel an unfinished DAG: a running one is ended by the process that runs it; it ends FAILED with operator CANCEL.")
    static final class Cancel implements Callable<Integer> {
        @Mixin
        StateDir state;

        @Parameters(paramLabel = "ID")
        String id;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            try (Store store = state.open()) {
                Dag d = find(store, id);
                Dag now = new DagControl(store).cancel(d.dagId());
                spec.commandLine().getErr().println("DAG " + now.id() + " " + now.state() + " (operator " + now.operator() + ")"
                        + (now.state() == io.obplay.plan.State.RUNNING ? ": the process running it will end it" : ""));
                return ExitCodes.OK;
            } catch (DagControl.Refused e) {
                throw new CliException(ExitCodes.INVALID, e.getMessage() + " [" + e.code() + "]");
            }
        }
    }

    @Command(name = "pass", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Accept a FAILED DAG as it is: its remaining stages are marked SUCCEED with operator PASS, and the maintenance lock is released.")
    static final class Pass implements Callable<Integer> {
        @Mixin
        StateDir state;

        @Parameters(paramLabel = "ID")
        String id;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            try (Store store = state.open()) {
                Dag d = find(store, id);
                Dag now = new DagControl(store).pass(d.dagId());
                spec.commandLine().getErr().println("DAG " + now.id() + " " + now.state() + " (operator " + now.operator() + ")");
                return ExitCodes.OK;
            } catch (DagControl.Refused e) {
                throw new CliException(ExitCodes.INVALID, e.getMessage() + " [" + e.code() + "]");
            }
        }
    }
}
