package io.obplay.plan;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.core.io.SerializedString;
import io.obplay.inventory.Server;
import io.obplay.playbook.Step;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.util.ArrayList;
import java.util.HashSet;
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
    private final DagData dagData;
    private final List<Stage> stages;

    LazyPlan(char kind, long ipv4, int agentPort, String name, int maintenanceType, String maintenanceKey,
             DagData dagData, List<Stage> stages) {
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
        String prefix = idPrefix;
        if (prefix == null) {  // what every id of this plan starts with: the id of local id 0 but its last digit
            String zero = new GenericId(kind, ipv4, agentPort, 0).toString();
            idPrefix = prefix = zero.substring(0, zero.length() - 1);
        }
        return prefix + localId;
    }

    private String idPrefix;

    /** Makes every sub-task: the plan {@link Planner#plan} gives. May throw what the step scripts throw. */
    public Plan plan() {
        List<Node> nodes = new ArrayList<>(stages.size());
        Map<String, Object> libraries = new TreeMap<>();
        Set<String> hosts = new HashSet<>();
        for (Stage st : stages) {
            List<SubTask> tasks = new ArrayList<>(st.servers().size());
            long taskId = st.firstTaskId();
            ScriptInput last = null;
            ScriptTemplate template = null;
            for (Server s : st.servers()) {
                ScriptInput in = ScriptInput.of(s, st.step());
                if (!in.equals(last)) {
                    template = StepScripts.template(st.step(), in, s.name());
                    last = in;
                }
                TaskData data = Planner.taskData(s, st.step(), template.fill(s.name(), s.host()));
                if (data.library() != null) {
                    libraries.computeIfAbsent(data.library(), StepScripts::library);
                }
                hosts.add(s.host());
                tasks.add(new SubTask(id(taskId), taskId, st.step().name(), State.PENDING, Operator.RUN, Times.UNSET,
                        Times.UNSET, data.toMap(), 0, new ExecuteAgent(s.host(), s.agentPort()), List.of()));
                taskId++;
            }
            nodes.add(new Node(st.id(), st.nodeId(), st.name(), State.PENDING, Operator.RUN, Times.UNSET, Times.UNSET,
                    st.data(), tasks));
        }
        Map<String, Object> data = dagData.with(libraries, hosts.size()).toMap();
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
     * Whether {@link #writeObshell} can write this plan: true when no step script refuses its input, so that
     * nothing fails halfway through the output. Otherwise use {@link #plan()}, which throws what
     * {@link Planner#plan} throws. It makes each script's template as {@link #writeObshell} will, with the same
     * function ({@link StepScripts#template}), once per run of servers with the same {@link ScriptInput}, and
     * checks each server's name and host as {@link ScriptTemplate#fill} will: what passes here is written there.
     */
    public synchronized boolean streamable() {
        Boolean known = streamable;
        if (known == null) {
            streamable = known = checkStreamable();
        }
        return known;
    }

    private Boolean streamable;
    /** The libraries the scripts call and the number of hosts, found by {@link #streamable()}. */
    private final Set<String> libraries = new java.util.TreeSet<>();
    private long hostCount;
    /**
     * Per stage, where each run of servers with equal {@link ScriptInput}s starts (indexes into its servers), found
     * by {@link #streamable()}: {@link #writeObshell} makes a template there and nowhere else, as plan() would.
     */
    private final List<int[]> runStarts = new ArrayList<>();

    private boolean checkStreamable() {
        Set<String> hosts = new HashSet<>();
        // the steps of a batch share its list of servers: each list's servers are checked and counted once
        Set<List<Server>> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Stage st : stages) {
            Step step = st.step();
            if (step == null || step.timeout() == null || step.name() == null) {
                return false;
            }
            ScriptInput last = null;
            int[] starts = new int[1];
            int runs = 0;
            List<Server> servers = st.servers();
            if (seen.add(servers)) {
                for (Server s : servers) {
                    if (s == null || !text(s.name()) || !text(s.host()) || s.role() == null) {
                        return false;
                    }
                    hosts.add(s.host());
                }
            }
            for (int k = 0; k < servers.size(); k++) {
                Server s = servers.get(k);
                ScriptInput in = ScriptInput.of(s, step);
                if (!in.equals(last)) {
                    if (runs == starts.length) {
                        starts = java.util.Arrays.copyOf(starts, runs * 2);
                    }
                    starts[runs++] = k;
                    ScriptTemplate t;
                    try {
                        t = StepScripts.template(step, in, s.name());
                    } catch (RuntimeException e) {
                        return false;  // plan() throws it, as Planner.plan does
                    }
                    if (t.library() != null) {
                        libraries.add(t.library());
                    }
                    last = in;
                }
            }
            runStarts.add(java.util.Arrays.copyOf(starts, runs));
        }
        hostCount = hosts.size();
        return true;
    }

    private static boolean text(String s) {
        return s != null && s.indexOf('\0') < 0;
    }

    /**
     * A template's script as a JSON string, escaped once: whole, or in three parts around the holes where each
     * server's escaped quoted name and host go (JSON escapes character by character, so the parts joined are
     * the whole escaped).
     */
    private static final class Json {
        final ScriptTemplate template;
        private final SerializableString whole;
        private final SerializableString beforeName;
        private final String beforeHost;
        private final SerializableString afterHost;

        Json(ScriptTemplate t) {
            template = t;
            String text = t.text();
            if (!t.hasHoles()) {
                whole = new SerializedString(text);
                beforeName = afterHost = null;
                beforeHost = null;
            } else {
                whole = null;
                beforeName = new SerializedString('"' + escaped(text.substring(0, t.nameAt())));
                beforeHost = escaped(text.substring(t.nameAt(), t.hostAt()));
                afterHost = new SerializedString(escaped(text.substring(t.hostAt())) + '"');
            }
        }

        /** The script's JSON string for {@code s}: the same text as {@code writeString(template.fill(...).text())}. */
        void writeScript(JsonGenerator g, Server s) throws IOException {
            if (whole != null) {
                g.writeString(whole);
            } else {
                g.writeRawValue(beforeName);
                g.writeRaw(escaped(StepScripts.quote(s.name())));
                g.writeRaw(beforeHost);
                g.writeRaw(escaped(StepScripts.quote(s.host())));
                g.writeRaw(afterHost);
            }
        }

        private static String escaped(String s) {
            return new String(JsonStringEncoder.getInstance().quoteAsString(s));
        }
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
        Map<String, Object> libs = new TreeMap<>();
        for (String lib : libraries) {
            libs.put(lib, StepScripts.library(lib));
        }
        Map<String, Object> data = dagData.with(libs, hostCount).toMap();
        ObshellStream.dagStart(j, id(1), 1, name, 1, stages.size(), maintenanceType, maintenanceKey, State.READY,
                Operator.RUN, Times.UNSET, Times.UNSET, data);
        List<String> noLogs = List.of();
        for (int stage = 0; stage < stages.size(); stage++) {
            Stage st = stages.get(stage);
            int[] starts = runStarts.get(stage);
            int run = 0;
            ObshellStream.nodeStart(j, st.id(), st.nodeId(), st.name(), State.PENDING, Operator.RUN, Times.UNSET,
                    Times.UNSET, st.data());
            Step step = st.step();
            String taskName = step.name();
            String kind = step.kind().yamlName();
            long timeout = step.timeout().toSeconds();
            long taskId = st.firstTaskId();
            Json json = null;
            SubTaskJson whole = null;
            List<Server> servers = st.servers();
            for (int k = 0; k < servers.size(); k++) {
                Server s = servers.get(k);
                if (run < starts.length && starts[run] == k) {  // a new ScriptInput: its template, as plan() makes it
                    json = new Json(StepScripts.template(step, ScriptInput.of(s, step), s.name()));
                    whole = SubTaskJson.of(new SubTaskJson.Shape(taskName, s.role().processName(), kind, step.index(),
                            timeout), json.template);
                    run++;
                }
                if (whole != null) {
                    whole.write(j, id(taskId), taskId, s);
                    taskId++;
                    continue;
                }
                // the same, call by call: for a template whose text holds SubTaskJson's marker characters
                ScriptTemplate t = json.template;
                ObshellStream.taskStart(j, id(taskId), taskId, taskName, State.PENDING, Operator.RUN, Times.UNSET, Times.UNSET);
                ObshellStream.taskDataHead(j, s.name(), s.role().processName(), s.host(), kind, step.index(), timeout,
                        t.signals(), t.paths(), t.command(), t.ready(), t.library());
                json.writeScript(j, s);
                j.writeEndObject();
                ObshellStream.taskEnd(j, 0, new ExecuteAgent(s.host(), s.agentPort()), noLogs);
                taskId++;
            }
            ObshellStream.nodeEnd(j);
        }
        ObshellStream.dagEnd(j);
    }
}
