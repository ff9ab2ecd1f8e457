package io.obplay.plan;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.core.io.SerializedString;
import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.playbook.Step;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A plan whose sub-tasks are not made yet (see {@link Planner#compile}): its stages, ids and data are decided.
 * {@link #plan()} makes every sub-task and gives the {@link Plan} that {@link Planner#plan} gives;
 * {@link #writeObshell} writes the same plan as obshell JSON ({@link ObshellJson#write(Dag)}'s text), making each
 * sub-task's script as it writes it and dropping it right after, so that memory does not grow with the fleet.
 * For one thread at a time.
 */
public final class LazyPlan {

    /** One node of the DAG, before its sub-tasks are made: a step on a batch of servers. */
    record Stage(String id, long nodeId, String name, Map<String, Object> data, Step step, List<Server> servers,
                 long firstTaskId) {
    }

    private final char kind;
    private final long ipv4;
    private final int agentPort;
    private final String name;
    private final int maintenanceType;
    private final String maintenanceKey;
    /** The DAG's additional_data without "libraries" and "hosts", which come from the sub-tasks. */
    private final Map<String, Object> dagData;
    private final List<Stage> stages;

    LazyPlan(char kind, long ipv4, int agentPort, String name, int maintenanceType, String maintenanceKey,
             Map<String, Object> dagData, List<Stage> stages) {
        this.kind = kind;
        this.ipv4 = ipv4;
        this.agentPort = agentPort;
        this.name = name;
        this.maintenanceType = maintenanceType;
        this.maintenanceKey = maintenanceKey;
        this.dagData = dagData;
        this.stages = List.copyOf(stages);
    }

    private String id(long localId) {
        return new GenericId(kind, ipv4, agentPort, localId).toString();
    }

    /** Makes every sub-task: the plan {@link Planner#plan} gives. May throw what the step scripts throw. */
    public Plan plan() {
        List<Node> nodes = new ArrayList<>(stages.size());
        for (Stage st : stages) {
            List<SubTask> tasks = new ArrayList<>(st.servers().size());
            long taskId = st.firstTaskId();
            for (Server s : st.servers()) {
                TaskData data = Planner.taskData(s, st.step());
                tasks.add(new SubTask(id(taskId), taskId, st.step().name(), State.PENDING, Operator.RUN, Times.UNSET,
                        Times.UNSET, data.toMap(), 0, new ExecuteAgent(s.host(), s.agentPort()), List.of()));
                taskId++;
            }
            nodes.add(new Node(st.id(), st.nodeId(), st.name(), State.PENDING, Operator.RUN, Times.UNSET, Times.UNSET,
                    st.data(), tasks));
        }
        Map<String, Object> data = new LinkedHashMap<>(dagData);
        Map<String, Object> libraries = new TreeMap<>();
        Set<String> hosts = new HashSet<>();
        for (Node n : nodes) {
            for (SubTask t : n.subTasks()) {
                String lib = (String) t.additionalData().get("library");
                if (lib != null) {
                    libraries.computeIfAbsent(lib, StepScripts::library);
                }
                hosts.add(t.executeAgent().ip());
            }
        }
        data.put("libraries", libraries);
        data.put("hosts", (long) hosts.size());
        return new Plan(new Dag(id(1), 1, name, 1, nodes.size(), maintenanceType, maintenanceKey, State.READY, Operator.RUN,
                Times.UNSET, Times.UNSET, data, nodes));
    }

    /** The number of sub-tasks. */
    public long subTaskCount() {
        long n = 0;
        for (Stage st : stages) {
            n += st.servers().size();
        }
        return n;
    }

    /**
     * Whether {@link #writeObshell} can write this plan: true when no step script can refuse its input, so that
     * nothing fails halfway through the output. Otherwise use {@link #plan()}, which throws what
     * {@link Planner#plan} throws. Conservative: it checks every value a script checks (no NUL characters, ports
     * in range, a pid file, durations not negative) and that nothing is null.
     */
    public synchronized boolean streamable() {
        Boolean known = streamable;
        if (known == null) {
            streamable = known = checkStreamable();
        }
        return known;
    }

    private Boolean streamable;

    /**
     * Per server list of the stages (by identity): for each server, the index of the first of the run of
     * {@link #alike} servers it is in. Made by {@link #streamable()}.
     */
    private final Map<List<Server>, int[]> alikeRuns = new java.util.IdentityHashMap<>();

    /**
     * Whether two servers are the same in all that a step script reads of a server but its name and host: role,
     * home, ports, pid files and declared directories (see {@link StepScripts}), in the same order.
     */
    static boolean alike(Server a, Server b) {
        return a.role() == b.role() && a.home().equals(b.home()) && sameInOrder(a.ports(), b.ports())
                && sameInOrder(a.pidFiles(), b.pidFiles()) && sameInOrder(a.dirs(), b.dirs());
    }

    private static <V> boolean sameInOrder(Map<String, V> a, Map<String, V> b) {
        if (a == b) {
            return true;
        }
        if (a.size() != b.size()) {
            return false;
        }
        java.util.Iterator<Map.Entry<String, V>> i = a.entrySet().iterator();
        java.util.Iterator<Map.Entry<String, V>> k = b.entrySet().iterator();
        while (i.hasNext()) {
            Map.Entry<String, V> x = i.next();
            Map.Entry<String, V> y = k.next();
            if (!x.getKey().equals(y.getKey()) || !java.util.Objects.equals(x.getValue(), y.getValue())) {
                return false;
            }
        }
        return true;
    }

    private boolean checkStreamable() {
        // A play's steps share its batches' server lists and a step may have several batches: each list and
        // each step is checked once.
        Set<Object> checked = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Stage st : stages) {
            Step step = st.step();
            if (step == null || step.timeout() == null || step.name() == null) {
                return false;
            }
            if (checked.add(step) && !clean(step)) {
                return false;
            }
            if (checked.add(st.servers())) {
                // a server alike the one before it (see alike) has the same strings but its name and host
                List<Server> servers = st.servers();
                int[] runs = new int[servers.size()];
                for (int i = 0; i < runs.length; i++) {
                    Server s = servers.get(i);
                    if (i > 0 && alike(s, servers.get(i - 1))) {
                        runs[i] = runs[i - 1];
                        if (!text(s.name()) || !text(s.host())) {
                            return false;
                        }
                    } else {
                        runs[i] = i;
                        if (!clean(s)) {
                            return false;
                        }
                    }
                }
                alikeRuns.put(servers, runs);
            }
            if (step instanceof Step.Shell shell) {
                Map<String, String> command = shell.command();
                for (Server s : st.servers()) {
                    if (command.get(s.name()) == null) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    /** A step whose durations, cleanup paths and commands no step script refuses. */
    private static boolean clean(Step step) {
        return step.accept(new Step.Visitor<>() {
            @Override
            public Boolean stop(Step.Stop x) {
                return duration(x.grace()) && duration(x.killWait()) && duration(x.settle());
            }

            @Override
            public Boolean kill(Step.Kill x) {
                return duration(x.killWait()) && duration(x.settle());
            }

            @Override
            public Boolean cleanup(Step.Cleanup x) {
                for (List<String> paths : x.paths().values()) {
                    for (String p : paths) {
                        if (!text(p)) {
                            return false;
                        }
                    }
                }
                return true;
            }

            @Override
            public Boolean shell(Step.Shell x) {
                for (String c : x.command().values()) {
                    if (!text(c)) {
                        return false;
                    }
                }
                return true;
            }
        });
    }

    private static List<String> pathsOn(Step step, Server s) {
        return step instanceof Step.Cleanup c ? c.paths().get(s.name()) : null;
    }

    private static boolean duration(Duration d) {
        if (d == null || d.isNegative()) {
            return false;
        }
        try {
            d.toMillis();  // the scripts count in 1/100 s
            return true;
        } catch (ArithmeticException e) {
            return false;
        }
    }

    private static boolean text(String s) {
        return s != null && s.indexOf('\0') < 0;
    }

    /** A server no step script refuses. */
    private static boolean clean(Server s) {
        if (s == null || s.role() == null || !text(s.name()) || !text(s.host()) || !text(s.home()) || s.ports() == null
                || s.dirs() == null || s.pidFiles() == null) {
            return false;
        }
        for (Map.Entry<String, Integer> p : s.ports().entrySet()) {
            if (p.getKey() == null || p.getValue() == null || p.getValue() < 1 || p.getValue() > 65535) {
                return false;
            }
        }
        for (String d : s.dirs().values()) {
            if (!text(d)) {
                return false;
            }
        }
        for (String f : s.pidFiles().values()) {
            if (!text(f)) {
                return false;
            }
        }
        String pid = s.pidFiles().get("server");
        return pid != null && !pid.isEmpty();
    }

    /**
     * The script of a step on servers alike in all that a step script reads of a server but its name and host: the
     * role, home, ports, pid files and declared directories (and the step's paths or command for it). Their scripts
     * differ only where the name and host are: {@code prefix + quote(name) + "\nHOST=" + quote(host) + suffix}
     * (stop, kill and cleanup scripts, whose header has the lines {@code NAME=} and {@code HOST=}), or
     * {@code prefix + quote(name) + suffix}, or are the same when neither is in it. Made from one server's own
     * script; the second server of a shape, and every 256th, is checked against its own script, and a difference
     * ends the use of shapes for the plan. In a fleet of alike servers, this makes each sub-task's script (and its
     * JSON) a copy rather than a build.
     */
    private static final class Shape {
        final Server first;
        final Script script;
        /** Null when neither the name nor the host is in the script. */
        final String prefix;
        final String suffix;
        /** Whether the host follows the name (the header's NAME= and HOST= lines). */
        final boolean withHost;
        /** The script as a JSON string when the name is not in it, else null. */
        private final SerializableString json;
        /** When the name is in the script: the JSON string's text up to the name, and after it (or the host); else null. */
        private final SerializableString jsonPrefix;
        private final SerializableString jsonSuffix;
        final List<String> paths;
        final String command;
        final int firstRun;
        int uses = 1;

        private Shape(Server first, int firstRun, Script script, String prefix, String suffix, boolean withHost,
                      List<String> paths, String command) {
            this.first = first;
            this.firstRun = firstRun;
            this.script = script;
            this.prefix = prefix;
            this.suffix = suffix;
            this.withHost = withHost;
            this.paths = paths;
            this.command = command;
            // the script's JSON string, escaped once: whole, or up to the name and after it
            if (suffix == null) {
                this.json = new SerializedString(script.text());
                this.jsonPrefix = this.jsonSuffix = null;
            } else {
                this.json = null;
                this.jsonPrefix = new SerializedString('"' + escaped(prefix));
                this.jsonSuffix = new SerializedString(escaped(suffix) + '"');
            }
        }

        /** What stands between prefix and suffix for {@code s}. */
        String middle(Server s) {
            return withHost ? StepScripts.quote(s.name()) + HOST + StepScripts.quote(s.host()) : StepScripts.quote(s.name());
        }

        /** The script's JSON string for {@code s}: the same text as {@code writeString(prefix + middle(s) + suffix)}. */
        void writeScript(JsonGenerator g, Server s) throws IOException {
            if (json != null) {
                g.writeString(json);
            } else {
                g.writeRawValue(jsonPrefix);
                g.writeRaw(escaped(middle(s)));
                g.writeRaw(jsonSuffix);
            }
        }

        private static String escaped(String s) {
            return new String(JsonStringEncoder.getInstance().quoteAsString(s));
        }

        private static final String HOST = "\nHOST=";

        /** The shape of {@code s}'s script, or null when the name (or the name and host) is in it more than once. */
        static Shape of(Server s, int run, Step step, Script script) {
            String text = script.text();
            String name = StepScripts.quote(s.name());
            List<String> paths = pathsOn(step, s);
            String command = step.commandOn(s.name());
            String both = "\nNAME=" + name + HOST + StepScripts.quote(s.host()) + "\n";
            int at = text.indexOf(both);
            if (at >= 0) {
                if (text.indexOf(both, at + 1) >= 0 || text.indexOf(name, at + both.length()) >= 0 || text.lastIndexOf(name, at) >= 0) {
                    return null;
                }
                int from = at + "\nNAME=".length();
                return new Shape(s, run, script, text.substring(0, from), text.substring(at + both.length() - 1), true,
                        paths, command);
            }
            at = text.indexOf(name);
            if (at < 0) {
                return text.contains(StepScripts.quote(s.host())) ? null : new Shape(s, run, script, null, null, false, paths, command);
            }
            if (text.indexOf(name, at + 1) >= 0) {
                return null;
            }
            return new Shape(s, run, script, text.substring(0, at), text.substring(at + name.length()), false, paths, command);
        }

        /**
         * Whether {@code s} (at {@code run} of the alike runs) is alike the first server in all that its step
         * script reads, but its name and host: the same run of alike servers, the same paths or command.
         */
        boolean fits(Server s, int run, Step step) {
            return run == firstRun && java.util.Objects.equals(pathsOn(step, s), paths)
                    && java.util.Objects.equals(step.commandOn(s.name()), command);
        }

        /** Whether this shape gives {@code s} exactly its own script. */
        boolean gives(Script own, Server s) {
            String text = suffix == null ? script.text() : prefix + middle(s) + suffix;
            return own.text().equals(text) && own.signals().equals(script.signals()) && own.paths().equals(script.paths())
                    && java.util.Objects.equals(own.library(), script.library());
        }
    }

    /** The library a step's script on a server calls, as {@link StepScripts} decides it; null for none. */
    static String libraryOf(Server s, Step step) {
        return switch (step.kind()) {
            case STOP, KILL -> s.role() == Role.OBPROXY && s.pidFiles().get("daemon") != null
                    ? StepScripts.STOP_OBPROXY_LIBRARY : StepScripts.STOP_LIBRARY;
            case CLEANUP -> StepScripts.CLEANUP_LIBRARY;
            case SHELL -> StepScripts.shellLibrary(step.commandOn(s.name()));
        };
    }

    /**
     * Writes the plan as obshell JSON with a final newline (UTF-8, flushed, not closed), making each sub-task as
     * it goes. Only when {@link #streamable()}.
     */
    public void writeObshell(OutputStream out) throws IOException {
        try (JsonGenerator g = ObshellStream.generator(out)) {
            write(g);
        }
    }

    /** The same to a writer. */
    public void writeObshell(Writer out) throws IOException {
        try (JsonGenerator g = ObshellStream.generator(out)) {
            write(g);
        }
    }

    private void write(JsonGenerator j) throws IOException {
        if (!streamable()) {
            throw new IllegalStateException("this plan has input a step script refuses; make it with plan()");
        }
        Map<String, Object> data = new LinkedHashMap<>(dagData);
        Map<String, Object> libraries = new TreeMap<>();
        Set<String> hosts = new HashSet<>();
        for (Stage st : stages) {
            for (Server s : st.servers()) {
                String lib = libraryOf(s, st.step());
                if (lib != null) {
                    libraries.computeIfAbsent(lib, StepScripts::library);
                }
                hosts.add(s.host());
            }
        }
        data.put("libraries", libraries);
        data.put("hosts", (long) hosts.size());
        {
            ObshellStream.dagStart(j, id(1), 1, name, 1, stages.size(), maintenanceType, maintenanceKey, State.READY,
                    Operator.RUN, Times.UNSET, Times.UNSET, data);
            List<String> noLogs = List.of();
            boolean shapes = true;  // false once a shape's script was found to differ from the server's own
            for (Stage st : stages) {
                ObshellStream.nodeStart(j, st.id(), st.nodeId(), st.name(), State.PENDING, Operator.RUN, Times.UNSET,
                        Times.UNSET, st.data());
                Step step = st.step();
                String taskName = step.name();
                String kind = step.kind().yamlName();
                long timeout = step.timeout().toSeconds();
                long taskId = st.firstTaskId();
                Shape shape = null;
                List<Server> servers = st.servers();
                int[] runs = alikeRuns.get(servers);
                for (int i = 0; i < servers.size(); i++) {
                    Server s = servers.get(i);
                    String command = step.commandOn(s.name());
                    Script script = null;  // the server's own script, or null to use the shape's
                    if (shapes && shape != null && shape.fits(s, runs[i], step)) {
                        if (++shape.uses == 2 || shape.uses % 256 == 0) {
                            Script own = Planner.script(s, step);
                            if (!shape.gives(own, s)) {
                                shapes = false;  // the scripts read something the shape does not hold: no shapes
                                script = own;
                            }
                        }
                    } else {
                        script = Planner.script(s, step);
                        shape = shapes ? Shape.of(s, runs[i], step, script) : null;
                    }
                    Script made = script != null ? script : shape.script;
                    if (!java.util.Objects.equals(made.library(), libraryOf(s, step))) {
                        throw new IllegalStateException("library " + made.library() + " of " + s.name() + " was not foreseen");
                    }
                    ObshellStream.taskStart(j, id(taskId), taskId, taskName, State.PENDING, Operator.RUN, Times.UNSET, Times.UNSET);
                    ObshellStream.taskDataHead(j, s.name(), s.role().processName(), s.host(), kind, step.index(), timeout,
                            made.signals(), made.paths(), command, made.library());
                    if (script != null) {
                        j.writeString(script.text());
                    } else {
                        shape.writeScript(j, s);
                    }
                    j.writeEndObject();
                    ObshellStream.taskEnd(j, 0, new ExecuteAgent(s.host(), s.agentPort()), noLogs);
                    taskId++;
                }
                ObshellStream.nodeEnd(j);
            }
            ObshellStream.dagEnd(j);
        }
    }
}
