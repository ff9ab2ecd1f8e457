package io.obplay.playbook;

import io.obplay.inventory.InvalidInputException;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.ObproxyCluster;
import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.inventory.Setting;
import io.obplay.inventory.Suggest;
import io.obplay.inventory.YamlMap;
import io.obplay.inventory.YamlSource;
import io.obplay.inventory.Zone;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** Reads a playbook and resolves it against an inventory, reporting every mistake at once. */
public final class PlaybookLoader {
    static final List<String> TOP_KEYS = List.of("name", "targets", "strategy", "serial", "forks",
            "max_fail_percentage", "allow_majority_loss", "gate", "steps");
    static final List<String> GATE_KEYS = List.of("timeout", "pause", "interval", "obshell", "sql", "command");
    static final List<String> TARGET_KEYS = List.of("all", "zones", "servers", "obproxy");
    static final List<String> OBPROXY_TARGET_KEYS = List.of("cluster", "servers");
    static final List<String> STEP_COMMON_KEYS = List.of("name", "tags", "timeout", "on");
    static final List<String> ACTIONS = List.of("stop", "kill", "cleanup", "shell", "start", "restart");

    public static final Duration DEFAULT_GRACE = Duration.ofSeconds(60);
    public static final Duration DEFAULT_KILL_WAIT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);
    public static final int DEFAULT_FORKS = 50;
    /** The longest grace a stop may give (a day), and the longest wait after a KILL (an hour). */
    public static final Duration MAX_GRACE = Duration.ofHours(24);
    public static final Duration MAX_KILL_WAIT = Duration.ofHours(1);
    public static final Duration MAX_SETTLE = Duration.ofHours(1);
    public static final Duration MAX_WAIT = Duration.ofHours(6);

    private final YamlSource src;
    private final Inventory inventory;

    private PlaybookLoader(YamlSource src, Inventory inventory) {
        this.src = src;
        this.inventory = inventory;
    }

    public static Playbook load(Path file, Inventory inventory) throws InvalidInputException {
        return load(YamlSource.read(file), inventory);
    }

    public static Playbook load(YamlSource src, Inventory inventory) throws InvalidInputException {
        Playbook p = new PlaybookLoader(src, inventory).read();
        if (!src.problems().isEmpty()) {
            throw new InvalidInputException(src.problems());
        }
        return p;
    }

    private Playbook read() {
        YamlMap top = src.rootMap("the playbook");
        if (top == null) {
            return null;
        }
        if (!top.has("steps") && !top.has("targets") && (top.has("zones") || top.has("cluster") || top.has("obproxy"))) {
            src.problem(top.node(), "this is an inventory (it has " + (top.has("zones") ? "'zones'" : top.has("cluster") ? "'cluster'" : "'obproxy'")
                    + "), given as the playbook; expected a playbook (name:, targets:, steps:) as the argument and the inventory after -i");
            return null;
        }
        top.allow(TOP_KEYS);
        String name = top.requiredString("name");
        io.obplay.inventory.InputChecks.shownName(src, top.value("name"), "the playbook name", name);
        Targets targets = null;
        if (!top.has("targets")) {
            src.problem(top.node(), "the playbook needs 'targets': all: true, zones: [...], servers: [...] or obproxy: {...}");
        } else {
            targets = targets(top.map("targets"), top.value("targets"), "targets");
        }
        Strategy strategy = Strategy.PARALLEL;
        int serial = 0;
        Node strategyNode = top.value("strategy");
        if (strategyNode != null && !(strategyNode instanceof ScalarNode)) {
            YamlMap sm = top.map("strategy");
            if (sm != null) {
                sm.allow(List.of("serial"));
                Integer n = sm.integer("serial", 1, 1_000_000, "a number of hosts per batch, at least 1");
                strategy = Strategy.SERIAL;
                serial = n == null ? 1 : n;
            }
        } else if (strategyNode != null) {
            Strategy s = top.enumValue("strategy", Strategy.class);
            strategy = s == null ? Strategy.PARALLEL : s;
        }
        if (top.has("serial")) {
            Integer n = top.integer("serial", 1, 1_000_000, "a number of hosts per batch, at least 1");
            if (strategyNode != null && strategy != Strategy.SERIAL) {
                src.problem(top.keyNode("serial"), "'serial' goes with strategy: serial, not " + strategy.name().toLowerCase());
            }
            strategy = Strategy.SERIAL;
            serial = n == null ? 1 : n;
        } else if (strategy == Strategy.SERIAL && serial == 0) {
            src.problem(strategyNode, "strategy: serial needs a batch size: 'serial: N' or strategy: { serial: N }");
        }
        Integer forks = top.integer("forks", 1, 10_000, "a number of hosts acted on at once, from 1 to 10000");
        Integer maxFail = top.integer("max_fail_percentage", 0, 100, "a percentage from 0 to 100");
        Boolean majority = top.bool("allow_majority_loss");
        List<Step> steps = new ArrayList<>();
        List<Node> stepNodes = top.list("steps");
        if (stepNodes == null || stepNodes.isEmpty()) {
            src.problem(top.has("steps") ? top.value("steps") : top.node(), "the playbook has no steps; expected 'steps:' with at least one of: "
                    + String.join(", ", ACTIONS));
        } else {
            for (Node n : stepNodes) {
                Step s = step(steps.size() + 1, n, targets);
                if (s != null) {
                    steps.add(s);
                }
            }
        }
        ZoneGate gate = top.has("gate") ? gate(top, strategy, steps) : null;
        return new Playbook(src.file(), src.sha256(), name, targets, strategy, serial,
                forks == null ? DEFAULT_FORKS : forks, maxFail == null ? 0 : maxFail,
                majority != null && majority, steps, gate);
    }

    /**
     * {@code gate:} goes with {@code strategy: rolling} and a step that starts servers (start or restart): it is the
     * wait between zones, and nothing else would wait for it.
     */
    private ZoneGate gate(YamlMap top, Strategy strategy, List<Step> steps) {
        YamlMap g = top.map("gate");
        if (g == null) {
            return null;
        }
        g.allow(GATE_KEYS);
        if (strategy != Strategy.ROLLING) {
            src.problem(top.keyNode("gate"), "'gate' is the wait between zones of 'strategy: rolling'; this playbook's strategy is "
                    + strategy.name().toLowerCase() + ". Expected 'strategy: rolling' with it, or no gate");
        }
        if (!steps.isEmpty() && steps.stream().noneMatch(s -> s.kind().starts())) {
            src.problem(top.keyNode("gate"), "'gate' waits for the servers a rolling play starts again, and no step starts one;"
                    + " expected a 'start' or 'restart' step with it");
        }
        Duration timeout = orDefault(g.duration("timeout", Duration.ofSeconds(1), MAX_WAIT), ZoneGate.DEFAULT_TIMEOUT);
        Duration pause = orDefault(g.duration("pause", Duration.ZERO, MAX_WAIT), Duration.ZERO);
        Duration interval = orDefault(g.duration("interval", Duration.ofMillis(100), Duration.ofMinutes(10)), ZoneGate.DEFAULT_INTERVAL);
        if (pause.compareTo(timeout) >= 0) {
            src.problem(g.value("pause"), "'pause' is " + human(pause) + ", not shorter than the gate's timeout (" + human(timeout)
                    + "): no time would be left to check; expected a pause shorter than the timeout");
        }
        Boolean obshell = g.bool("obshell");
        Boolean sql = g.bool("sql");
        List<String> command = null;
        if (g.has("command")) {
            command = g.strings("command");
            if (command != null && (command.isEmpty() || command.get(0).isBlank())) {
                src.problem(g.value("command"), "the gate's 'command' is empty; expected an argv list, e.g. [\"sh\", \"-c\", \"./check.sh\"]");
            }
        }
        return new ZoneGate(pause, interval, timeout, obshell != null && obshell, sql != null && sql, command, src.where(top.keyNode("gate")));
    }

    private Targets targets(YamlMap t, Node at, String key) {
        if (t == null) {
            if (at != null && !YamlMap.isNull(at) && !(at instanceof ScalarNode)) {
                return null; // problem already recorded
            }
            src.problem(at, "'" + key + "' is empty; expected all: true, zones: [...], servers: [...] or obproxy: {...}");
            return null;
        }
        int problemsBefore = src.problems().size();
        t.allow(TARGET_KEYS);
        // by identity: an inventory's servers are distinct objects, and no two of them are equal (names are unique)
        Set<Server> chosen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        List<String> said = new ArrayList<>();
        Boolean all = t.bool("all");
        if (all != null && all) {
            chosen.addAll(inventory.observers());
            said.add("all: true");
        }
        List<String> zones = t.strings("zones");
        if (zones != null) {
            List<Node> zoneNodes = t.value("zones") instanceof org.yaml.snakeyaml.nodes.SequenceNode sq ? sq.getValue() : List.of(t.value("zones"));
            for (int i = 0; i < zones.size(); i++) {
                String z = zones.get(i);
                Zone zone = inventory.zone(z).orElse(null);
                if (zone == null) {
                    String near = Suggest.nearest(z, inventory.zoneNames());
                    src.problem(i < zoneNodes.size() ? zoneNodes.get(i) : t.value("zones"), "unknown zone '" + z + "'"
                            + (near != null ? " (did you mean '" + near + "'?)" : "") + "; zones in " + inventory.source() + ": "
                            + (inventory.zoneNames().isEmpty() ? "none" : String.join(", ", inventory.zoneNames())));
                } else {
                    chosen.addAll(zone.servers());
                }
            }
            said.add("zones: " + String.join(", ", zones));
        }
        List<String> servers = t.strings("servers");
        if (servers != null) {
            List<Node> nodes = t.value("servers") instanceof org.yaml.snakeyaml.nodes.SequenceNode sq ? sq.getValue() : List.of(t.value("servers"));
            // the observers by ip:agent_port and by host, each list in inventory order: one look-up per name
            // instead of a scan of the inventory per name
            List<Server> observers = inventory.observers();
            Map<String, List<Server>> byName = new java.util.HashMap<>();
            for (Server o : observers) {
                byName.computeIfAbsent(o.agentAddress(), k -> new ArrayList<>(1)).add(o);
                if (!o.host().equals(o.agentAddress())) {
                    byName.computeIfAbsent(o.host(), k -> new ArrayList<>(1)).add(o);
                }
            }
            for (int i = 0; i < servers.size(); i++) {
                String s = servers.get(i).trim();
                Node itemAt = i < nodes.size() ? nodes.get(i) : t.value("servers");
                // the canonical spelling: 010.0.1.1 is refused, DB1.example.com is db1.example.com, [::ffff:10.0.1.1]:2886 is 10.0.1.1:2886
                io.obplay.inventory.HostName.HostPort hp = io.obplay.inventory.HostName.parseWithPort(s);
                if (!hp.ok()) {
                    src.problem(itemAt, "server '" + io.obplay.inventory.Show.escaped(s) + "': " + hp.error()
                            + "; expected ip:agent_port, or a host for every observer on it");
                    continue;
                }
                s = hp.port() == 0 ? hp.host() : io.obplay.inventory.HostName.withPort(hp.host(), hp.port());
                List<Server> match = byName.getOrDefault(s, List.of());
                if (match.isEmpty()) {
                    List<String> names = inventory.observers().stream().map(Server::agentAddress).toList();
                    String near = Suggest.nearest(s, names);
                    src.problem(itemAt, "unknown server '" + s + "'"
                            + (near != null ? " (did you mean '" + near + "'?)" : "") + "; servers are named ip:agent_port, and "
                            + inventory.source() + " has: " + abbreviate(names));
                }
                chosen.addAll(match);
            }
            said.add("servers: " + String.join(", ", servers));
        }
        if (t.has("obproxy")) {
            chosen.addAll(obproxyTargets(t.map("obproxy"), t.value("obproxy"), said));
        }
        if (chosen.isEmpty() && src.problems().size() == problemsBefore) {
            src.problem(t.node(), "'" + key + "' selects no server; expected all: true, zones: [...], servers: [...] or obproxy: {...}");
        }
        List<Server> ordered = inventory.servers().stream().filter(chosen::contains).toList();
        return new Targets(String.join("; ", said), all != null && all, ordered, src.where(t.node()));
    }

    private List<Server> obproxyTargets(YamlMap o, Node at, List<String> said) {
        List<Server> out = new ArrayList<>();
        if (o == null) {
            src.problem(at, "'obproxy' targets need { cluster: ID, servers: [IDs] } (servers optional: all of the cluster)");
            return out;
        }
        o.allow(OBPROXY_TARGET_KEYS);
        List<ObproxyCluster> clusters = inventory.obproxyClusters();
        String ids = clusters.isEmpty() ? "none" : clusters.stream().map(c -> c.id() + " (" + c.name() + ")").collect(Collectors.joining(", "));
        ObproxyCluster cluster;
        if (!o.has("cluster")) {
            if (clusters.size() != 1) {
                src.problem(o.node(), "'obproxy' targets need 'cluster: ID' when the inventory has " + clusters.size()
                        + " obproxy clusters; clusters in " + inventory.source() + ": " + ids);
                return out;
            }
            cluster = clusters.get(0);
        } else {
            Integer id = o.integer("cluster", 1, Integer.MAX_VALUE, "an obproxy cluster id");
            if (id == null) {
                return out;
            }
            cluster = inventory.obproxyCluster(id).orElse(null);
            if (cluster == null) {
                src.problem(o.value("cluster"), "unknown obproxy cluster id " + id + "; obproxy clusters in " + inventory.source() + ": " + ids);
                return out;
            }
        }
        List<String> serverIds = o.strings("servers");
        if (serverIds == null) {
            out.addAll(cluster.servers());
            said.add("obproxy cluster " + cluster.id());
            return out;
        }
        List<Node> nodes = o.value("servers") instanceof org.yaml.snakeyaml.nodes.SequenceNode sq ? sq.getValue() : List.of(o.value("servers"));
        String existing = cluster.servers().stream().map(s -> String.valueOf(s.serverId())).collect(Collectors.joining(", "));
        for (int i = 0; i < serverIds.size(); i++) {
            String sid = serverIds.get(i).trim();
            Server match = cluster.servers().stream().filter(s -> String.valueOf(s.serverId()).equals(sid)).findFirst().orElse(null);
            if (match == null) {
                src.problem(i < nodes.size() ? nodes.get(i) : o.value("servers"), "unknown obproxy server id '" + sid + "' in obproxy cluster "
                        + cluster.id() + "; its servers: " + existing);
            } else {
                out.add(match);
            }
        }
        said.add("obproxy cluster " + cluster.id() + " servers " + String.join(", ", serverIds));
        return out;
    }

    private Step step(int index, Node n, Targets playbookTargets) {
        YamlMap m = YamlMap.of(src, n, "step " + index);
        if (m == null) {
            return null;
        }
        List<String> actions = m.keys().stream().filter(ACTIONS::contains).toList();
        List<String> allowed = new ArrayList<>(STEP_COMMON_KEYS);
        allowed.addAll(ACTIONS);
        m.allow(allowed);
        if (actions.size() != 1) {
            src.problem(n, "step " + index + (actions.isEmpty() ? " has no action" : " has " + actions.size() + " actions (" + String.join(", ", actions) + ")")
                    + "; expected exactly one of: " + String.join(", ", ACTIONS));
            return null;
        }
        String action = actions.get(0);
        StepKind kind = StepKind.valueOf(action.toUpperCase());
        String name = m.string("name");
        io.obplay.inventory.InputChecks.shownName(src, m.value("name"), "the step name", name);
        List<String> tagList = m.strings("tags");
        if (tagList != null) {
            tagList.forEach(t -> io.obplay.inventory.InputChecks.shownName(src, m.value("tags"), "the tag", t));
        }
        Set<String> tags = tagList == null ? Set.of() : new LinkedHashSet<>(tagList);
        Duration timeout = m.duration("timeout", Duration.ofMillis(1), YamlMap.MAX_DURATION);
        Targets on = null;
        if (m.has("on")) {
            on = targets(m.map("on"), m.value("on"), "on");
        }
        Targets effective = on != null ? on : playbookTargets;
        Duration grace = null;
        Duration killWait = null;
        Duration settle = null;
        Map<String, List<String>> paths = null;
        Map<String, String> command = null;
        Duration wait = null;
        switch (kind) {
            case STOP, KILL -> {
                YamlMap p = params(m, action, kind == StepKind.STOP ? List.of("grace", "kill_wait", "settle")
                        : List.of("kill_wait", "settle"));
                grace = kind == StepKind.STOP ? orDefault(p == null ? null : p.duration("grace", Duration.ofMillis(1), MAX_GRACE), DEFAULT_GRACE) : Duration.ZERO;
                killWait = orDefault(p == null ? null : p.duration("kill_wait", Duration.ofMillis(1), MAX_KILL_WAIT), DEFAULT_KILL_WAIT);
                settle = orDefault(p == null ? null : p.duration("settle", Duration.ZERO, MAX_SETTLE), Step.DEFAULT_SETTLE);
                if (timeout == null) {
                    timeout = grace.plus(killWait).plus(settle).plusSeconds(30);
                } else {
                    checkTimeout(m, kind, timeout, grace, killWait, settle);
                }
            }
            case CLEANUP -> {
                YamlMap p = params(m, action, List.of("paths"));
                paths = cleanupPaths(p, m, effective);
            }
            case SHELL -> command = shell(m, effective);
            case START -> {
                YamlMap p = params(m, action, List.of("wait", "settle"));
                wait = orDefault(p == null ? null : p.duration("wait", Duration.ofMillis(1), MAX_WAIT), Step.Start.DEFAULT_WAIT);
                settle = orDefault(p == null ? null : p.duration("settle", Duration.ZERO, MAX_SETTLE), Step.DEFAULT_SETTLE);
                Duration needed = wait.plus(settle);
                if (timeout == null) {
                    timeout = needed.plusSeconds(30);
                } else if (timeout.compareTo(needed) <= 0) {
                    src.problem(m.value("timeout"), "'timeout' is " + human(timeout) + ", not longer than wait + settle ("
                            + human(needed) + "): the start would be ended before it can see the server ready; expected a"
                            + " timeout longer than " + human(needed) + ", e.g. " + human(needed.plusSeconds(30)) + " (the default)");
                }
                command = startCommands(m, effective, action);
            }
            case RESTART -> {
                YamlMap p = params(m, action, List.of("grace", "kill_wait", "settle", "wait"));
                grace = orDefault(p == null ? null : p.duration("grace", Duration.ofMillis(1), MAX_GRACE), DEFAULT_GRACE);
                killWait = orDefault(p == null ? null : p.duration("kill_wait", Duration.ofMillis(1), MAX_KILL_WAIT), DEFAULT_KILL_WAIT);
                settle = orDefault(p == null ? null : p.duration("settle", Duration.ZERO, MAX_SETTLE), Step.DEFAULT_SETTLE);
                wait = orDefault(p == null ? null : p.duration("wait", Duration.ofMillis(1), MAX_WAIT), Step.Start.DEFAULT_WAIT);
                Duration needed = grace.plus(killWait).plus(settle).plus(wait).plus(settle);
                if (timeout == null) {
                    timeout = needed.plusSeconds(30);
                } else if (timeout.compareTo(needed) <= 0) {
                    src.problem(m.value("timeout"), "'timeout' is " + human(timeout) + ", not longer than grace + kill_wait + settle"
                            + " + wait + settle (" + human(needed) + "): the restart would be ended before its start can see the"
                            + " server ready; expected a timeout longer than " + human(needed) + ", e.g. "
                            + human(needed.plusSeconds(30)) + " (the default)");
                }
                command = startCommands(m, effective, action);
            }
            case GATE -> throw new IllegalStateException("a gate is not a step action");
        }
        if (timeout == null) {
            timeout = DEFAULT_TIMEOUT;
        }
        if (name == null) {
            name = defaultName(kind, what.computeIfAbsent(effective, PlaybookLoader::what));
        }
        Step.Head head = new Step.Head(index, name, tags, timeout, on, src.where(n));
        return switch (kind) {
            case STOP -> new Step.Stop(head, grace, killWait, settle);
            case KILL -> new Step.Kill(head, killWait, settle);
            case CLEANUP -> new Step.Cleanup(head, paths);
            case SHELL -> new Step.Shell(head, command);
            case START -> new Step.Start(head, wait, settle, command);
            case RESTART -> new Step.Restart(head, grace, killWait, settle, wait, command);
            case GATE -> throw new IllegalStateException("a gate is not a step action");
        };
    }

    /**
     * A stop's or kill's timeout must leave room for its own schedule: TERM, the grace, KILL, then kill_wait for the
     * process to go. A shorter timeout ends the step before the KILL (or before the wait after it) can happen.
     */
    private void checkTimeout(YamlMap step, StepKind kind, Duration timeout, Duration grace, Duration killWait, Duration settle) {
        Duration needed = grace.plus(killWait).plus(settle);
        if (timeout.compareTo(needed) > 0) {
            return;
        }
        String what = kind == StepKind.STOP
                ? (timeout.compareTo(grace) <= 0 ? "the KILL after the grace (" + human(grace) + ") can never come"
                : timeout.compareTo(grace.plus(killWait)) <= 0 ? "the wait after the KILL (kill_wait " + human(killWait) + ") can never end"
                : "the settle period (" + human(settle) + ") can never end")
                : timeout.compareTo(killWait) <= 0 ? "the wait after the KILL (kill_wait " + human(killWait) + ") can never end"
                : "the settle period (" + human(settle) + ") can never end";
        src.problem(step.value("timeout"), "'timeout' is " + human(timeout) + ", not longer than "
                + (kind == StepKind.STOP ? "grace + kill_wait + settle (" + human(needed) + ")" : "kill_wait + settle (" + human(needed) + ")")
                + ": " + what + " before the step is timed out; expected a timeout longer than " + human(needed)
                + ", e.g. " + human(needed.plusSeconds(30)) + " (the default)");
    }

    private static String human(Duration d) {
        if (d.toMillisPart() != 0 || d.isZero()) {
            return d.toMillis() + "ms";
        }
        long s = d.toSeconds();
        StringBuilder b = new StringBuilder();
        if (s >= 3600) {
            b.append(s / 3600).append('h');
        }
        if (s % 3600 >= 60) {
            b.append(s % 3600 / 60).append('m');
        }
        if (s % 60 != 0) {
            b.append(s % 60).append('s');
        }
        return b.toString();
    }

    /** What the servers of targets are, per targets (by identity; steps share their playbook's). */
    private final Map<Targets, String> what = new java.util.IdentityHashMap<>();

    private static String what(Targets targets) {
        String what = "servers";
        if (targets != null && !targets.servers().isEmpty()) {
            boolean proxies = true;
            boolean observers = true;
            for (Server s : targets.servers()) {
                proxies &= s.role() == Role.OBPROXY;
                observers &= s.role() == Role.OBSERVER;
            }
            what = proxies ? "obproxy" : observers ? "observer" : "servers";
        }
        return what;
    }

    private static String defaultName(StepKind kind, String what) {
        return switch (kind) {
            case STOP -> "Stop " + what;
            case KILL -> "Kill " + what;
            case CLEANUP -> "Clean " + what + " dirs";
            case SHELL -> "Run command on " + what;
            case START -> "Start " + what;
            case RESTART -> "Restart " + what;
            case GATE -> "Gate";
        };
    }

    private YamlMap params(YamlMap step, String action, List<String> allowed) {
        Node v = step.value(action);
        if (v == null || YamlMap.isNull(v)) {
            return null;
        }
        YamlMap p = step.map(action);
        if (p != null) {
            p.allow(allowed);
        }
        return p;
    }

    private Map<String, List<String>> cleanupPaths(YamlMap p, YamlMap step, Targets targets) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        List<String> wanted = p == null ? null : p.strings("paths");
        if (wanted == null || wanted.isEmpty()) {
            src.problem(p == null ? step.value("cleanup") == null ? step.node() : step.value("cleanup") : p.node(),
                    "cleanup needs 'paths': declared directory names (home, data_dir, redo_dir, clog_dir, slog_dir, ilog_dir (OceanBase 3.x), log, run, etc, ...) or absolute paths inside them");
            return out;
        }
        if (targets == null) {
            return out;
        }
        List<Node> nodes = p.value("paths") instanceof org.yaml.snakeyaml.nodes.SequenceNode sq ? sq.getValue() : List.of(p.value("paths"));
        for (int i = 0; i < wanted.size(); i++) {
            String w = wanted.get(i).trim();
            Node at = i < nodes.size() ? nodes.get(i) : p.value("paths");
            if (!w.startsWith("/") && !w.isEmpty() && w.matches("[a-z_]+")) {
                // a declared directory's name
                boolean reported = false;
                for (Server s : targets.servers()) {
                    String dir = s.dirs().get(w);
                    if (dir == null) {
                        if (!reported && w.equals("ilog_dir") && s.role() == Role.OBSERVER) {
                            Setting v = s.settings().get("version");
                            src.problem(at, "'ilog_dir' is a directory of OceanBase 3.x; " + s.name() + " is version "
                                    + (v == null ? "4" : v.value() + " (" + v.origin() + ")")
                                    + ", which has no ilog. Expected 'version: 3' in the inventory for a 3.x cluster");
                            reported = true;
                        } else if (!reported) {
                            String near = Suggest.nearest(w, s.dirs().keySet());
                            src.problem(at, "'" + w + "' is not a declared directory of " + s.name()
                                    + (near != null ? " (did you mean '" + near + "'?)" : "") + "; expected one of: "
                                    + String.join(", ", s.dirs().keySet()) + ", or an absolute path inside them");
                            reported = true;
                        }
                        continue;
                    }
                    addPath(out, s, dir);
                }
                continue;
            }
            String problem = InventoryLoader.absolutePathProblem(w);
            if (problem != null) {
                src.problem(at, "cleanup path '" + io.obplay.inventory.Show.escaped(w) + "': " + problem + " inside the server's declared directories, or a directory name");
                continue;
            }
            String path = w.replaceAll("/+$", "");
            for (Server s : targets.servers()) {
                if (s.dirs().values().stream().noneMatch(d -> path.equals(d) || path.startsWith(d + "/"))) {
                    src.problem(at, "cleanup path '" + w + "' lies outside the declared directories of " + s.name() + " ("
                            + s.dirs().entrySet().stream().filter(e -> List.of("home", "data_dir", "redo_dir", "clog_dir", "slog_dir", "ilog_dir").contains(e.getKey()))
                            .map(e -> e.getKey() + " " + e.getValue()).distinct().collect(Collectors.joining(", "))
                            + "); expected a path inside them");
                    break;
                }
                addPath(out, s, path);
            }
        }
        return out;
    }

    private static void addPath(Map<String, List<String>> out, Server s, String path) {
        List<String> list = out.computeIfAbsent(s.name(), k -> new ArrayList<>());
        if (!list.contains(path)) {
            list.add(path);
        }
    }

    /**
     * The inventory's {@code start_command} of each target that sets one, rendered as a {@code shell} command is
     * (values single-quoted); a template that does not compile or render is a problem at the step, naming the
     * server and where its start_command was set.
     */
    private Map<String, String> startCommands(YamlMap step, Targets targets, String action) {
        if (targets == null) {
            return new LinkedHashMap<>();
        }
        Node at = step.value(action);
        Set<String> reported = new LinkedHashSet<>();
        return startCommands(targets.servers(), (s, setting, e) -> {
            if (reported.add(setting.origin())) {
                src.problem(at, "the start_command of " + s.name() + " (" + setting.origin() + "), at offset " + e.offset()
                        + ": " + e.getMessage());
            }
        });
    }

    /** What a start_command that does not compile or render is reported to. */
    @FunctionalInterface
    public interface StartCommandProblem {
        void report(Server server, io.obplay.inventory.Setting setting, ShellTemplate.TemplateException e);
    }

    /**
     * The start commands of the servers whose inventory sets {@value #START_COMMAND}, rendered per server as
     * {@code shell}'s templates are (by server name; servers without one are left out, and launch as obshell does).
     * A template that cannot be used is reported and left out.
     */
    public static Map<String, String> startCommands(List<Server> servers, StartCommandProblem problems) {
        Map<String, String> out = new LinkedHashMap<>();
        Map<String, ShellTemplate> compiled = new java.util.HashMap<>();
        for (Server s : servers) {
            io.obplay.inventory.Setting setting = s.settings().get(START_COMMAND);
            if (setting == null || setting.value() == null) {
                continue;
            }
            String text = String.valueOf(setting.value());
            try {
                ShellTemplate template = compiled.get(text);
                if (template == null) {
                    template = ShellTemplate.compile(text);
                    compiled.put(text, template);
                }
                out.put(s.name(), template.render(s));
            } catch (ShellTemplate.TemplateException e) {
                problems.report(s, setting, e);
            }
        }
        return out;
    }

    /** The inventory key that replaces how a start step launches a server. */
    public static final String START_COMMAND = "start_command";

    private Map<String, String> shell(YamlMap step, Targets targets) {
        String text = step.string("shell");
        Map<String, String> out = new LinkedHashMap<>();
        Node at = step.value("shell");
        if (text == null || text.isBlank()) {
            src.problem(at, "shell needs a command, e.g. shell: \"ls {{home_path}}/run\"");
            return out;
        }
        ShellTemplate template;
        try {
            template = ShellTemplate.compile(text);
        } catch (ShellTemplate.TemplateException e) {
            templateProblem(at, e.offset(), "the shell command: " + e.getMessage());
            return out;
        }
        if (targets == null) {
            return out;
        }
        // each mistake once: a name missing on several servers is reported at its first use, for the first of them
        Set<String> reported = new LinkedHashSet<>();
        boolean renderReported = false;
        for (Server s : targets.servers()) {
            boolean missing = false;
            for (ShellTemplate.Ref r : template.references()) {
                if (ShellTemplate.value(s, r.name()) == null) {
                    missing = true;
                    if (reported.add(r.name())) {
                        List<String> names = new ArrayList<>(s.settings().keySet());
                        names.add("name");
                        String near = Suggest.nearest(r.name(), names);
                        templateProblem(at, r.offset(), "the shell command uses " + r.name() + " (in " + r.tag() + "), which " + s.name()
                                + " does not have" + (near != null ? " (did you mean '" + near + "'?)" : "")
                                + "; expected one of its settings: " + String.join(", ", s.settings().keySet()) + ", or name");
                    }
                }
            }
            if (missing) {
                continue;
            }
            try {
                out.put(s.name(), template.render(s));
            } catch (ShellTemplate.TemplateException e) {
                if (!renderReported) {
                    templateProblem(at, e.offset(), "the shell command on " + s.name() + ": " + e.getMessage());
                    renderReported = true;
                }
            }
        }
        return out;
    }

    /** A problem at a character of a shell command: its line and column in the file where they are known. */
    private void templateProblem(Node at, int offset, String message) {
        if (at instanceof ScalarNode scalar) {
            int[] lc = ScalarPositions.of(scalar, offset);
            src.problems().add(new io.obplay.inventory.Problem(src.file(), lc[0], lc[1], message));
        } else {
            src.problem(at, message);
        }
    }

    private static Duration orDefault(Duration d, Duration def) {
        return d == null ? def : d;
    }

    private static String abbreviate(List<String> names) {
        if (names.size() <= 10) {
            return String.join(", ", names);
        }
        return String.join(", ", names.subList(0, 10)) + " and " + (names.size() - 10) + " more";
    }
}
