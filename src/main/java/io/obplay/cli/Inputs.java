package io.obplay.cli;

import io.obplay.inventory.InvalidInputException;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.Inventories;
import io.obplay.inventory.LoadedInventory;
import io.obplay.inventory.Problem;
import io.obplay.playbook.Playbook;
import io.obplay.playbook.PlaybookLoader;
import io.obplay.plan.LazyPlan;
import io.obplay.plan.Plan;
import io.obplay.plan.PlanOptions;
import io.obplay.plan.Planner;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The options every planning command shares: inventory, limit, tags. */
public final class Inputs {
    @Option(names = {"-i", "--inventory"}, paramLabel = "FILE", description = "The inventory (YAML): obplay's format, or an OBD deployment config such as ~/.obd/cluster/NAME/config.yaml.")
    Path inventory;

    @Option(names = {"-l", "--limit"}, paramLabel = "PATTERN", split = ",",
            description = "Only these servers: zones, ip:agent_port, hosts, obproxy cluster names, globs; !pattern excludes, &pattern intersects.")
    List<String> limit = new ArrayList<>();

    @Option(names = {"-t", "--tags"}, paramLabel = "TAG", split = ",", description = "Only steps with one of these tags (and 'always').")
    List<String> tags = new ArrayList<>();

    @Option(names = "--skip-tags", paramLabel = "TAG", split = ",", description = "Leave out steps with one of these tags.")
    List<String> skipTags = new ArrayList<>();

    @Option(names = "--agent", paramLabel = "IP:PORT", defaultValue = "127.0.0.1:2886",
            description = "The agent address generic ids are made from (default: ${DEFAULT-VALUE}).")
    String agent;

    PlanOptions options() {
        int colon = agent.lastIndexOf(':');
        if (colon < 0) {
            throw new CliException(ExitCodes.INVALID, "--agent must be IP:PORT, got '" + agent + "'");
        }
        try {
            return new PlanOptions(limit, tags, skipTags, agent.substring(0, colon), Integer.parseInt(agent.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new CliException(ExitCodes.INVALID, "--agent must be IP:PORT, got '" + agent + "'");
        }
    }

    static Inventory loadInventory(Path file, PrintWriter err) {
        return readInventory(file, err).inventory();
    }

    /** The inventory in either format obplay reads (its own, or an OBD deployment config), with its notes. */
    static LoadedInventory readInventory(Path file, PrintWriter err) {
        try {
            return Inventories.read(file);
        } catch (InvalidInputException e) {
            throw invalid(e.problems(), err);
        }
    }

    static Playbook loadPlaybook(Path file, Inventory inv, PrintWriter err) {
        try {
            return PlaybookLoader.load(file, inv);
        } catch (InvalidInputException e) {
            throw invalid(e.problems(), err);
        }
    }

    Plan plan(Path playbook, PrintWriter err) {
        if (inventory == null) {
            throw new CliException(ExitCodes.INVALID, "missing required option: '--inventory=FILE'");
        }
        return plan(loadInventory(inventory, err), playbook, err);
    }

    Plan plan(Inventory inv, Path playbook, PrintWriter err) {
        Playbook pb = loadPlaybook(playbook, inv, err);
        try {
            return Planner.plan(inv, pb, options());
        } catch (Planner.PlanException e) {
            throw new CliException(ExitCodes.INVALID, e.getMessage() + "\nNothing was run.");
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.INVALID, e.getMessage());
        }
    }

    /** The plan short of its sub-tasks (see {@link Planner#compile}), with the same errors as {@link #plan}. */
    LazyPlan compile(Path playbook, PrintWriter err) {
        if (inventory == null) {
            throw new CliException(ExitCodes.INVALID, "missing required option: '--inventory=FILE'");
        }
        Inventory inv = loadInventory(inventory, err);
        Playbook pb = loadPlaybook(playbook, inv, err);
        try {
            return Planner.compile(inv, pb, options());
        } catch (Planner.PlanException e) {
            throw new CliException(ExitCodes.INVALID, e.getMessage() + "\nNothing was run.");
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.INVALID, e.getMessage());
        }
    }

    /** Makes every sub-task of a compiled plan, with the same errors as {@link #plan}. */
    static Plan plan(LazyPlan lazy) {
        try {
            return lazy.plan();
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.INVALID, e.getMessage());
        }
    }

    static CliException invalid(List<Problem> problems, PrintWriter err) {
        for (Problem p : problems) {
            err.println(p);
        }
        return new CliException(ExitCodes.INVALID, problems.size() + (problems.size() == 1 ? " problem" : " problems")
                + " found; nothing was run.");
    }
}
