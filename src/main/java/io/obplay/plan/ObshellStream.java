package io.obplay.plan;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/**
 * The DAG as obshell's JSON, written as it goes: exactly the text of {@link ObshellJson#write(Dag)} (field
 * names, order, types, indentation), without building a map per DAG, node and sub-task and without Jackson's
 * databind. {@link LazyPlan} uses the same pieces to write sub-tasks while it makes them.
 */
public final class ObshellStream {
    private ObshellStream() {
    }

    /**
     * Whether {@link #write(Dag, Writer)} can write this DAG: every {@code additional_data} holds only strings,
     * whole numbers, booleans, nulls, lists and string-keyed maps (true of every DAG obplay makes or reads back
     * from JSON that has no fractions). {@link ObshellJson} falls back to Jackson otherwise.
     */
    public static boolean supports(Dag d) {
        if (!JsonText.supported(d.additionalData())) {
            return false;
        }
        for (Node n : d.nodes()) {
            if (!JsonText.supported(n.additionalData())) {
                return false;
            }
            for (SubTask t : n.subTasks()) {
                if (!JsonText.supported(t.additionalData()) || t.executeAgent() == null) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Writes the DAG with its nodes and a final newline to {@code out} (flushed, not closed); see {@link #supports}. */
    public static void write(Dag d, Writer out) throws IOException {
        try {
            write(d, JsonText.to(out));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** The same as UTF-8 bytes. */
    public static void write(Dag d, OutputStream out) throws IOException {
        try {
            write(d, JsonText.to(out));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static void write(Dag d, JsonText j) {
        dagStart(j, d.id(), d.dagId(), d.name(), d.stage(), d.maxStage(), d.maintenanceType(), d.maintenanceKey(),
                d.state(), d.operator(), d.startTime(), d.endTime(), d.additionalData());
        for (Node n : d.nodes()) {
            nodeStart(j, n.id(), n.nodeId(), n.name(), n.state(), n.operator(), n.startTime(), n.endTime(), n.additionalData());
            for (SubTask t : n.subTasks()) {
                taskStart(j, t.id(), t.taskId(), t.name(), t.state(), t.operator(), t.startTime(), t.endTime());
                j.any(t.additionalData());
                taskEnd(j, t.executeTimes(), t.executeAgent(), t.taskLogs());
            }
            nodeEnd(j);
        }
        dagEnd(j);
    }

    // The pieces, in ObshellJson's field order. A state or operator of null is written as Jackson writes the
    // maps of ObshellJson: a NullPointerException, as there.

    static void dagStart(JsonText j, String id, long dagId, String name, int stage, int maxStage, int maintenanceType,
                         String maintenanceKey, State state, Operator operator, OffsetDateTime start, OffsetDateTime end,
                         Map<String, Object> data) {
        j.startObject()
                .field("id", id)
                .field("dag_id", dagId)
                .field("name", name)
                .field("stage", stage)
                .field("max_stage", maxStage)
                .field("maintenance_type", maintenanceType)
                .field("maintenance_key", maintenanceKey)
                .field("state", state.name())
                .field("operator", operator.name())
                .field("start_time", Times.format(start))
                .field("end_time", Times.format(end))
                .name("additional_data").any(data)
                .name("nodes").startArray();
    }

    static void dagEnd(JsonText j) {
        j.endArray().endObject();
        j.raw('\n');
        j.flush();
    }

    static void nodeStart(JsonText j, String id, long nodeId, String name, State state, Operator operator,
                          OffsetDateTime start, OffsetDateTime end, Map<String, Object> data) {
        j.startObject()
                .field("id", id)
                .field("node_id", nodeId)
                .field("name", name)
                .field("state", state.name())
                .field("operator", operator.name())
                .field("start_time", Times.format(start))
                .field("end_time", Times.format(end))
                .name("additional_data").any(data)
                .name("sub_tasks").startArray();
    }

    static void nodeEnd(JsonText j) {
        j.endArray().endObject();
    }

    /** A sub-task up to its {@code additional_data}, whose value the caller writes next. */
    static void taskStart(JsonText j, String id, long taskId, String name, State state, Operator operator,
                          OffsetDateTime start, OffsetDateTime end) {
        j.startObject()
                .field("id", id)
                .field("task_id", taskId)
                .field("name", name)
                .field("state", state.name())
                .field("operator", operator.name())
                .field("start_time", Times.format(start))
                .field("end_time", Times.format(end))
                .name("additional_data");
    }

    static void taskEnd(JsonText j, int executeTimes, ExecuteAgent agent, List<String> logs) {
        j.field("execute_times", executeTimes)
                .name("execute_agent").startObject()
                .field("ip", agent.ip())
                .field("port", agent.port())
                .endObject()
                .name("task_logs").strings(logs)
                .endObject();
    }

    /** A sub-task's {@code additional_data} as {@link TaskData#toMap()} has it, without the map. */
    static void taskData(JsonText j, TaskData d) {
        taskDataHead(j, d.server(), d.role(), d.host(), d.step(), d.stepIndex(), d.timeoutSeconds(), d.signals(), d.paths(),
                d.command(), d.library());
        j.value(d.script()).endObject();
    }

    /** A sub-task's additional_data up to the name "script": the caller writes the script and ends the object. */
    static void taskDataHead(JsonText j, String server, String role, String host, String step, int stepIndex, long timeout,
                             List<String> signals, List<String> paths, String command, String library) {
        j.startObject()
                .field("server", server)
                .field("role", role)
                .field("host", host)
                .field("step", step)
                .field("step_index", stepIndex)
                .field("timeout", timeout)
                .name("signals").strings(signals)
                .name("paths").strings(paths);
        if (command != null) {
            j.field("command", command);
        }
        if (library != null) {
            j.field("library", library);
        }
        j.name("script");
    }

    static JsonText utf8(OutputStream out) {
        return JsonText.to(out);
    }

    static JsonText chars(Writer out) {
        return JsonText.to(out);
    }
}
