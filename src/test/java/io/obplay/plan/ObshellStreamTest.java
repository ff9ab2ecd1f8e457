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
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
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

    @Test
    void serversWhoseTextHoldsTheCopyMarkersAreWrittenCallByCallAndTheSame() throws Exception {
        // SubTaskJson cuts a sub-task written once at private-use marker characters and numbers; a home, a path or a
        // name that holds them itself must not be cut there: those sub-tasks are written call by call, the same text
        String yaml = """
                cluster: markers
                transport: local
                observer: { home_path: /data/ob }
                zones:
                  zone1:
                    servers:
                      - host: 10.0.1.1
                      - host: 10.0.1.2
                      - { host: 10.0.1.3, home_path: "/data/\\ue000id\\ue001" }
                      - { host: 10.0.1.4, home_path: "/data/\\ue000host\\ue001" }
                      - { host: 10.0.1.5, home_path: "/data/918273645546372819" }
                      - { host: 10.0.1.6, home_path: "/data/\\ue001" }
                      - { host: 10.0.1.7, home_path: "/data/x", agent_port: 3886 }
                obproxy:
                  defaults: { home_path: /data/px }
                  clusters:
                    - id: 1
                      name: "quotes \\" and \\\\ and \\ue000name\\ue001 é"
                      servers:
                        - { id: 1, host: 10.0.9.1 }
                        - { id: 2, host: 10.0.9.2 }
                """;
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", yaml));
        Playbook pb = PlaybookLoader.load(YamlSource.of("pb.yaml", """
                name: markers
                targets: { all: true }
                allow_majority_loss: true
                steps:
                  - stop: { grace: 1s }
                  - cleanup: { paths: [log] }
                  - shell: "echo {{home_path}}"
                """), inv);
        assertAllWritersAgree(inv, pb);
    }

    @Test
    void aStepNameWithTheMarkersIsWrittenTheSame() throws Exception {
        Inventory inv = InventoryLoader.load(Path.of("inventories/demo.yaml"));
        Playbook pb = PlaybookLoader.load(YamlSource.of("pb.yaml", """
                name: markers
                targets: { zones: [zone1] }
                steps:
                  - shell: "true"
                    name: "a \\ue000id\\ue001 step 1928374655"
                """), inv);
        assertAllWritersAgree(inv, pb);
    }

    @Test
    void aTemplateWhoseTextHoldsAMarkerIsNotCutThere() {
        SubTaskJson.Shape shape = new SubTaskJson.Shape("Stop", "observer", "stop", 1, 30);
        String plain = "#!/bin/sh\nNAME=\nHOST=\nrest\n";
        int name = plain.indexOf("NAME=") + 5;
        int host = plain.indexOf("HOST=") + 5;
        assertNotNull(SubTaskJson.of(shape, new ScriptTemplate(plain, name, host, List.of("TERM"), List.of("/p"), null)));
        assertNotNull(SubTaskJson.of(shape, ScriptTemplate.fixed("true", List.of(), List.of(), null, "true")));
        for (String odd : List.of("\uE000id\uE001", "\uE000", "\uE001", "918273645546372819", "1928374655")) {
            String text = plain.replace("rest", odd);
            assertNull(SubTaskJson.of(shape, new ScriptTemplate(text, name, host, List.of(), List.of(), null)), odd);
            assertNull(SubTaskJson.of(shape, new ScriptTemplate(plain, name, host, List.of(odd), List.of(), null)), odd);
            assertNull(SubTaskJson.of(new SubTaskJson.Shape(odd, "observer", "stop", 1, 30),
                    ScriptTemplate.fixed("true", List.of(), List.of(), null, "true")), odd);
        }
    }
}
