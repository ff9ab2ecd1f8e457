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
    private record Play(List<Step> steps, Targets targets, List<Server> servers) {
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
        checkTags(pb, opts);
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
                plays.add(new Play(list, t, servers));
                current = t;
            }
        }
        if (plays.stream().allMatch(p -> p.servers().isEmpty())) {
            throw new PlanException("--limit " + String.join(",", opts.limit()) + " leaves no server to act on");
        }
        checkMajority(inv, pb, opts, plays);

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
            boolean starts = play.steps().stream().anyMatch(s -> s.kind().starts());
            for (Batch batch : batches(pb, play.servers())) {
                if (batch.servers().isEmpty()) {
                    continue;  // a node without sub-tasks is left out
                }
                for (Step step : play.steps()) {
                    long nodeId = stages.size() + 1;
                    Map<String, Object> nodeData = new NodeData(step.index(), step.kind().yamlName(),
                            step.tags().stream().sorted().toList(), batch.label(), step.timeout().toSeconds(), pb.forks(),
                            pb.maxFailPercentage(), step.where()).toMap();
                    String name = batch.label().isEmpty() ? step.name() : step.name() + " [" + batch.label() + "]";
                    stages.add(new LazyPlan.Stage(new GenericId(kind, ipv4, opts.agentPort(), nodeId).toString(), nodeId, name,
                            java.util.Collections.unmodifiableMap(nodeData), step, batch.servers(), taskId));
                    taskId += batch.servers().size();
                }
                if (pb.gate() != null && pb.strategy() == Strategy.ROLLING && starts) {
                    GatePlan gate = GatePlan.of(inv, pb.gate(), batch.label(), batch.servers());
                    if (gate.waits()) {
                        Step last = play.steps().get(play.steps().size() - 1);
                        Step.Gate step = new Step.Gate(new Step.Head(last.index(), "Gate", java.util.Set.of(),
                                pb.gate().timeout().plusSeconds(30), null, pb.gate().where()), pb.gate(), batch.label());
                        long nodeId = stages.size() + 1;
                        Map<String, Object> nodeData = new NodeData(step.index(), step.kind().yamlName(), List.of(),
                                batch.label(), step.timeout().toSeconds(), pb.forks(), pb.maxFailPercentage(), step.where(),
                                gate).toMap();
                        String name = batch.label().isEmpty() ? "Gate" : "Gate [" + batch.label() + "]";
                        stages.add(new LazyPlan.Stage(new GenericId(kind, ipv4, opts.agentPort(), nodeId).toString(), nodeId,
                                name, java.util.Collections.unmodifiableMap(nodeData), step, List.of(batch.servers().get(0)),
                                taskId));
                        taskId += 1;
                    }
                }
            }
        }
        boolean maintenance = steps.stream().anyMatch(s -> s.kind() != StepKind.SHELL);
        int maintenanceType = !maintenance ? Dag.MAINTENANCE_NONE : proxiesOnly ? Dag.MAINTENANCE_OBPROXY : Dag.MAINTENANCE_GLOBAL;
        String maintenanceKey = !maintenance ? "" : proxiesOnly ? "obproxy" : inv.cluster();
        // "libraries" and "hosts" follow, from the sub-tasks
        DagData dagData = new DagData(pb.name(), pb.source(), pb.sha256(), inv.source(), inv.sha256(), inv.cluster(),
                inv.transport().name().toLowerCase(),
                pb.strategy() == Strategy.SERIAL ? "serial: " + pb.serial() : pb.strategy().name().toLowerCase(),
                pb.forks(), pb.maxFailPercentage(), opts.limit(), opts.tags(), opts.skipTags(), null, null, null);
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

    /**
     * {@code --tags} and {@code --skip-tags} name tags of the playbook ({@code --tags all} too): a mistyped tag would
     * silently select nothing, or skip nothing ({@code --skip-tags date} for {@code data} deletes the data).
     */
    static void checkTags(Playbook pb, PlanOptions opts) throws PlanException {
        Set<String> tags = new java.util.TreeSet<>();
        for (Step s : pb.steps()) {
            tags.addAll(s.tags());
        }
        List<String> problems = new ArrayList<>();
        for (String option : List.of("--tags", "--skip-tags")) {
            for (String tag : option.equals("--tags") ? opts.tags() : opts.skipTags()) {
                if (tags.contains(tag) || option.equals("--tags") && tag.equals("all")) {
                    continue;
                }
                String near = io.obplay.inventory.Suggest.nearest(tag, tags);
                problems.add(option + " " + tag + " names no tag of the playbook" + (near != null ? " (did you mean '" + near + "'?)" : ""));
            }
        }
        if (!problems.isEmpty()) {
            throw new PlanException(pb.source() + ": " + String.join("; ", problems) + "; "
                    + (tags.isEmpty() ? "the playbook has no tags" : "its tags: " + String.join(", ", tags))
                    + (opts.tags().isEmpty() ? "" : " (and all, for --tags)"));
        }
    }

    /**
     * A plan must leave a strict majority of the cluster's zones with none of their observers stopped (2 of 4 zones
     * stopped loses every Paxos majority as 2 of 3 does), or stop the whole cluster, or say
     * {@code allow_majority_loss: true}. The zones are counted over every play and after {@code --limit}.
     */
    static void checkMajority(Inventory inv, Playbook pb, PlanOptions opts, List<Play> plays) throws PlanException {
        if (pb.allowMajorityLoss()) {
            return;
        }
        String lost = majorityLost(inv, pb, plays, false);
        if (lost == null) {
            return;
        }
        List<Play> stopping = plays.stream().filter(p -> stops(p, false)).toList();
        StringBuilder m = new StringBuilder(stopping.get(0).targets().where()).append(": ");
        boolean limited = !opts.limit().isEmpty();
        String limit = "--limit " + String.join(",", opts.limit());
        if (stopping.size() == 1) {
            m.append("these targets (").append(stopping.get(0).targets().description()).append(")").append(limited ? " with " + limit : "");
        } else {
            m.append("together, the plays").append(limited ? " with " + limit : "");
        }
        m.append(lost);
        List<String> causes = new ArrayList<>();
        if (stopping.size() > 1) {
            List<String> each = new ArrayList<>();
            for (Play p : stopping) {
                List<Step> steps = p.steps().stream().filter(s -> s.kind().stops()).toList();
                each.add((steps.size() == 1 ? "step " : "steps ") + String.join(", ", steps.stream().map(s -> String.valueOf(s.index())).toList())
                        + " (" + p.targets().where() + ")" + (steps.size() == 1 ? " stops " : " stop ")
                        + String.join(", ", zones(inv, p.servers())));
            }
            causes.add(String.join("; ", each));
        }
        if (limited) {
            String without = majorityLost(inv, pb, plays, true);
            causes.add(without == null ? limit + " causes it: without it the plan stops the whole cluster or leaves a majority"
                    + " of zones running" : "without " + limit + " too");
        }
        if (!causes.isEmpty()) {
            m.append(" (").append(String.join("; ", causes)).append(")");
        }
        int total = inv.zones().size();
        m.append(": with no strict majority of zones running, every tenant loses its Paxos majority. Expected at most ")
                .append((total - 1) / 2).append(" of ").append(total).append(" zone(s) stopped while the others run; stop the")
                .append(" whole cluster (every observer, e.g. 'targets: { all: true }' and no --limit that leaves servers out),")
                .append(" or set 'allow_majority_loss: true' if you mean it");
        throw new PlanException(m.toString());
    }

    /** Whether a play stops an observer (of its targets, or of the servers left after --limit). */
    private static boolean stops(Play p, boolean unlimited) {
        return p.steps().stream().anyMatch(s -> s.kind().stops())
                && (unlimited ? p.targets().servers() : p.servers()).stream().anyMatch(s -> s.role() == Role.OBSERVER);
    }

    /**
     * " stop servers in K of N zones (...) while ... running" when, at some moment of the plan, the observers that are
     * down (stopped by an earlier batch and not started again, or being stopped or restarted by this batch) leave no
     * strict majority of zones running, and the plan does not stop every observer; else null. The plays are taken
     * batch after batch as they run (a rolling play zone by zone), their targets if {@code unlimited}, else what
     * --limit left of them: a rolling restart has one zone down at a time, a parallel one all its zones at once.
     */
    private static String majorityLost(Inventory inv, Playbook pb, List<Play> plays, boolean unlimited) {
        Set<Server> stopped = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Play p : plays) {
            if (p.steps().stream().anyMatch(s -> s.kind().stops())) {
                for (Server s : unlimited ? p.targets().servers() : p.servers()) {
                    if (s.role() == Role.OBSERVER) {
                        stopped.add(s);
                    }
                }
            }
        }
        if (stopped.isEmpty() || stopped.containsAll(inv.observers())) {
            return null;  // nothing stopped, or the whole cluster: no majority is left running to lose
        }
        int total = inv.zones().size();
        Set<Server> down = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Play p : plays) {
            boolean stops = p.steps().stream().anyMatch(s -> s.kind().stops());
            for (Batch batch : batches(pb, unlimited ? p.targets().servers() : p.servers())) {
                Set<Server> during = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
                during.addAll(down);
                for (Server s : batch.servers()) {
                    if (stops && s.role() == Role.OBSERVER) {
                        during.add(s);
                    }
                }
                List<String> zones = zones(inv, during);
                List<String> running = inv.zoneNames().stream().filter(z -> !zones.contains(z)).toList();
                if (!zones.isEmpty() && running.size() * 2 <= total) {
                    return " stop servers in " + zones.size() + " of " + total + " zones (" + String.join(", ", zones)
                            + ") while " + (running.isEmpty() ? "no zone keeps" : String.join(", ", running)
                            + (running.size() == 1 ? " keeps" : " keep")) + " running"
                            + (pb.strategy() == Strategy.PARALLEL ? "" : " at once");
                }
                for (Step step : p.steps()) {
                    for (Server s : batch.servers()) {
                        if (s.role() != Role.OBSERVER) {
                            continue;
                        }
                        if (step.kind().starts()) {
                            down.remove(s);
                        } else if (step.kind().stops()) {
                            down.add(s);
                        }
                    }
                }
            }
        }
        return null;
    }

    /** The zones of the observers among {@code servers}, in inventory order. */
    private static List<String> zones(Inventory inv, java.util.Collection<Server> servers) {
        Set<String> of = new java.util.HashSet<>();
        for (Server s : servers) {
            if (s.role() == Role.OBSERVER) {
                of.add(s.group());
            }
        }
        return inv.zoneNames().stream().filter(of::contains).toList();
    }

    /** The exact work of a step on one server. */
    public static TaskData taskData(Server s, Step step) {
        return taskData(s, step, script(s, step));
    }

    /** The work of a step on one server whose script is {@code script}. */
    static TaskData taskData(Server s, Step step, Script script) {
        return new TaskData(s.name(), s.role().processName(), s.host(), step.kind().yamlName(), step.index(),
                script.text(), step.timeout().toSeconds(), script.signals(), script.paths(),
                script.command(), script.ready(), script.library());
    }

    /** The script of a step on one server ({@link StepScripts#script}). */
    static Script script(Server s, Step step) {
        return StepScripts.script(s, step);
    }

    /** A one-line description of the hosts of a node, for people. */
    public static String hostsOf(Node n) {
        return n.subTasks().stream().map(t -> t.executeAgent().ip()).distinct().collect(Collectors.joining(", "));
    }
}
