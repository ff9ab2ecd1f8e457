package io.obplay.cli;

import io.obplay.inventory.Inventory;
import io.obplay.playbook.Playbook;
import io.obplay.plan.Plan;
import io.obplay.plan.Planner;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code obplay validate}: checks an inventory and playbooks, reporting every mistake, running nothing. */
@Command(name = "validate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Check an inventory and playbooks (and that they plan), reporting every mistake as FILE:LINE:COLUMN. Runs nothing.")
public final class ValidateCommand implements Callable<Integer> {
    @Mixin
    Inputs inputs;

    @Parameters(paramLabel = "PLAYBOOK", arity = "0..*", description = "Playbooks to check against the inventory.")
    List<Path> playbooks = new ArrayList<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        if (inputs.inventory == null) {
            throw new CliException(ExitCodes.INVALID, "missing required option: '--inventory=FILE'");
        }
        Inventory inv = Inputs.loadInventory(inputs.inventory, err);
        err.println("ok: " + inputs.inventory + " (cluster " + inv.cluster() + ", " + inv.zones().size() + " zones, "
                + inv.observers().size() + " observers, " + inv.obproxies().size() + " obproxies)");
        int failures = 0;
        for (Path p : playbooks) {
            try {
                Playbook pb = Inputs.loadPlaybook(p, inv, err);
                Plan plan = Planner.plan(inv, pb, inputs.options());
                err.println("ok: " + p + " (" + plan.dag().maxStage() + " stages, " + plan.dag().subTaskCount() + " sub-tasks)");
            } catch (CliException e) {
                failures++;
                err.println(p + ": " + e.getMessage());
            } catch (Planner.PlanException e) {
                failures++;
                err.println(io.obplay.plan.Printable.terminal().lines(e.getMessage()));
            }
        }
        if (failures > 0) {
            throw new CliException(ExitCodes.INVALID, failures + " of " + playbooks.size() + " playbooks are invalid");
        }
        return ExitCodes.OK;
    }
}
