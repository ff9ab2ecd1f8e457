package io.obplay.cli;

import io.obplay.inventory.Inventory;
import io.obplay.plan.Dag;
import io.obplay.plan.ObshellJson;
import io.obplay.plan.Plan;
import io.obplay.plan.TextRenderer;
import io.obplay.run.DagControl;
import io.obplay.run.RunOptions;
import io.obplay.store.Store;
import io.obplay.store.UnderMaintenanceException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code obplay run}: plans (or reads a reviewed plan), shows it, asks, runs it, records it. */
@Command(name = "run", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Run a playbook (or exactly a reviewed plan file) on the inventory's hosts: stage after stage,",
                "each stage's servers in parallel up to forks. Shows the plan and asks first unless --yes.",
                "Every DAG, state and log line is recorded in the state directory; see 'obplay dag'."},
        footer = {"", "Exit codes: 0 all succeeded; 1 usage or input errors, or not confirmed (nothing was run);",
                "2 some hosts failed; 4 some hosts unreachable; 130 interrupted (cancelled cleanly)."})
public final class RunCommand implements Callable<Integer> {
    @Mixin
    Inputs inputs;

    @Mixin
    StateDir state;

    @Parameters(paramLabel = "PLAYBOOK", arity = "0..1", description = "The playbook (YAML); or give --plan.")
    Path playbook;

    @Option(names = "--plan", paramLabel = "FILE", description = "Run exactly this plan (from 'obplay plan -o FILE'); refused if its inventory or playbook changed since.")
    Path planFile;

    @Option(names = {"-y", "--yes"}, description = "Do not ask for confirmation.")
    boolean yes;

    @Option(names = "--json", description = "Write one JSON object per event to stdout (stage started, sub-task finished, DAG finished).")
    boolean json;

    @Option(names = "--junit", paramLabel = "FILE", description = "Write a JUnit XML report of the run to FILE.")
    Path junit;

    @Option(names = "--skip-host", paramLabel = "HOST", split = ",",
            description = "Leave out this host or server (e.g. one that is gone); its sub-tasks show as skipped with the reason.")
    List<String> skipHosts = new java.util.ArrayList<>();

    @Option(names = "--forks", paramLabel = "N", description = "Run at most N sub-tasks at once (default: the playbook's forks).")
    int forks;

    @Option(names = "--show-scripts", description = "Show every sub-task's full script in the plan.")
    boolean showScripts;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (forks < 0 || forks > 10_000) {
            throw new CliException(ExitCodes.INVALID, "--forks is " + forks + "; expected a number of hosts acted on at once, from 1 to 10000");
        }
        if ((playbook == null) == (planFile == null)) {
            throw new CliException(ExitCodes.INVALID, "give either a PLAYBOOK or --plan FILE");
        }
        Inventory inv;
        Dag planned;
        if (planFile != null) {
            planned = readPlan(planFile);
            Path invPath = inputs.inventory != null ? inputs.inventory : recorded(planned, "inventory", planFile);
            checkUnchanged(planned, "inventory", invPath);
            Path pbPath = recorded(planned, "playbook", planFile);
            checkUnchanged(planned, "playbook", pbPath);
            inv = Inputs.loadInventory(invPath, err);
        } else {
            if (inputs.inventory == null) {
                throw new CliException(ExitCodes.INVALID, "missing required option: '--inventory=FILE'");
            }
            inv = Inputs.loadInventory(inputs.inventory, err);
            Plan plan = inputs.plan(inv, playbook, err);
            planned = plan.dag();
        }
        err.print(TextRenderer.render(planned, showScripts, false));
        Set<String> skip = Inputs.canonicalHosts(skipHosts);
        if (!skip.isEmpty()) {
            err.println("Left out (--skip-host): " + String.join(", ", skip));
        }
        err.flush();
        try {
            io.obplay.run.gate.PlannedGate.checkAll(planned, System.getenv());
        } catch (IllegalStateException e) {
            throw new CliException(ExitCodes.INVALID, e.getMessage() + "; nothing was run");
        }
        if (!yes && !confirm(planned, err)) {
            return ExitCodes.INVALID;
        }
        try (Store store = state.open()) {
            DagControl control = new DagControl(store);
            Dag dag;
            try {
                dag = control.create(planned, inputs.options().agentIp(), inputs.options().agentPort());
            } catch (UnderMaintenanceException e) {
                Dag h = e.holder();
                throw new CliException(ExitCodes.INVALID, "the cluster is under maintenance by DAG " + h.id() + " \"" + h.name() + "\" ("
                        + h.state() + "): finish it (obplay dag retry " + h.id() + ") or accept it (obplay dag pass " + h.id() + ") first");
            }
            err.println("Recorded as DAG " + dag.id() + " in " + state.path());
            return RunSession.run(store, inv, dag.dagId(), new RunOptions(skip, "left out with --skip-host", forks),
                    out, err, json, junit);
        }
    }

    private boolean confirm(Dag planned, PrintWriter err) {
        Object hosts = io.obplay.plan.DagData.of(planned.additionalData()).hosts();
        return Confirm.ask(err, "Run these " + planned.maxStage() + (planned.maxStage() == 1 ? " stage" : " stages") + " on " + hosts
                        + ("1".equals(String.valueOf(hosts)) ? " host" : " hosts") + "?", "run",
                "review the plan above and pass --yes to run it", "nothing was run");
    }

    static Dag readPlan(Path file) {
        try {
            return ObshellJson.read(Files.readString(file));
        } catch (IOException e) {
            throw new CliException(ExitCodes.INVALID, "cannot read the plan " + file + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.INVALID, file + " is not a plan made by 'obplay plan -o': " + e.getMessage());
        }
    }

    /** The file a plan was made from: as recorded, else relative to the plan file's directory. */
    static Path recorded(Dag plan, String what, Path planFile) {
        Object p = io.obplay.plan.DagData.of(plan.additionalData()).source(what);
        if (p == null) {
            throw new CliException(ExitCodes.INVALID, planFile + " does not say which " + what + " it was made from");
        }
        Path path = Path.of(p.toString());
        if (!Files.exists(path) && !path.isAbsolute() && planFile.toAbsolutePath().getParent() != null) {
            Path beside = planFile.toAbsolutePath().getParent().resolve(path);
            if (Files.exists(beside)) {
                return beside;
            }
        }
        return path;
    }

    static void checkUnchanged(Dag plan, String what, Path file) {
        String want = String.valueOf(io.obplay.plan.DagData.of(plan.additionalData()).sourceSha256(what));
        if (!Files.exists(file)) {
            throw new CliException(ExitCodes.INVALID, "the plan was made from " + what + " " + file + ", which is gone; make a new plan");
        }
        String now;
        try {
            now = io.obplay.inventory.YamlSource.sha256(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new CliException(ExitCodes.INVALID, "cannot read " + file + ": " + e.getMessage());
        }
        if (!now.equals(want)) {
            throw new CliException(ExitCodes.INVALID, "the " + what + " " + file + " changed since the plan was made (sha256 "
                    + want.substring(0, Math.min(12, want.length())) + ", now " + now.substring(0, 12)
                    + "); the plan would no longer be what was reviewed. Make a new plan with 'obplay plan -o'");
        }
    }
}
