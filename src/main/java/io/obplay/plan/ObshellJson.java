package io.obplay.plan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The DAG as obshell's JSON: DagDetailDTO, NodeDetailDTO, TaskDetailDTO with exactly obshell's field names
 * and types; no field is ever left out; times are RFC 3339 strings.
 */
public final class ObshellJson {
    /**
     * Indented as obshell's own tools show DAGs; supplementary characters (emoji) written as UTF-8 to byte sinks,
     * as to char sinks, rather than as escaped surrogate pairs.
     */
    public static final ObjectMapper MAPPER = com.fasterxml.jackson.databind.json.JsonMapper.builder(ObshellStream.FACTORY)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(SerializationFeature.FLUSH_AFTER_WRITE_VALUE)
            .build();

    private ObshellJson() {
    }

    /** DagDetailDTO; {@code withNodes} false gives {@code nodes: null} as obshell's create responses do. */
    public static Map<String, Object> dag(Dag d, boolean withNodes) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", d.id());
        m.put("dag_id", d.dagId());
        m.put("name", d.name());
        m.put("stage", d.stage());
        m.put("max_stage", d.maxStage());
        m.put("maintenance_type", d.maintenanceType());
        m.put("maintenance_key", d.maintenanceKey());
        m.put("state", d.state().name());
        m.put("operator", d.operator().name());
        m.put("start_time", Times.format(d.startTime()));
        m.put("end_time", Times.format(d.endTime()));
        m.put("additional_data", d.additionalData());
        if (withNodes) {
            List<Object> nodes = new ArrayList<>();
            d.nodes().forEach(n -> nodes.add(node(n)));
            m.put("nodes", nodes);
        } else {
            m.put("nodes", null);
        }
        return m;
    }

    public static Map<String, Object> node(Node n) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", n.id());
        m.put("node_id", n.nodeId());
        m.put("name", n.name());
        m.put("state", n.state().name());
        m.put("operator", n.operator().name());
        m.put("start_time", Times.format(n.startTime()));
        m.put("end_time", Times.format(n.endTime()));
        m.put("additional_data", n.additionalData());
        List<Object> tasks = new ArrayList<>();
        n.subTasks().forEach(t -> tasks.add(subTask(t)));
        m.put("sub_tasks", tasks);
        return m;
    }

    public static Map<String, Object> subTask(SubTask t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", t.id());
        m.put("task_id", t.taskId());
        m.put("name", t.name());
        m.put("state", t.state().name());
        m.put("operator", t.operator().name());
        m.put("start_time", Times.format(t.startTime()));
        m.put("end_time", Times.format(t.endTime()));
        m.put("additional_data", t.additionalData());
        m.put("execute_times", t.executeTimes());
        Map<String, Object> agent = new LinkedHashMap<>();
        agent.put("ip", t.executeAgent().ip());
        agent.put("port", t.executeAgent().port());
        m.put("execute_agent", agent);
        m.put("task_logs", t.taskLogs());
        if (t.ranBy() != null) {
            m.put("ran_by", t.ranBy());
        }
        return m;
    }

    /** The DAG with its nodes, with a final newline. */
    public static String write(Dag d) {
        java.io.StringWriter w = new java.io.StringWriter(4096);
        try {
            ObshellStream.write(d, w);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return w.toString();
    }

    /**
     * Streams the DAG with its nodes to {@code out} (flushed, not closed), with a final newline: the text of
     * {@link #MAPPER} for {@link #dag dag(d, true)}, without a map per node and sub-task.
     */
    public static void write(Dag d, java.io.Writer out) throws java.io.IOException {
        ObshellStream.write(d, out);
    }

    /** Reads a DagDetailDTO back (a saved plan); throws IllegalArgumentException naming what is wrong. */
    public static Dag read(String json) {
        try {
            return readDag(MAPPER.readTree(json));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(JsonNode n) {
        return n == null || n.isNull() ? null : MAPPER.convertValue(n, LinkedHashMap.class);
    }

    private static JsonNode need(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null) {
            throw new IllegalArgumentException("missing field '" + field + "'");
        }
        return v;
    }

    static Dag readDag(JsonNode d) {
        List<Node> nodes = new ArrayList<>();
        JsonNode ns = d.get("nodes");
        if (ns != null && ns.isArray()) {
            for (JsonNode n : ns) {
                List<SubTask> tasks = new ArrayList<>();
                for (JsonNode t : need(n, "sub_tasks")) {
                    List<String> logs = new ArrayList<>();
                    JsonNode tl = t.get("task_logs");
                    if (tl != null && tl.isArray()) {
                        tl.forEach(l -> logs.add(l.asText()));
                    }
                    JsonNode agent = need(t, "execute_agent");
                    tasks.add(new SubTask(need(t, "id").asText(), need(t, "task_id").asLong(), need(t, "name").asText(),
                            State.valueOf(need(t, "state").asText()), Operator.valueOf(need(t, "operator").asText()),
                            Times.parse(need(t, "start_time").asText()), Times.parse(need(t, "end_time").asText()),
                            map(t.get("additional_data")), need(t, "execute_times").asInt(),
                            new ExecuteAgent(need(agent, "ip").asText(), need(agent, "port").asInt()), logs,
                            t.hasNonNull("ran_by") ? t.get("ran_by").asText() : null));
                }
                nodes.add(new Node(need(n, "id").asText(), need(n, "node_id").asLong(), need(n, "name").asText(),
                        State.valueOf(need(n, "state").asText()), Operator.valueOf(need(n, "operator").asText()),
                        Times.parse(need(n, "start_time").asText()), Times.parse(need(n, "end_time").asText()),
                        map(n.get("additional_data")), tasks));
            }
        }
        return new Dag(need(d, "id").asText(), need(d, "dag_id").asLong(), need(d, "name").asText(), need(d, "stage").asInt(),
                need(d, "max_stage").asInt(), need(d, "maintenance_type").asInt(), need(d, "maintenance_key").asText(),
                State.valueOf(need(d, "state").asText()), Operator.valueOf(need(d, "operator").asText()),
                Times.parse(need(d, "start_time").asText()), Times.parse(need(d, "end_time").asText()),
                map(d.get("additional_data")), nodes);
    }
}
