package io.obplay.plan;

import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.playbook.Step;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
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
    public boolean streamable() {
        Boolean known = streamable;
        if (known == null) {
            streamable = known = checkStreamable();
        }
        return known;
    }

    private volatile Boolean streamable;

    /**
     * Per server list of the stages (by identity): for each server, the index of the first of the run of
     * {@link #alike} servers it is in. Made by {@link #streamable()}.
     */
    private final Map<List<Server>, int[]> alikeRuns = new java.util.IdentityHashMap<>();

    /**
     * Whether two servers are the same in all that a step script reads of a server but its name: role, home,
     * ports, pid files and declared directories (see {@link StepScripts}), in the same order.
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
            if (step == null || step.kind() == null || step.timeout() == null || step.name() == null) {
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
            if (step.kind() == io.obplay.playbook.StepKind.SHELL) {
                Map<String, String> command = step.command();
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
        switch (step.kind()) {
            case STOP -> {
                return duration(step.grace()) && duration(step.killWait());
            }
            case KILL -> {
                return duration(step.killWait());
            }
            case CLEANUP -> {
                for (List<String> paths : step.cleanupPaths().values()) {
                    for (String p : paths) {
                        if (!text(p)) {
                            return false;
                        }
                    }
                }
                return true;
            }
            default -> {
                for (String c : step.command().values()) {
                    if (!text(c)) {
                        return false;
                    }
                }
                return true;
            }
        }
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

    // A sub-task's template leaves holes for what differs between the sub-tasks of a shape (by identity).
    private static final String ID = new String("id");
    private static final String NAME = new String("name");
    private static final String HOST = new String("host");
    private static final String QUOTED_NAME = new String("'name'");
    private static final long TASK_ID = Long.MIN_VALUE;
    private static final long PORT = Integer.MIN_VALUE;

    /** The JSON of a sub-task of this stage and shape (not its stage's first), with holes; null if none. */
    private static JsonText.Template template(JsonText j, Stage st, Shape shape, String taskName, String kind, long timeout,
                                              String command) {
        JsonText r = j.recorder(2, new String[]{ID, NAME, HOST, QUOTED_NAME}, new long[]{TASK_ID, PORT});
        if (r == null) {
            return null;
        }
        Script sc = shape.script;
        ObshellStream.taskStart(r, ID, TASK_ID, taskName, State.PENDING, Operator.RUN, Times.UNSET, Times.UNSET);
        ObshellStream.taskDataHead(r, NAME, shape.first.role().processName(), HOST, kind, st.step().index(), timeout,
                sc.signals(), sc.paths(), command, sc.library());
        if (shape.suffix == null) {
            r.value(sc.text(), "", "");
        } else {
            r.value(shape.prefix, QUOTED_NAME, shape.suffix);
        }
        r.endObject();
        ObshellStream.taskEnd(r, 0, new ExecuteAgent(HOST, (int) PORT), List.of());
        return r.template();
    }

    /** What goes in a template's holes for one server. */
    private static Object[] values(JsonText.Template t, String id, long taskId, Server s) {
        Object[] v = new Object[t.holes.length];
        for (int i = 0; i < v.length; i++) {
            Object h = t.holes[i];
            v[i] = h == ID ? id : h == NAME ? s.name() : h == HOST ? s.host() : h == QUOTED_NAME ? StepScripts.quote(s.name())
                    : Long.valueOf(TASK_ID).equals(h) ? (Object) taskId : (Object) (long) s.agentPort();
        }
        return v;
    }

    /**
     * The script of a step on servers alike in all that a step script reads of a server but its name: the role,
     * home, ports, pid files and declared directories (and the step's paths or command for it). Their scripts
     * differ only where the name is: {@code prefix + quote(name) + suffix} (or are the same when no name is in
     * it). Made from one server's own script; the second server of a shape, and every 256th, is checked against
     * its own script, and a difference ends the use of shapes for the plan. In a fleet of alike servers, this
     * makes each sub-task's script (and its JSON) a copy rather than a build.
     */
    private static final class Shape {
        final Server first;
        final Script script;
        /** Null when the name is not in the script. */
        final String prefix;
        final String suffix;
        final List<String> paths;
        final String command;
        final int firstRun;
        int uses = 1;
        /** The JSON of a sub-task of this shape, made at its third use; null when there is none. */
        JsonText.Template template;

        private Shape(Server first, int firstRun, Script script, String prefix, String suffix, List<String> paths,
                      String command) {
            this.first = first;
            this.firstRun = firstRun;
            this.script = script;
            this.prefix = prefix;
            this.suffix = suffix;
            this.paths = paths;
            this.command = command;
        }

        /** The shape of {@code s}'s script, or null when the name is in it more than once. */
        static Shape of(Server s, int run, Step step, Script script) {
            String text = script.text();
            String name = StepScripts.quote(s.name());
            int at = text.indexOf(name);
            List<String> paths = step.cleanupPaths().get(s.name());
            String command = step.command().get(s.name());
            if (at < 0) {
                return new Shape(s, run, script, null, null, paths, command);
            }
            if (text.indexOf(name, at + 1) >= 0) {
                return null;
            }
            return new Shape(s, run, script, text.substring(0, at), text.substring(at + name.length()), paths, command);
        }

        /**
         * Whether {@code s} (at {@code run} of the alike runs) is alike the first server in all that its step
         * script reads, but its name: the same run of alike servers, the same paths or command.
         */
        boolean fits(Server s, int run, Step step) {
            return run == firstRun && java.util.Objects.equals(step.cleanupPaths().get(s.name()), paths)
                    && java.util.Objects.equals(step.command().get(s.name()), command);
        }

        /** Whether this shape gives {@code s} exactly its own script. */
        boolean gives(Script own, Server s) {
            String text = suffix == null ? script.text() : prefix + StepScripts.quote(s.name()) + suffix;
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
            case SHELL -> null;
        };
    }

    /**
     * Writes the plan as obshell JSON with a final newline (UTF-8, flushed, not closed), making each sub-task as
     * it goes. Only when {@link #streamable()}.
     */
    public void writeObshell(OutputStream out) throws IOException {
        write(ObshellStream.utf8(out));
    }

    /** The same to a writer. */
    public void writeObshell(Writer out) throws IOException {
        write(ObshellStream.chars(out));
    }

    private void write(JsonText j) throws IOException {
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
        try {
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
                    String command = step.kind() == io.obplay.playbook.StepKind.SHELL ? step.command().get(s.name()) : null;
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
                    if (script == null && shape.uses >= 3) {
                        // the same text as below, from the shape's template: only ids, name and host go in
                        if (shape.uses == 3) {
                            shape.template = template(j, st, shape, taskName, kind, timeout, command);
                        }
                        if (shape.template != null) {
                            j.fill(shape.template, values(shape.template, id(taskId), taskId, s));
                            taskId++;
                            continue;
                        }
                    }
                    ObshellStream.taskStart(j, id(taskId), taskId, taskName, State.PENDING, Operator.RUN, Times.UNSET, Times.UNSET);
                    ObshellStream.taskDataHead(j, s.name(), s.role().processName(), s.host(), kind, step.index(), timeout,
                            made.signals(), made.paths(), command, made.library());
                    if (script != null) {
                        j.value(script.text());
                    } else if (shape.suffix == null) {
                        j.value(shape.script.text(), "", "");
                    } else {
                        j.value(shape.prefix, StepScripts.quote(s.name()), shape.suffix);
                    }
                    j.endObject();
                    ObshellStream.taskEnd(j, 0, new ExecuteAgent(s.host(), s.agentPort()), noLogs);
                    taskId++;
                }
                ObshellStream.nodeEnd(j);
            }
            ObshellStream.dagEnd(j);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
