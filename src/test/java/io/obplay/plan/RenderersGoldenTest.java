package io.obplay.plan;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.playbook.PlaybookLoader;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Each renderer's output for the shipped playbooks against the demo inventory, compared with files under
 * src/test/resources/golden. After an intended change, regenerate them with
 * {@code GOLDEN_UPDATE=1 mvn -q test -Dtest=RenderersGoldenTest} and review the diff.
 */
class RenderersGoldenTest {

    @ParameterizedTest
    @CsvSource({
            "stop-zone, text", "stop-zone, obshell", "stop-zone, ocp", "stop-zone, dot",
            "destroy-obproxy, text", "destroy-obproxy, obshell", "destroy-obproxy, ocp", "destroy-obproxy, dot",
            "stop-cluster, text", "destroy-cluster, text", "kill-server, text", "stop-obproxy, text",
            "stop-zone, html", "destroy-obproxy, html",
            "start-zone, text", "start-zone, obshell", "start-cluster, text", "start-zone, html"})
    void matchesGoldenFile(String playbook, String format) throws Exception {
        Inventory inv = InventoryLoader.load(Path.of("inventories/demo.yaml"));
        Dag dag = Planner.plan(inv, PlaybookLoader.load(Path.of("playbooks/" + playbook + ".yaml"), inv), PlanOptions.defaults()).dag();
        String actual = switch (format) {
            case "text" -> TextRenderer.render(dag, true, false);
            case "obshell" -> ObshellJson.write(dag);
            case "ocp" -> OcpJson.write(dag, "admin", "127.0.0.1:2886");
            case "html" -> HtmlRenderer.plan(dag);
            default -> DotRenderer.render(dag);
        };
        String ext = switch (format) {
            case "obshell", "ocp" -> format + ".json";
            case "dot" -> "dot";
            case "html" -> "html";
            default -> "txt";
        };
        Path golden = Path.of("src/test/resources/golden/" + playbook + "." + ext);
        if (System.getenv("GOLDEN_UPDATE") != null) {
            Files.createDirectories(golden.getParent());
            Files.writeString(golden, actual, StandardCharsets.UTF_8);
        }
        assertEquals(Files.readString(golden, StandardCharsets.UTF_8), actual, "differs from " + golden);
    }
}
