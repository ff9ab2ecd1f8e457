package io.obplay.plan;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.playbook.Playbook;
import io.obplay.playbook.Step;
import io.obplay.playbook.StepKind;
import io.obplay.playbook.Strategy;
import io.obplay.playbook.Targets;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Compiles (inventory, playbook, options) into a DAG in obshell's format: one node per step (per batch and
 * step when rolling or serial), stage order = step order, one sub-task per server with the exact script it
 * runs. A pure function: the same input gives the same plan, ids included.
 */
public final class Planner {

    private Planner() {
    }

    /** Thrown when the plan cannot be made: a limit that matches nothing, a majority of zones lost, no steps left. */
    public static final class PlanException extends Exception {
        public PlanException(String message) {
            super(message);
        }
    }

    /** A run of consecutive steps on the same targets; batched as a unit. */
    private record Play(List<Step> steps, List<Server> servers) {
    }

    private record Batch(String label, List<Server> servers) {
    }

    public static Plan plan(Inventory inv, Playbook pb, PlanOptions opts) throws PlanException {
        return compile(inv, pb, opts).plan();
    }

    /**
     * Everything {@link #plan} decides (steps, servers, batches, stages, ids, the DAG's data) short of making the
     * sub-tasks: {@link LazyPlan#plan()} makes them all, {@link LazyPlan#writeObshell} writes each as it makes it.
     * Throws exactly what {@link #plan} throws before it makes sub-tasks.
     */
    public static LazyPlan compile(Inventory inv, Playbook pb, PlanOptions opts) throws PlanException {
        List<Step> steps = pb.steps().stream().filter(s -> selected(s, opts)).toList();
        if (steps.isEmpty()) {
            throw new PlanException("no step is left after --tags " + opts.tags() + " / --skip-tags " + opts.skipTags()
                    + "; the playbook's tags are: " + pb.steps().stream().flatMap(s -> s.tags().stream()).distinct().sorted().toList());
        }
        List<Play> plays = new ArrayList<>();
        Targets current = null;
        List<Server> all = null;
        for (Step s : steps) {
            Targets t = s.on() != null ? s.on() : pb.targets();
            List<Server> servers;
            try {
                if (opts.limit().isEmpty()) {
                    servers = t.servers();  // what Limit.apply gives without patterns
                } else {
                    if (all == null) {
                        all = inv.servers();
                    }
                    servers = Limit.apply(opts.limit(), t.servers(), all);
                }
            } catch (IllegalArgumentException e) {
                throw new PlanException(e.getMessage());
            }
            if (!plays.isEmpty() && t == current) {
                plays.get(plays.size() - 1).steps().add(s);
            } else {
                List<Step> list = new ArrayList<>();
                list.add(s);
                plays.add(new Play(list, servers));
                current = t;
            }
        }
        if (plays.stream().allMatch(p -> p.servers().isEmpty())) {
            throw new PlanException("--limit " + String.join(",", opts.limit()) + " leaves no server to act on");
        }
        checkMajority(inv, pb, plays);

        boolean proxiesOnly = true;
        for (Play p : plays) {
            for (Server s : p.servers()) {
                if (s.role() != Role.OBPROXY) {
                    proxiesOnly = false;
                    break;
                }
            }
        }
        char kind = proxiesOnly ? GenericId.OBPROXY : GenericId.AGENT;
        long ipv4 = GenericId.ipv4(opts.agentIp());
        List<LazyPlan.Stage> stages = new ArrayList<>();
        long taskId = 1;
        for (Play play : plays) {
            for (Batch batch : batches(pb, play.servers())) {
                for (Step step : play.steps()) {
                    if (batch.servers().isEmpty()) {
                        continue;  // a node without sub-tasks is left out
                    }
                    long nodeId = stages.size() + 1;
                    Map<String, Object> nodeData = new LinkedHashMap<>();
                    nodeData.put("step_index", step.index());
                    nodeData.put("step", step.kind().yamlName());
                    nodeData.put("tags", step.tags().stream().sorted().toList());
                    nodeData.put("batch", batch.label());
                    nodeData.put("timeout", step.timeout().toSeconds());
                    nodeData.put("forks", pb.forks());
                    nodeData.put("max_fail_percentage", pb.maxFailPercentage());
                    nodeData.put("where", step.where());
                    String name = batch.label().isEmpty() ? step.name() : step.name() + " [" + batch.label() + "]";
                    stages.add(new LazyPlan.Stage(new GenericId(kind, ipv4, opts.agentPort(), nodeId).toString(), nodeId, name,
                            java.util.Collections.unmodifiableMap(nodeData), step, batch.servers(), taskId));
                    taskId += batch.servers().size();
                }
            }
        }
        boolean maintenance = steps.stream().anyMatch(s -> s.kind() != StepKind.SHELL);
        int maintenanceType = !maintenance ? Dag.MAINTENANCE_NONE : proxiesOnly ? Dag.MAINTENANCE_OBPROXY : Dag.MAINTENANCE_GLOBAL;
        String maintenanceKey = !maintenance ? "" : proxiesOnly ? "obproxy" : inv.cluster();
        Map<String, Object> dagData = new LinkedHashMap<>();
        dagData.put("playbook_name", pb.name());
        dagData.put("playbook", pb.source());
        dagData.put("playbook_sha256", pb.sha256());
        dagData.put("inventory", inv.source());
        dagData.put("inventory_sha256", inv.sha256());
        dagData.put("cluster", inv.cluster());
        dagData.put("transport", inv.transport().name().toLowerCase());
        dagData.put("strategy", pb.strategy() == Strategy.SERIAL ? "serial: " + pb.serial() : pb.strategy().name().toLowerCase());
        dagData.put("forks", pb.forks());
        dagData.put("max_fail_percentage", pb.maxFailPercentage());
        dagData.put("limit", opts.limit());
        dagData.put("tags", opts.tags());
        dagData.put("skip_tags", opts.skipTags());
        // "libraries" and "hosts" follow, from the sub-tasks
        return new LazyPlan(kind, ipv4, opts.agentPort(), pb.name(), maintenanceType, maintenanceKey, dagData, stages);
    }

    static boolean selected(Step s, PlanOptions o) {
        Set<String> tags = s.tags();
        if (o.skipTags().stream().anyMatch(tags::contains)) {
            return false;
        }
        if (o.tags().isEmpty() || o.tags().contains("all")) {
            return !tags.contains("never");
        }
        return tags.contains("always") || o.tags().stream().anyMatch(tags::contains);
    }

    private static List<Batch> batches(Playbook pb, List<Server> servers) {
        List<Batch> out = new ArrayList<>();
        switch (pb.strategy()) {
            case PARALLEL -> out.add(new Batch("", servers));
            case ROLLING -> {
                Map<String, List<Server>> groups = new LinkedHashMap<>();
                for (Server s : servers) {
                    String label = s.role() == Role.OBSERVER ? s.group() : "obproxy " + s.group();
                    groups.computeIfAbsent(label, k -> new ArrayList<>()).add(s);
                }
                if (groups.size() == 1) {
                    out.add(new Batch(groups.keySet().iterator().next(), servers));
                } else {
                    groups.forEach((k, v) -> out.add(new Batch(k, v)));
                }
            }
            case SERIAL -> {
                int n = Math.max(1, pb.serial());
                int batches = (servers.size() + n - 1) / n;
                for (int i = 0; i < servers.size(); i += n) {
                    out.add(new Batch(batches == 1 ? "" : "batch " + (i / n + 1) + "/" + batches,
                            servers.subList(i, Math.min(servers.size(), i + n))));
                }
            }
        }
        return out;
    }

    /** A playbook must not stop a majority of zones while the rest run, unless it says so. */
    private static void checkMajority(Inventory inv, Playbook pb, List<Play> plays) throws PlanException {
        Set<String> touched = new LinkedHashSet<>();
        for (Play p : plays) {
            if (p.steps().stream().anyMatch(s -> s.kind().stops())) {
                p.servers().stream().filter(s -> s.role() == Role.OBSERVER).forEach(s -> touched.add(s.group()));
            }
        }
        int total = inv.zones().size();
        if (touched.isEmpty() || touched.size() == total || touched.size() * 2 <= total || pb.allowMajorityLoss()) {
            return;
        }
        List<String> running = inv.zoneNames().stream().filter(z -> !touched.contains(z)).toList();
        throw new PlanException(pb.targets().where() + ": these targets stop servers in " + touched.size() + " of " + total
                + " zones (" + String.join(", ", touched) + ") while " + String.join(", ", running)
                + (running.size() == 1 ? " keeps" : " keep") + " running: a majority of zones lost breaks every tenant's"
                + " Paxos majority. Expected at most " + (total / 2) + " zone(s) at once; stop the whole cluster with"
                + " 'targets: { all: true }', or set 'allow_majority_loss: true' if you mean it");
    }

    /** The exact work of a step on one server. */
    public static TaskData taskData(Server s, Step step) {
        Script script = script(s, step);
        return new TaskData(s.name(), s.role().processName(), s.host(), step.kind().yamlName(), step.index(),
                script.text(), step.timeout().toSeconds(), script.signals(), script.paths(),
                step.kind() == StepKind.SHELL ? step.command().get(s.name()) : null, script.library());
    }

    /** The script of a step on one server. */
    static Script script(Server s, Step step) {
        return switch (step.kind()) {
            case STOP -> StepScripts.stop(s, step.grace(), step.killWait(), step.settle());
            case KILL -> StepScripts.kill(s, step.killWait(), step.settle());
            case CLEANUP -> StepScripts.cleanup(s, step.cleanupPaths().getOrDefault(s.name(), List.of()));
            case SHELL -> StepScripts.shell(s, step.command().get(s.name()));
        };
    }

    /** A one-line description of the hosts of a node, for people. */
    public static String hostsOf(Node n) {
        return n.subTasks().stream().map(t -> t.executeAgent().ip()).distinct().collect(Collectors.joining(", "));
    }
}
