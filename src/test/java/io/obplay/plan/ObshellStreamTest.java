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
            "destroy-cluster", "teardown"})
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
}
