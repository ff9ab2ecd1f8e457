package io.obplay.plan;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.YamlSource;
import io.obplay.playbook.Playbook;
import io.obplay.playbook.PlaybookLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The streamed obshell JSON ({@link ObshellStream} for a made DAG, {@link LazyPlan#writeObshell} while planning)
 * is exactly what Jackson's databind writes for {@link ObshellJson#dag} with {@code INDENT_OUTPUT}, byte for byte,
 * escapes and non-ASCII text included.
 */
class ObshellStreamTest {

    /** Jackson's own text for the DAG: the reference. */
    private static String databind(Dag d) throws Exception {
        return ObshellJson.MAPPER.writeValueAsString(ObshellJson.dag(d, true)) + "\n";
    }

    private static void assertAllWritersAgree(Inventory inv, Playbook pb) throws Exception {
        LazyPlan lazy = Planner.compile(inv, pb, PlanOptions.defaults());
        assertTrue(lazy.streamable());
        Dag dag = lazy.plan().dag();
        String expected = databind(dag);
        assertEquals(expected, ObshellJson.write(dag), "ObshellStream (made DAG, chars)");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ObshellStream.write(dag, bytes);
        assertEquals(expected, bytes.toString(StandardCharsets.UTF_8), "ObshellStream (made DAG, UTF-8)");
        bytes.reset();
        lazy.writeObshell(bytes);
        assertEquals(expected, bytes.toString(StandardCharsets.UTF_8), "LazyPlan (UTF-8)");
        StringWriter chars = new StringWriter();
        lazy.writeObshell(chars);
        assertEquals(expected, chars.toString(), "LazyPlan (chars)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"stop-cluster", "stop-zone", "kill-server", "stop-obproxy", "destroy-obproxy",
            "destroy-cluster", "teardown", "start-cluster", "start-zone"})
    void shippedPlaybooksStreamAsDatabindWritesThem(String playbook) throws Exception {
        Inventory inv = InventoryLoader.load(Path.of("inventories/demo.yaml"));
        assertAllWritersAgree(inv, PlaybookLoader.load(Path.of("playbooks/" + playbook + ".yaml"), inv));
    }

    @Test
    void escapesAndNonAsciiInRepeatedShapesStreamAsDatabindWritesThem() throws Exception {
        // Many alike servers (so that their scripts are made once per shape and copied) with a home path that
        // needs JSON escapes (quote, backslash, tab) and is not ASCII (2- and 4-byte UTF-8 characters).
        StringBuilder yaml = new StringBuilder("""
                cluster: escapes
                transport: local
                observer: { home_path: "/data/ob \\"q\\" \\\\ \\t é 字 😀" }
                zones:
                  zone1:
                    servers:
                """);
        for (int i = 1; i <= 6; i++) {
            yaml.append("      - host: 10.0.1.").append(i).append('\n');
        }
        yaml.append("""
                  zone2:
                    servers:
                      - { host: 10.0.2.1, home_path: /data/other }
                """);
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", yaml.toString()));
        Playbook pb = PlaybookLoader.load(YamlSource.of("pb.yaml", """
                name: "Escapes: \\"quoted\\", \\\\, é"
                targets: { all: true }
                steps:
                  - stop: { grace: 5s }
                  - cleanup: { paths: [log] }
                  - shell: "echo {{home_path}} \\"$HOME\\""
                """), inv);
        assertAllWritersAgree(inv, pb);
        assertTrue(ObshellJson.write(Planner.plan(inv, pb, PlanOptions.defaults()).dag()).contains("\\\"q\\\" \\\\ \\t é 字 😀"));
    }

    @Test
    void runsOfAlikeAndUnlikeServersStreamAsTheyArePlanned() throws Exception {
        // homes alternating in runs of 1, 2 and 3, IPv6 hosts, and obproxies (whose OBD pid files name the host):
        // each run of equal script inputs shares one template; every other server gets its own
        StringBuilder yaml = new StringBuilder("""
                cluster: runs
                transport: local
                observer: { home_path: /data/a }
                zones:
                  zone1:
                    servers:
                """);
        String[] homes = {"/data/a", "/data/b", "/data/b", "/data/a", "/data/a", "/data/a", "/data/it's"};
        for (int i = 0; i < homes.length; i++) {
            yaml.append("      - { host: \"fd00::").append(i + 1).append("\", home_path: \"").append(homes[i]).append("\" }\n");
        }
        yaml.append("""
                obproxy:
                  defaults: { home_path: /data/px }
                  clusters:
                    - id: 1
                      name: proxies
                      servers:
                        - { id: 1, host: 10.0.9.1 }
                        - { id: 2, host: 10.0.9.2 }
                """);
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", yaml.toString()));
        Playbook pb = PlaybookLoader.load(YamlSource.of("pb.yaml", """
                name: runs
                targets: { all: true }
                allow_majority_loss: true
                steps:
                  - kill: {}
                  - stop: { grace: 1s }
                  - cleanup: { paths: [log] }
                  - shell: "echo {{home_path}}"
                """), inv);
        assertAllWritersAgree(inv, pb);
        Dag dag = Planner.plan(inv, pb, PlanOptions.defaults()).dag();
        for (Node n : dag.nodes()) {
            for (SubTask t : n.subTasks()) {
                String server = (String) t.additionalData().get("server");
                String script = (String) t.additionalData().get("script");
                if (!n.name().startsWith("Run")) {
                    assertTrue(script.contains("\nNAME=" + StepScripts.quote(server) + "\nHOST="), script);
                }
            }
        }
    }
}
