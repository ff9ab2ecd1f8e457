package io.obplay.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.YamlSource;
import io.obplay.playbook.Playbook;
import io.obplay.playbook.PlaybookLoader;
import org.junit.jupiter.api.Test;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the text plan shows of values: never a raw control or bidi character, never two values as the same '?'. */
class PrintableTest {
    /** Characters that must never reach a terminal raw. */
    static final String HIDDEN = "\u0000\u0007\u0008\u001b\r\u007f\u0085\u009b\u061c\u200b\u200e\u200f\u2028\u2029"
            + "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\ue000";

    static void assertNothingHidden(String shown) {
        for (int i = 0; i < HIDDEN.length(); i++) {
            assertTrue(shown.indexOf(HIDDEN.charAt(i)) < 0, String.format("U+%04X reached the text: %s", (int) HIDDEN.charAt(i), shown));
        }
    }

    @Test
    void controlAndBidiCharactersAreEscaped() {
        Printable p = Printable.UNICODE;
        assertEquals("plain /data/ob-1 ok", p.line("plain /data/ob-1 ok"));
        assertEquals("a\\u{202E}b\\u{2066}c\\u{1B}[2Jd\\u{D}e\\u{7}\\u{9B}f\\u{200B}g", p.line("a\u202Eb\u2066c\u001b[2Jd\re\u0007\u009bf\u200bg"));
        assertEquals("x\\u{A}y\\u{9}z", p.line("x\ny\tz"));
        assertEquals("x\ny\tz\\u{D}", p.lines("x\ny\tz\r"));
        // what is shown as is: printable Unicode under UTF-8, backslashes that are no escape
        assertEquals("/data/é 字 😀 it's 'q' \\n \\x", p.line("/data/é 字 😀 it's 'q' \\n \\x"));
        // a backslash that would read as an escape is one: the text is unambiguous
        assertEquals("\\u{5C}u{202E}", p.line("\\u{202E}"));
        assertNotEquals(p.line("\\u{202E}"), p.line("\u202E"));
        for (int cp = 0; cp < 0x3000; cp++) {
            assertNothingHidden(p.line(new String(Character.toChars(cp))));
        }
        assertNothingHidden(p.lines(HIDDEN));
        assertEquals("\\u{D800}x", p.line("\ud800x"));  // a lone surrogate
    }

    @Test
    void aCLocaleShowsEveryNonAsciiCharacterAsItsCodePoint() {
        Printable ascii = Printable.ASCII;
        assertEquals("/data/\\u{E9}", ascii.line("/data/é"));
        assertEquals("/data/\\u{FC}", ascii.line("/data/ü"));
        assertEquals("\\u{1F600}", ascii.line("😀"));
        assertNotEquals(ascii.line("/data/é"), ascii.line("/data/ü"));
        // Latin-1 shows é but not 字
        Printable latin1 = Printable.of(StandardCharsets.ISO_8859_1);
        assertEquals("é\\u{5B57}", latin1.line("é字"));
        // what both the locale and the writer's charset can show
        assertEquals("\\u{E9}", Printable.of(StandardCharsets.UTF_8, Charset.forName("US-ASCII")).line("é"));
    }

    static Inventory inventory() throws Exception {
        return InventoryLoader.load(YamlSource.of("inv.yaml", """
                cluster: c
                transport: local
                zones:
                  z1:
                    servers:
                      - { host: 10.0.0.1, home_path: "/data/ob", vars: { note: "a\\u2066b\\e[2Jc\\rd" } }
                      - { host: 10.0.0.2, home_path: "/data/é" }
                      - { host: 10.0.0.3, home_path: "/data/ü", vars: { note: x } }
                """));
    }

    @Test
    void theTextPlanEscapesValuesAndTheJsonPlanKeepsThem() throws Exception {
        Inventory inv = inventory();
        Playbook pb = PlaybookLoader.load(YamlSource.of("pb.yaml", """
                name: Stop
                targets: { servers: ["10.0.0.1:2886", "10.0.0.2:2886"] }
                allow_majority_loss: true
                steps:
                  - stop: {}
                  - cleanup: { paths: [log] }
                  - shell: "echo {{home_path}}"
                """), inv);
        // a name with bidi controls is refused at load (PlaybookLoaderRefusalsTest); one can still come from a
        // stored DAG, which the renderers show as it is recorded
        Dag d = named(Planner.plan(inv, pb, PlanOptions.defaults()).dag(), "Stop \u202Edlo\u202C");
        String text = TextRenderer.render(d, true, false, Printable.UNICODE);
        assertNothingHidden(text);
        assertTrue(text.startsWith("Plan: Stop \\u{202E}dlo\\u{202C}\n"), text);
        // a bidi control in a path is refused at load (InventoryLoaderRefusalsTest); non-ASCII paths are shown
        assertTrue(text.contains("      command  echo '/data/ob'\n"), text);
        assertTrue(text.contains("      delete   /data/é/log  ("), text);
        String ascii = TextRenderer.render(d, true, false, Printable.ASCII);
        assertNothingHidden(ascii);
        assertTrue(ascii.chars().allMatch(c -> c < 0x80), "only ASCII under a C locale");
        assertTrue(ascii.contains("      delete   /data/\\u{E9}/log  ("), ascii);
        // a var with a bidi control, ESC and CR in the command
        Playbook shell = PlaybookLoader.load(YamlSource.of("pb.yaml", """
                name: n
                targets: { servers: ["10.0.0.1:2886"] }
                steps:
                  - shell: "echo {{note}}"
                """), inv);
        String cmd = TextRenderer.render(Planner.plan(inv, shell, PlanOptions.defaults()).dag(), true, false, Printable.UNICODE);
        assertNothingHidden(cmd);
        assertTrue(cmd.contains("      command  echo 'a\\u{2066}b\\u{1B}[2Jc\\u{D}d'\n"), cmd);
        // JSON keeps every value exactly, escaped as JSON escapes
        String json = ObshellJson.write(d);
        JsonNode tree = new ObjectMapper().readTree(json);
        assertEquals("Stop \u202Edlo\u202C", tree.get("name").asText());
        assertTrue(json.contains("/data/\u00e9/log"));
        assertFalse(json.contains("\\u{"));
    }

    @Test
    void distinctPathsStayDistinctUnderACLocale() throws Exception {
        Inventory inv = inventory();
        Playbook pb = PlaybookLoader.load(YamlSource.of("pb.yaml", """
                name: n
                targets: { servers: ["10.0.0.2:2886", "10.0.0.3:2886"] }
                allow_majority_loss: true
                steps:
                  - cleanup: { paths: [home] }
                """), inv);
        String ascii = TextRenderer.render(Planner.plan(inv, pb, PlanOptions.defaults()).dag(), false, false, Printable.ASCII);
        assertTrue(ascii.contains("  10.0.0.2:2886\n      delete   /data/\\u{E9}  ("), ascii);
        assertTrue(ascii.contains("  10.0.0.3:2886\n      delete   /data/\\u{FC}  ("), ascii);
        assertFalse(ascii.contains("?"), ascii);
    }

    static Dag named(Dag d, String name) {
        return new Dag(d.id(), d.dagId(), name, d.stage(), d.maxStage(), d.maintenanceType(), d.maintenanceKey(), d.state(),
                d.operator(), d.startTime(), d.endTime(), d.additionalData(), d.nodes());
    }
}
