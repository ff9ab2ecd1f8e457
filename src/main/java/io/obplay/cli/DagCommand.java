package io.obplay.cli;

import io.obplay.inventory.Inventory;
import io.obplay.plan.Dag;
import io.obplay.plan.DotRenderer;
import io.obplay.plan.Node;
import io.obplay.plan.ObshellJson;
import io.obplay.plan.OcpJson;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.Printable;
import io.obplay.plan.Times;
import io.obplay.plan.TextRenderer;
import io.obplay.run.DagControl;
import io.obplay.run.RunOptions;
import io.obplay.store.Refused;
import io.obplay.store.Store;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
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
            description = {"Re-run a FAILED DAG: only the sub-tasks that failed or never ran.",
                    "Shows which sub-tasks will run again and asks first unless --yes."},
            footer = {"", "Exit codes as 'obplay run': 0, 1 (also: refused, or not confirmed: nothing was run), 2, 4, 130."})
    static final class Retry implements Callable<Integer> {
        @Mixin
        StateDir state;

        @Parameters(paramLabel = "ID", description = "The DAG's generic id or dag_id.")
        String id;

        @Option(names = {"-i", "--inventory"}, paramLabel = "FILE", description = "How to reach the hosts (default: the inventory the DAG was planned from).")
        Path inventory;

        @Option(names = {"-y", "--yes"}, description = "Do not ask for confirmation.")
        boolean yes;

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
                DagControl control = new DagControl(store);
                preview(control, DagControl.Op.RETRY, d);
                Path invPath = inventory;
                if (invPath == null) {
                    Object recorded = io.obplay.plan.DagData.of(d.additionalData()).inventory();
                    if (recorded == null) {
                        throw new CliException(ExitCodes.INVALID, "DAG " + d.id() + " does not say which inventory it used; give -i FILE");
                    }
                    invPath = Path.of(recorded.toString());
                }
                Inventory inv = Inputs.loadInventory(invPath, err);
                List<String> again = new ArrayList<>();
                int tasks = 0;
                java.util.Set<String> hosts = new java.util.LinkedHashSet<>();
                for (int i = 0; i < d.nodes().size(); i++) {
                    Node n = d.nodes().get(i);
                    List<String> these = new ArrayList<>();
                    for (SubTask t : n.subTasks()) {
                        if (t.state() != State.SUCCEED) {
                            these.add(t.data().server() + " (" + (t.state() == State.FAILED ? "FAILED" : "never ran") + ")");
                            hosts.add(t.data().host());
                            tasks++;
                        }
                    }
                    if (!these.isEmpty()) {
                        again.add("  stage " + (i + 1) + "/" + d.maxStage() + " '" + n.name() + "': " + String.join(", ", these));
                    }
                }
                err.println("DAG " + d.id() + " \"" + d.name() + "\" " + d.state() + " at stage " + d.stage() + "/" + d.maxStage()
                        + ". Retry runs again, stage after stage (sub-tasks that succeeded are not run again):");
                again.forEach(err::println);
                if (!skipHosts.isEmpty()) {
                    err.println("Left out (--skip-host): " + String.join(", ", skipHosts));
                }
                err.flush();
                if (!yes && !Confirm.ask(err, "Re-run " + tasks + (tasks == 1 ? " sub-task" : " sub-tasks") + " on " + hosts.size()
                                + (hosts.size() == 1 ? " host" : " hosts") + "?", "retry",
                        "review the above and pass --yes to retry it", "nothing was run")) {
                    return ExitCodes.INVALID;
                }
                try {
                    control.retry(d.dagId());
                } catch (Refused e) {
                    throw refused(e);
                }
                err.println("Retrying DAG " + d.id() + ": the sub-tasks that failed or never ran");
                return RunSession.run(store, inv, d.dagId(), new RunOptions(Inputs.canonicalHosts(skipHosts), "left out with --skip-host", 0),
                        spec.commandLine().getOut(), err, json, junit);
            }
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Cancel an unfinished DAG: a running one is ended by the process that runs it; it ends FAILED with operator CANCEL.",
                    "Shows what it will do and asks first unless --yes."},
            footer = {"", "Exit codes: 0 cancelled (or asked of the process running it); 1 refused, or not confirmed: nothing changed."})
    static final class Cancel implements Callable<Integer> {
        @Mixin
        StateDir state;

        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = {"-y", "--yes"}, description = "Do not ask for confirmation.")
        boolean yes;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            try (Store store = state.open()) {
                Dag d = find(store, id);
                DagControl control = new DagControl(store);
                Dag after = preview(control, DagControl.Op.CANCEL, d);
                List<String> running = new ArrayList<>();
                List<String> notRun = new ArrayList<>();
                for (int i = 0; i < d.nodes().size(); i++) {
                    Node n = d.nodes().get(i);
                    for (SubTask t : n.subTasks()) {
                        if (t.state() == State.RUNNING) {
                            running.add(t.data().server() + " (stage " + (i + 1) + " '" + n.name() + "')");
                        }
                    }
                    if (n.state() == State.PENDING || n.state() == State.READY) {
                        notRun.add((i + 1) + " '" + n.name() + "'");
                    }
                }
                String owner = store.owner(d.dagId()).orElse(null);
                if (after.state() == State.RUNNING) {
                    err.println("DAG " + d.id() + " \"" + d.name() + "\" is RUNNING" + (owner == null ? "" : " (run by obplay " + owner + ")")
                            + ": that process ends its running scripts"
                            + (running.isEmpty() ? "" : " (on " + String.join(", ", running) + ")") + " and records FAILED with operator CANCEL.");
                } else {
                    err.println("DAG " + d.id() + " \"" + d.name() + "\" is " + d.state() + " and no process runs it: it is recorded FAILED with"
                            + " operator CANCEL now; nothing runs on any host.");
                }
                if (!notRun.isEmpty()) {
                    err.println("Stages that will not run: " + String.join(", ", notRun));
                }
                err.flush();
                if (!yes && !Confirm.ask(err, "Cancel DAG " + d.id() + "?", "cancel",
                        "review the above and pass --yes to cancel it", "nothing changed")) {
                    return ExitCodes.INVALID;
                }
                Dag now = control.cancel(d.dagId());
                err.println("DAG " + now.id() + " " + now.state() + " (operator " + now.operator() + ")"
                        + (now.state() == State.RUNNING ? ": the process running it will end it" : ""));
                return ExitCodes.OK;
            } catch (Refused e) {
                throw refused(e);
            }
        }
    }

    @Command(name = "pass", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Accept a FAILED DAG as it is: its remaining stages are marked SUCCEED with operator PASS, and the maintenance lock is released.",
                    "Shows which stages will be passed and asks first unless --yes."},
            footer = {"", "Exit codes: 0 passed; 1 refused, or not confirmed: nothing changed."})
    static final class Pass implements Callable<Integer> {
        @Mixin
        StateDir state;

        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = {"-y", "--yes"}, description = "Do not ask for confirmation.")
        boolean yes;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            try (Store store = state.open()) {
                Dag d = find(store, id);
                DagControl control = new DagControl(store);
                preview(control, DagControl.Op.PASS, d);
                err.println("DAG " + d.id() + " \"" + d.name() + "\" " + d.state() + " at stage " + d.stage() + "/" + d.maxStage()
                        + ". Pass records these stages SUCCEED with operator PASS, runs nothing, and releases the maintenance lock:");
                int stages = 0;
                for (int i = 0; i < d.nodes().size(); i++) {
                    Node n = d.nodes().get(i);
                    if (n.state() == State.SUCCEED) {
                        continue;
                    }
                    stages++;
                    List<String> these = new ArrayList<>();
                    for (SubTask t : n.subTasks()) {
                        if (t.state() != State.SUCCEED) {
                            these.add(t.data().server() + " (" + (t.state() == State.FAILED ? "FAILED" : "never ran") + ")");
                        }
                    }
                    err.println("  stage " + (i + 1) + "/" + d.maxStage() + " '" + n.name() + "' (" + n.state() + ")"
                            + (these.isEmpty() ? "" : ": " + String.join(", ", these)));
                }
                err.flush();
                if (!yes && !Confirm.ask(err, "Pass " + stages + (stages == 1 ? " stage" : " stages") + " of DAG " + d.id() + "?", "pass",
                        "review the above and pass --yes to pass it", "nothing changed")) {
                    return ExitCodes.INVALID;
                }
                Dag now = control.pass(d.dagId());
                err.println("DAG " + now.id() + " " + now.state() + " (operator " + now.operator() + ")");
                return ExitCodes.OK;
            } catch (Refused e) {
                throw refused(e);
            }
        }
    }

    /** Refused now already: said before asking anything. */
    private static Dag preview(DagControl control, DagControl.Op op, Dag d) {
        try {
            return control.preview(op, d.dagId());
        } catch (Refused e) {
            throw refused(e);
        }
    }

    private static CliException refused(Refused e) {
        return new CliException(ExitCodes.INVALID, e.getMessage());
    }
}
