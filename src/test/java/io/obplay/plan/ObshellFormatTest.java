package io.obplay.plan;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.playbook.PlaybookLoader;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checks the obshell JSON against every field name and type of obshell-wire.md section 2, at every level. */
class ObshellFormatTest {
    static final String RFC3339 = "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})";

    static final List<String> DAG = List.of("id", "dag_id", "name", "stage", "max_stage", "maintenance_type", "maintenance_key",
            "state", "operator", "start_time", "end_time", "additional_data", "nodes");
    static final List<String> NODE = List.of("id", "node_id", "name", "state", "operator", "start_time", "end_time",
            "additional_data", "sub_tasks");
    static final List<String> TASK = List.of("id", "task_id", "name", "state", "operator", "start_time", "end_time",
            "additional_data", "execute_times", "execute_agent", "task_logs");
    static final List<String> STATES = List.of("PENDING", "READY", "RUNNING", "FAILED", "SUCCEED");
    static final List<String> OPERATORS = List.of("RUN", "RETRY", "ROLLBACK", "CANCEL", "PASS");

    static List<String> fields(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    static void common(JsonNode n) {
        assertTrue(n.get("id").isTextual() && n.get("id").asText().matches("[1-5]\\d+"), "generic id: " + n.get("id"));
        assertTrue(n.get("name").isTextual());
        assertTrue(STATES.contains(n.get("state").asText()) && n.get("state").isTextual());
        assertTrue(OPERATORS.contains(n.get("operator").asText()) && n.get("operator").isTextual());
        assertTrue(n.get("start_time").isTextual() && n.get("start_time").asText().matches(RFC3339), n.get("start_time").toString());
        assertTrue(n.get("end_time").isTextual() && n.get("end_time").asText().matches(RFC3339), n.get("end_time").toString());
        assertTrue(n.get("additional_data").isObject() || n.get("additional_data").isNull());
    }

    @Test
    void everyFieldAndTypeAtEveryLevel() throws Exception {
        Inventory inv = InventoryLoader.load(Path.of("inventories/demo.yaml"));
        Dag dag = Planner.plan(inv, PlaybookLoader.load(Path.of("playbooks/destroy-cluster.yaml"), inv), PlanOptions.defaults()).dag();
        JsonNode d = ObshellJson.MAPPER.readTree(ObshellJson.write(dag));
        assertEquals(DAG, fields(d));
        common(d);
        for (String f : List.of("dag_id", "stage", "max_stage", "maintenance_type")) {
            assertTrue(d.get(f).isIntegralNumber(), f);
        }
        assertTrue(d.get("maintenance_key").isTextual());
        assertEquals(d.get("start_time"), d.get("end_time"));
        assertTrue(d.get("nodes").isArray());
        assertEquals(d.get("max_stage").asInt(), d.get("nodes").size());
        for (JsonNode n : d.get("nodes")) {
            assertEquals(NODE, fields(n));
            common(n);
            assertTrue(n.get("node_id").isIntegralNumber());
            assertTrue(n.get("sub_tasks").isArray() && n.get("sub_tasks").size() > 0);
            for (JsonNode t : n.get("sub_tasks")) {
                assertEquals(TASK, fields(t));
                common(t);
                assertTrue(t.get("task_id").isIntegralNumber());
                assertTrue(t.get("execute_times").isIntegralNumber());
                assertEquals(List.of("ip", "port"), fields(t.get("execute_agent")));
                assertTrue(t.get("execute_agent").get("ip").isTextual());
                assertTrue(t.get("execute_agent").get("port").isIntegralNumber());
                assertTrue(t.get("task_logs").isArray());
                assertTrue(t.get("additional_data").get("script").isTextual());
            }
        }
        // and it reads back to the same DAG
        assertEquals(ObshellJson.write(dag), ObshellJson.write(ObshellJson.read(ObshellJson.write(dag))));
    }

    @Test
    void createResponseHasNullNodes() {
        Dag dag = new Dag("22130706433028869", 9, "Stop OB", 1, 5, 2, "demo", State.READY, Operator.RUN,
                Times.UNSET, Times.UNSET, null, List.of());
        var m = ObshellJson.dag(dag, false);
        assertTrue(m.containsKey("nodes") && m.get("nodes") == null);
        assertTrue(m.containsKey("additional_data") && m.get("additional_data") == null);
        assertEquals("0001-01-01T00:00:00Z", m.get("start_time"));
    }
}
