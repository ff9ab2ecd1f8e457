package io.obplay.plan;

import io.obplay.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code plan --format html} and the DAG page's grid: hostile values (markup, quotes, ampersands, bidi controls)
 * in names, paths, commands and log lines are text, never markup; the plan file is self-contained and shows every
 * stage, host, signal and path.
 */
class HtmlRendererTest {
    static final String SCRIPT = "<script>alert(1)</script>";
    static final String QUOTES = "x\" onmouseover=\"alert(2)' onfocus='alert(3)";
    static final OffsetDateTime T = OffsetDateTime.of(2026, 1, 2, 3, 4, 5, 0, ZoneOffset.UTC);

    @TempDir
    Path tmp;

    static SubTask task(long id, String server, String host, State state, List<String> signals, List<String> paths, String command,
                        List<String> logs) {
        TaskData data = new TaskData(server, "observer", host, command == null ? "kill" : "shell", 1, "echo hi", 60, signals, paths, command, null, null);
        return new SubTask("2" + id, id, "task " + server, state, Operator.RUN, T, T, data.toMap(), 1, new ExecuteAgent(host, 2886), logs);
    }

    static Dag hostile() {
        String server1 = "10.0.0.1:2886";
        String server2 = "obproxy:" + SCRIPT + "/1";
        Node n1 = new Node("31", 31, "Check " + SCRIPT, State.SUCCEED, Operator.RUN, T, T, Map.of("timeout", 60), List.of(
                task(1, server1, "10.0.0.1", State.SUCCEED, List.of(), List.of(), null, List.of("ok")),
                task(2, server2, "host-" + QUOTES, State.SUCCEED, List.of(), List.of(), null, List.of("ok"))));
        Node n2 = new Node("32", 32, "Kill & clean \u202Eevil", State.FAILED, Operator.RUN, T, T, Map.of("timeout", 30), List.of(
                task(3, server1, "10.0.0.1", State.FAILED, List.of("KILL observer " + SCRIPT), List.of("/data/" + QUOTES + "/log"),
                        "rm -rf '/data/a&b' </dev/null", List.of("first", "last line: </pre></span>" + SCRIPT + " & \"done\""))));
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("playbook", "/p/" + SCRIPT + ".yaml");
        a.put("playbook_sha256", "0123456789abcdef");
        a.put("inventory", "/i/" + QUOTES + ".yaml");
        a.put("inventory_sha256", "fedcba9876543210");
        a.put("cluster", "c&c");
        a.put("transport", "ssh");
        a.put("strategy", "parallel");
        a.put("forks", 50);
        a.put("max_fail_percentage", 0);
        return new Dag("21", 21, "Stop " + SCRIPT, 2, 2, Dag.MAINTENANCE_GLOBAL, "c", State.FAILED, Operator.RUN, T, T, a, List.of(n1, n2));
    }

    static void assertNoMarkupFromValues(String html) {
        assertFalse(html.contains("<script"), "no script element: " + html);
        assertFalse(html.contains("onmouseover=\"") || html.contains("onfocus='"), "no attribute injected: " + html);
        assertFalse(html.contains("</pre></span>"), html);
        assertFalse(html.contains("\u202E"), "a bidi control is shown, not applied");
        assertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), html);
        assertTrue(html.contains("x&quot; onmouseover=&quot;alert(2)&#39; onfocus=&#39;alert(3)"), html);
        assertTrue(html.contains("Kill &amp; clean \\u{202E}evil"), html);
    }

    @Test
    void hostileValuesInThePlanAreTextNotMarkup() {
        String html = HtmlRenderer.plan(hostile());
        assertNoMarkupFromValues(html);
        assertTrue(html.contains("<title>Plan: Stop &lt;script&gt;alert(1)&lt;/script&gt;</title>"), html);
        assertTrue(html.contains("<li class=\"signal\"><span class=\"k\">signal</span> KILL observer &lt;script&gt;alert(1)&lt;/script&gt;</li>"), html);
        assertTrue(html.contains("<code>/data/x&quot; onmouseover=&quot;alert(2)&#39; onfocus=&#39;alert(3)/log</code>"), html);
        assertTrue(html.contains("<pre>rm -rf &#39;/data/a&amp;b&#39; &lt;/dev/null</pre>"), html);
        assertTrue(html.contains("<span class=\"host\">on host-x&quot;"), "a server's host when its name does not say it: " + html);
        assertTrue(html.contains("Totals: 2 stages · 2 hosts · 3 sub-tasks · 1 signal · 1 path to delete"), html);
    }

    @Test
    void hostileValuesInTheGridWithStatesAreTextNotMarkup() {
        Dag d = hostile();
        String html = HtmlRenderer.grid(d, true, t -> "/ui/sub_tasks/" + t.taskId() + "?x=\"" + QUOTES);
        assertNoMarkupFromValues(html);
        // a failed sub-task's last log line, escaped; the link's value stays inside its quotes
        assertTrue(html.contains("<span class=\"state\">FAILED</span><span class=\"last\">last line: &lt;/pre&gt;&lt;/span&gt;"
                + "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;done&quot;</span>"), html);
        assertTrue(html.contains("href=\"/ui/sub_tasks/3?x=&quot;x&quot; onmouseover=&quot;"), html);
        // the obproxy server has no sub-task in stage 2
        assertTrue(html.contains("<td class=\"cell none\"><span class=\"state\">not in this stage</span></td>"), html);
        assertEquals(2, html.split("<tr><th scope=\"row\"", -1).length - 1, "one row per server");
    }

    @Test
    void aStopOf200ServersIn8StagesIsOneGridOf200RowsAnd8Columns() {
        List<Node> nodes = new java.util.ArrayList<>();
        long id = 1;
        for (int stage = 1; stage <= 8; stage++) {
            List<SubTask> tasks = new java.util.ArrayList<>();
            for (int s = 1; s <= 200; s++) {
                String host = "10.0." + (s / 250) + "." + (s % 250);
                tasks.add(task(id++, host + ":2886", host, s == 77 && stage == 5 ? State.FAILED : State.SUCCEED, List.of(), List.of(), null,
                        List.of("line 1", "line 2 of " + s)));
            }
            nodes.add(new Node("3" + stage, 100 + stage, "stage " + stage, State.SUCCEED, Operator.RUN, T, T, Map.of(), tasks));
        }
        Dag d = new Dag("21", 21, "Stop 200", 8, 8, Dag.MAINTENANCE_GLOBAL, "c", State.FAILED, Operator.RUN, T, T, Map.of(), nodes);
        String html = HtmlRenderer.grid(d, true, t -> "/ui/sub_tasks/" + t.taskId());
        assertEquals(200, html.split("<tr><th scope=\"row\"", -1).length - 1);
        assertEquals(8, html.split("<th scope=\"col\" class=\"stage", -1).length - 1);
        assertEquals(1600, html.split("<td class=\"cell s-", -1).length - 1);
        assertEquals(1, html.split("<span class=\"last\">", -1).length - 1, "one failed cell, with its last line");
        assertTrue(html.contains("<span class=\"last\">line 2 of 77</span>"));
        assertTrue(html.length() < 600_000, "a page of " + html.length() + " characters");
    }

    @Test
    void planFormatHtmlWritesOneSelfContainedFileWithEveryStageHostSignalAndPath() throws Exception {
        Path file = tmp.resolve("plan.html");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true),
                "plan", "-i", "inventories/demo.yaml", "playbooks/destroy-cluster.yaml", "--format", "html", "-o", file.toString());
        assertEquals(0, code, err::toString);
        assertTrue(err.toString().contains("plan written to " + file + " as HTML"), err.toString());
        assertEquals("", out.toString(), "the page goes to the file");
        String html = Files.readString(file, StandardCharsets.UTF_8);
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("<style>") && html.endsWith("</html>\n"), html);
        assertFalse(html.contains("<link") || html.contains("<script") || html.contains("src=") || html.contains("http://")
                || html.contains("https://"), "nothing fetched from anywhere");

        io.obplay.inventory.Inventory inv = io.obplay.inventory.InventoryLoader.load(Path.of("inventories/demo.yaml"));
        Dag dag = Planner.plan(inv, io.obplay.playbook.PlaybookLoader.load(Path.of("playbooks/destroy-cluster.yaml"), inv),
                PlanOptions.defaults()).dag();
        int signals = 0;
        int paths = 0;
        for (Node n : dag.nodes()) {
            assertTrue(html.contains("<span class=\"stage-name\">" + Html.text(n.name()) + "</span>"), n.name());
            for (SubTask t : n.subTasks()) {
                assertTrue(html.contains("<th scope=\"row\" class=\"server\">" + Html.text(t.data().server())), t.data().server());
                for (String s : t.data().signals()) {
                    assertTrue(html.contains("<span class=\"k\">signal</span> " + Html.text(s) + "</li>"), s);
                    signals++;
                }
                for (String p : t.data().paths()) {
                    assertTrue(html.contains("<span class=\"k\">delete</span> <code>" + Html.text(p) + "</code>"), p);
                    paths++;
                }
            }
        }
        assertTrue(signals > 0 && paths > 0, "destroy-cluster signals and deletes");
        assertTrue(html.contains(signals + " signals · " + paths + " paths to delete"), html);

        // without -o: the page on stdout
        StringWriter out2 = new StringWriter();
        assertEquals(0, Main.execute(new PrintWriter(out2, true), new PrintWriter(new StringWriter(), true),
                "plan", "-i", "inventories/demo.yaml", "playbooks/destroy-cluster.yaml", "--format", "html"));
        assertEquals(html, out2.toString());
    }
}
