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
        // checked as inventory hosts and ports are: a canonical host ([IPv6]:PORT for IPv6), a port from 1 to 65535
        io.obplay.inventory.HostName.HostPort hp = io.obplay.inventory.HostName.parseWithPort(agent);
        if (!hp.ok() || hp.port() == 0) {
            throw new CliException(ExitCodes.INVALID, "--agent must be IP:PORT (or [IPv6]:PORT), got '"
                    + io.obplay.inventory.Show.escaped(agent) + "'" + (hp.ok() ? ": it has no port" : ": " + hp.error()));
        }
        if (hp.host().indexOf(':') >= 0 || !hp.host().matches("[0-9.]+")) {
            throw new CliException(ExitCodes.INVALID, "--agent must be an IPv4 address and a port, got '" + io.obplay.inventory.Show.escaped(agent)
                    + "': obshell's generic ids hold an IPv4 address (an IPv4-mapped IPv6 address is taken as its IPv4 address)");
        }
        return new PlanOptions(limit, tags, skipTags, hp.host(), hp.port());
    }

    /**
     * {@code --skip-host} values in the canonical spelling of hosts and {@code host:port} server names, so that
     * they match what the plan shows; other names (obproxy:1/1) as given.
     */
    static java.util.Set<String> canonicalHosts(List<String> values) {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        for (String v : values) {
            io.obplay.inventory.HostName.HostPort hp = io.obplay.inventory.HostName.parseWithPort(v.trim());
            out.add(!hp.ok() ? v.trim() : hp.port() == 0 ? hp.host() : io.obplay.inventory.HostName.withPort(hp.host(), hp.port()));
        }
        return out;
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
            err.println(io.obplay.plan.Printable.terminal().line(p));
        }
        return new CliException(ExitCodes.INVALID, problems.size() + (problems.size() == 1 ? " problem" : " problems")
                + " found; nothing was run.");
    }
}
