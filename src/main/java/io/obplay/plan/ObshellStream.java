package io.obplay.plan;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.time.OffsetDateTime;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The DAG as obshell's JSON, written as it goes with Jackson's streaming generator and its
 * {@code DefaultPrettyPrinter} ({@link PlanPrinter}): exactly the text of {@link ObshellJson#MAPPER} for {@link ObshellJson#dag} (field
 * names, order, types, indentation), without a map per node and sub-task. {@link LazyPlan} uses the same pieces to
 * write sub-tasks while it makes them, without loading Jackson's databind at all.
 */
public final class ObshellStream {
    /**
     * Jackson's streaming layer only (no databind to load for a plan), and {@link ObshellJson#MAPPER}'s factory:
     * never closes what it writes to; writes supplementary characters (emoji) to UTF-8 as UTF-8, as it writes
     * them to chars, not as escaped surrogate pairs.
     */
    static final JsonFactory FACTORY = JsonFactory.builder()
            .disable(com.fasterxml.jackson.core.StreamWriteFeature.AUTO_CLOSE_TARGET)
            .enable(com.fasterxml.jackson.core.json.JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8)
            .build();

    // Field names encoded once.
    private static final SerializableString ID = new SerializedString("id");
    private static final SerializableString NAME = new SerializedString("name");
    private static final SerializableString STATE = new SerializedString("state");
    private static final SerializableString OPERATOR = new SerializedString("operator");
    private static final SerializableString START_TIME = new SerializedString("start_time");
    private static final SerializableString END_TIME = new SerializedString("end_time");
    private static final SerializableString ADDITIONAL_DATA = new SerializedString("additional_data");
    private static final SerializableString TASK_ID = new SerializedString("task_id");
    private static final SerializableString EXECUTE_TIMES = new SerializedString("execute_times");
    private static final SerializableString EXECUTE_AGENT = new SerializedString("execute_agent");
    private static final SerializableString IP = new SerializedString("ip");
    private static final SerializableString PORT = new SerializedString("port");
    private static final SerializableString TASK_LOGS = new SerializedString("task_logs");
    private static final SerializableString RAN_BY = new SerializedString("ran_by");
    private static final SerializableString SERVER = new SerializedString("server");
    private static final SerializableString ROLE = new SerializedString("role");
    private static final SerializableString HOST = new SerializedString("host");
    private static final SerializableString STEP = new SerializedString("step");
    private static final SerializableString STEP_INDEX = new SerializedString("step_index");
    private static final SerializableString TIMEOUT = new SerializedString("timeout");
    private static final SerializableString SIGNALS = new SerializedString("signals");
    private static final SerializableString PATHS = new SerializedString("paths");
    private static final SerializableString COMMAND = new SerializedString("command");
    private static final SerializableString LIBRARY = new SerializedString("library");
    private static final SerializableString SCRIPT = new SerializedString("script");
    private static final SerializableString READY = new SerializedString("ready");

    private ObshellStream() {
    }

    /** Writes the DAG with its nodes and a final newline to {@code out} (flushed, not closed). */
    public static void write(Dag d, Writer out) throws IOException {
        try (JsonGenerator g = withCodec(FACTORY.createGenerator(out))) {
            write(d, g);
        }
    }

    /** The same as UTF-8 bytes. */
    public static void write(Dag d, OutputStream out) throws IOException {
        try (JsonGenerator g = withCodec(FACTORY.createGenerator(out, JsonEncoding.UTF8))) {
            write(d, g);
        }
    }

    /** A generator that writes any value as {@link ObshellJson#MAPPER} does, indented as it is. */
    private static JsonGenerator withCodec(JsonGenerator g) {
        g.setCodec(ObshellJson.MAPPER);
        return g.setPrettyPrinter(new PlanPrinter());
    }

    /** A generator with no codec (and no databind) for {@link LazyPlan}: values are maps, lists and scalars. */
    static JsonGenerator generator(OutputStream out) throws IOException {
        return FACTORY.createGenerator(out, JsonEncoding.UTF8).setPrettyPrinter(new PlanPrinter());
    }

    static JsonGenerator generator(Writer out) throws IOException {
        return FACTORY.createGenerator(out).setPrettyPrinter(new PlanPrinter());
    }

    private static void write(Dag d, JsonGenerator g) throws IOException {
        dagStart(g, d.id(), d.dagId(), d.name(), d.stage(), d.maxStage(), d.maintenanceType(), d.maintenanceKey(),
                d.state(), d.operator(), d.startTime(), d.endTime(), d.additionalData());
        for (Node n : d.nodes()) {
            nodeStart(g, n.id(), n.nodeId(), n.name(), n.state(), n.operator(), n.startTime(), n.endTime(), n.additionalData());
            for (SubTask t : n.subTasks()) {
                taskStart(g, t.id(), t.taskId(), t.name(), t.state(), t.operator(), t.startTime(), t.endTime());
                any(g, t.additionalData());
                taskEnd(g, t.executeTimes(), t.executeAgent(), t.taskLogs(), t.ranBy());
            }
            nodeEnd(g);
        }
        dagEnd(g);
    }

    // The pieces, in ObshellJson's field order. A state or operator of null is a NullPointerException, as there.

    static void dagStart(JsonGenerator g, String id, long dagId, String name, int stage, int maxStage, int maintenanceType,
                         String maintenanceKey, State state, Operator operator, OffsetDateTime start, OffsetDateTime end,
                         Map<String, Object> data) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", id);
        g.writeNumberField("dag_id", dagId);
        g.writeStringField("name", name);
        g.writeNumberField("stage", stage);
        g.writeNumberField("max_stage", maxStage);
        g.writeNumberField("maintenance_type", maintenanceType);
        g.writeStringField("maintenance_key", maintenanceKey);
        g.writeStringField("state", state.name());
        g.writeStringField("operator", operator.name());
        g.writeStringField("start_time", Times.format(start));
        g.writeStringField("end_time", Times.format(end));
        g.writeFieldName("additional_data");
        any(g, data);
        g.writeArrayFieldStart("nodes");
    }

    /** Ends the DAG, adds a final newline and flushes. */
    static void dagEnd(JsonGenerator g) throws IOException {
        g.writeEndArray();
        g.writeEndObject();
        g.writeRaw('\n');
        g.flush();
    }

    static void nodeStart(JsonGenerator g, String id, long nodeId, String name, State state, Operator operator,
                          OffsetDateTime start, OffsetDateTime end, Map<String, Object> data) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", id);
        g.writeNumberField("node_id", nodeId);
        g.writeStringField("name", name);
        g.writeStringField("state", state.name());
        g.writeStringField("operator", operator.name());
        g.writeStringField("start_time", Times.format(start));
        g.writeStringField("end_time", Times.format(end));
        g.writeFieldName("additional_data");
        any(g, data);
        g.writeArrayFieldStart("sub_tasks");
    }

    static void nodeEnd(JsonGenerator g) throws IOException {
        g.writeEndArray();
        g.writeEndObject();
    }

    /** A sub-task up to its {@code additional_data}, whose value the caller writes next. */
    static void taskStart(JsonGenerator g, String id, long taskId, String name, State state, Operator operator,
                          OffsetDateTime start, OffsetDateTime end) throws IOException {
        g.writeStartObject();
        g.writeFieldName(ID);
        g.writeString(id);
        g.writeFieldName(TASK_ID);
        g.writeNumber(taskId);
        g.writeFieldName(NAME);
        g.writeString(name);
        g.writeFieldName(STATE);
        g.writeString(state.name());
        g.writeFieldName(OPERATOR);
        g.writeString(operator.name());
        g.writeFieldName(START_TIME);
        g.writeString(Times.format(start));
        g.writeFieldName(END_TIME);
        g.writeString(Times.format(end));
        g.writeFieldName(ADDITIONAL_DATA);
    }

    static void taskEnd(JsonGenerator g, int executeTimes, ExecuteAgent agent, List<String> logs) throws IOException {
        taskEnd(g, executeTimes, agent, logs, null);
    }

    /** As above, with {@code ran_by} (the obplay instance that claimed and ran the sub-task) when there is one. */
    static void taskEnd(JsonGenerator g, int executeTimes, ExecuteAgent agent, List<String> logs, String ranBy) throws IOException {
        g.writeFieldName(EXECUTE_TIMES);
        g.writeNumber(executeTimes);
        g.writeFieldName(EXECUTE_AGENT);
        g.writeStartObject();
        g.writeFieldName(IP);
        g.writeString(agent.ip());
        g.writeFieldName(PORT);
        g.writeNumber(agent.port());
        g.writeEndObject();
        g.writeFieldName(TASK_LOGS);
        strings(g, logs);
        if (ranBy != null) {
            g.writeFieldName(RAN_BY);
            g.writeString(ranBy);
        }
        g.writeEndObject();
    }

    /** A sub-task's additional_data up to the name "script": the caller writes the script and ends the object. */
    static void taskDataHead(JsonGenerator g, String server, String role, String host, String step, int stepIndex,
                             long timeout, List<String> signals, List<String> paths, String command, String ready,
                             String library)
            throws IOException {
        g.writeStartObject();
        g.writeFieldName(SERVER);
        g.writeString(server);
        g.writeFieldName(ROLE);
        g.writeString(role);
        g.writeFieldName(HOST);
        g.writeString(host);
        g.writeFieldName(STEP);
        g.writeString(step);
        g.writeFieldName(STEP_INDEX);
        g.writeNumber(stepIndex);
        g.writeFieldName(TIMEOUT);
        g.writeNumber(timeout);
        g.writeFieldName(SIGNALS);
        strings(g, signals);
        g.writeFieldName(PATHS);
        strings(g, paths);
        if (command != null) {
            g.writeFieldName(COMMAND);
            g.writeString(command);
        }
        if (ready != null) {
            g.writeFieldName(READY);
            g.writeString(ready);
        }
        if (library != null) {
            g.writeFieldName(LIBRARY);
            g.writeString(library);
        }
        g.writeFieldName(SCRIPT);
    }

    private static void strings(JsonGenerator g, List<String> values) throws IOException {
        g.writeStartArray();
        for (String v : values) {
            g.writeString(v);
        }
        g.writeEndArray();
    }

    /**
     * Writes a value: with a codec (see {@link #write(Dag, Writer)}) as {@link ObshellJson#MAPPER} does; without
     * one, maps with string keys, collections, and the scalars Jackson's core writes itself (strings, numbers,
     * booleans, null).
     */
    static void any(JsonGenerator g, Object v) throws IOException {
        if (g.getCodec() != null) {
            g.writeObject(v);
        } else if (v instanceof Map<?, ?> m) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                g.writeFieldName((String) e.getKey());
                any(g, e.getValue());
            }
            g.writeEndObject();
        } else if (v instanceof Collection<?> c) {
            g.writeStartArray();
            for (Object o : c) {
                any(g, o);
            }
            g.writeEndArray();
        } else {
            g.writeObject(v);
        }
    }
}
