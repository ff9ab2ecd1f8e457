package io.obplay.plan;

import com.fasterxml.jackson.core.JsonProcessingException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The DAG as an OCP task (seed 003): subtasks with seriesId (their stage, 0-based), parallelIdx (their place
 * among the stage's parallel subtasks), and upstreams/downstreams linking each stage to the next.
 */
public final class OcpJson {
    private OcpJson() {
    }

    public static String status(State s) {
        return switch (s) {
            case SUCCEED -> "SUCCESSFUL";
            case FAILED -> "FAILED";
            case RUNNING -> "RUNNING";
            case READY -> "READY";
            case PENDING -> "PENDING";
        };
    }

    static String taskStatus(Dag d) {
        return switch (d.state()) {
            case SUCCEED -> "SUCCESSFUL";
            case FAILED -> "FAILED";
            default -> "RUNNING";
        };
    }

    static String operation(Operator op) {
        return switch (op) {
            case RUN -> "EXECUTE";
            case RETRY -> "RETRY";
            case ROLLBACK -> "ROLLBACK";
            case PASS -> "SKIP";
            case CANCEL -> "CANCEL";
        };
    }

    /** The OCP task for a DAG; {@code taskId} is OCP's numeric task id (the dag id). */
    public static Map<String, Object> task(Dag d, String creator, String executor) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", d.dagId());
        m.put("name", d.name());
        m.put("status", taskStatus(d));
        m.put("operation", operation(d.operator()));
        m.put("type", "MANUAL");
        m.put("creator", creator);
        m.put("executor", executor);
        m.put("startTime", Times.format(d.startTime()));
        m.put("prohibitRollback", false);
        m.put("taskDefinitionId", -1);
        List<Object> subtasks = new ArrayList<>();
        List<Node> nodes = d.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            List<Long> up = i == 0 ? List.of() : nodes.get(i - 1).subTasks().stream().map(SubTask::taskId).toList();
            List<Long> down = i == nodes.size() - 1 ? List.of() : nodes.get(i + 1).subTasks().stream().map(SubTask::taskId).toList();
            for (int j = 0; j < n.subTasks().size(); j++) {
                SubTask t = n.subTasks().get(j);
                TaskData data = t.data();
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("id", t.taskId());
                s.put("taskId", d.dagId());
                s.put("name", n.name());
                s.put("description", n.name() + (data == null ? "" : " on " + data.server()));
                s.put("status", status(t.state()));
                s.put("operation", operation(t.operator()));
                s.put("seriesId", i);
                s.put("parallelIdx", n.subTasks().size() == 1 ? 0 : j);
                s.put("nodeType", "JAVA_TASK");
                s.put("runTime", Math.max(1, t.executeTimes()));
                s.put("timeout", data == null ? 1800 : data.timeoutSeconds());
                s.put("prohibitRollback", true);
                s.put("prohibitSkip", false);
                s.put("upstreams", up);
                s.put("downstreams", down);
                if (data != null) {
                    s.put("executeAgent", t.executeAgent().ip() + ":" + t.executeAgent().port());
                }
                subtasks.add(s);
            }
        }
        m.put("subtasks", subtasks);
        return m;
    }

    public static String write(Dag d, String creator, String executor) {
        try {
            return ObshellJson.MAPPER.writeValueAsString(task(d, creator, executor)) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
