package io.obplay.shim.ui;

import io.obplay.plan.Dag;
import io.obplay.plan.Html;
import io.obplay.plan.HtmlRenderer;
import io.obplay.plan.Node;
import io.obplay.plan.SubTask;
import io.obplay.plan.TaskData;
import io.obplay.plan.TextRenderer;
import io.obplay.plan.Times;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The DAG page of {@code obplay serve}: {@code GET /} (and {@code /ui}) lists the DAGs, {@code /ui/dags/{dag_id}}
 * shows one as the grid of {@link HtmlRenderer#grid} (stages left to right, servers top to bottom, each cell linking
 * to {@code /ui/sub_tasks/{task_id}}, its logs), and {@code /ui/dags/{dag_id}/confirm?operator=OP} says what an
 * operator will do before a form POSTs it to {@code /ui/dags/{dag_id}/operate}. Every page is whole HTML made here
 * (it works without JavaScript); {@code page.js} polls {@code ?fragment=1} of the same page to update it live, and
 * opens a cell's logs in a dialog. The server authenticates every request first (HTTP Basic, as OCP's endpoints);
 * a POST must also pass {@link Csrf} ({@link OperatorPages}).
 */
public final class DagPages {
    /** The paths this class answers (for the router): {@code /}, {@code /ui} and everything under {@code /ui/}. */
    public static final String PATHS = "(/|/ui|/ui/[^?]*)";

    private static final Pattern DAG = Pattern.compile("/ui/dags/(\\d{1,18})");
    private static final Pattern CONFIRM = Pattern.compile("/ui/dags/(\\d{1,18})/confirm");
    private static final Pattern OPERATE = Pattern.compile("/ui/dags/(\\d{1,18})/operate");
    private static final Pattern SUB_TASK = Pattern.compile("/ui/sub_tasks/(\\d{1,18})");
    private static final int LIST_LIMIT = 200;

    /** A request as the server hands it over, already authenticated as {@code user}. */
    public record Request(String method, String path, Map<String, String> query, Map<String, List<String>> headers,
                          byte[] body, String user) {
        String header(String name) {
            for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
                    return e.getValue().get(0);
                }
            }
            return null;
        }

        boolean fragment() {
            return "1".equals(query.get("fragment"));
        }
    }

    private final DagSource dags;
    private final Layout layout;
    private final OperatorPages operators;
    private final byte[] css;
    private final byte[] js;

    /** @param tls whether the server is reached over https (the origin a form POST must come from) */
    public DagPages(DagSource dags, boolean tls) {
        this.dags = dags;
        this.layout = new Layout(dags.agentAddress());
        this.operators = new OperatorPages(dags, new Csrf(tls), layout);
        this.css = HtmlRenderer.css().getBytes(StandardCharsets.UTF_8);
        this.js = resource("/io/obplay/ui/page.js");
    }

    private static byte[] resource(String name) {
        try (InputStream in = DagPages.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("the jar has no " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Answers one request. */
    public Page handle(Request r) {
        String p = r.path();
        Matcher m;
        if (r.method().equals("POST")) {
            if ((m = OPERATE.matcher(p)).matches()) {
                return operators.operate(r, Long.parseLong(m.group(1)));
            }
            return layout.notFound(r);
        }
        if (p.equals("/") || p.equals("/ui") || p.equals("/ui/") || p.equals("/ui/dags")) {
            return list(r);
        }
        if (p.equals("/ui/static/dag.css")) {
            return Page.asset("text/css; charset=utf-8", css);
        }
        if (p.equals("/ui/static/page.js")) {
            return Page.asset("text/javascript; charset=utf-8", js);
        }
        if ((m = DAG.matcher(p)).matches()) {
            return dag(r, Long.parseLong(m.group(1)));
        }
        if ((m = CONFIRM.matcher(p)).matches()) {
            return operators.confirm(r, Long.parseLong(m.group(1)));
        }
        if ((m = SUB_TASK.matcher(p)).matches()) {
            return subTask(r, Long.parseLong(m.group(1)));
        }
        return layout.notFound(r);
    }

    // ------------------------------------------------------------------------------------------------ the list

    private Page list(Request r) {
        StringBuilder b = new StringBuilder(4096);
        List<Dag> all = dags.dags(LIST_LIMIT);
        b.append("<div class=\"frag\" data-finished=\"false\">\n<h1>DAGs</h1>\n");
        if (all.isEmpty()) {
            b.append("<p>No DAG yet. A stop through the API (or <code>obplay run</code> on the same state directory) shows here.</p>\n");
        } else {
            b.append("<table class=\"list\">\n<caption class=\"note\">The newest first (at most ").append(LIST_LIMIT).append(")</caption>\n")
                    .append("<thead><tr><th scope=\"col\">DAG</th><th scope=\"col\">name</th><th scope=\"col\">state</th>")
                    .append("<th scope=\"col\">operator</th><th scope=\"col\">stage</th><th scope=\"col\">started</th>")
                    .append("<th scope=\"col\">duration</th><th scope=\"col\">started by</th></tr></thead>\n<tbody>\n");
            for (Dag d : all) {
                b.append("<tr class=\"s-").append(d.state()).append("\"><td><a class=\"dag\" href=\"/ui/dags/").append(d.dagId()).append("\">")
                        .append(Html.text(d.id())).append("</a></td><td>").append(Html.text(d.name())).append("</td><td><span class=\"state\">")
                        .append(d.state()).append("</span></td><td>").append(d.operator()).append("</td><td>").append(d.stage()).append('/')
                        .append(d.maxStage()).append("</td><td>").append(Html.text(time(d.startTime()))).append("</td><td>")
                        .append(duration(d)).append("</td><td>").append(Html.text(startedBy(d))).append("</td></tr>\n");
            }
            b.append("</tbody>\n</table>\n");
        }
        b.append("</div>\n");
        if (r.fragment()) {
            return Page.fragment(r.header("If-None-Match"), b.toString());
        }
        return Page.html(200, layout.page("DAGs · obplay serve", r, "/ui?fragment=1", "", b.toString()));
    }

    // ------------------------------------------------------------------------------------------------ one DAG

    private Page dag(Request r, long id) {
        Optional<Dag> found = dags.dag(id);
        if (found.isEmpty()) {
            return layout.missing(r, "no DAG " + id);
        }
        Dag d = found.get();
        String frag = dagFragment(d);
        if (r.fragment()) {
            return Page.fragment(r.header("If-None-Match"), frag);
        }
        String notice = "";
        String done = r.query().get("done");
        if (done != null && OperatorPages.operators().contains(done)) {
            notice = "<p class=\"notice\" role=\"status\">" + Html.text(done) + " was applied to DAG " + Html.text(d.id()) + ".</p>\n";
        }
        return Page.html(200, layout.page(d.name() + " · DAG " + d.id() + " · obplay serve", r, "/ui/dags/" + id + "?fragment=1",
                notice, frag));
    }

    private String dagFragment(Dag d) {
        StringBuilder b = new StringBuilder(8192);
        b.append("<div class=\"frag\" data-finished=\"").append(d.finished()).append("\">\n");
        b.append("<h1>").append(Html.text(d.name())).append(" <span class=\"badge s-").append(d.state()).append("\" id=\"dag-state\">")
                .append(HtmlRenderer.word(d.state(), d.operator())).append("</span></h1>\n");
        b.append("<dl class=\"summary\">\n");
        Layout.item(b, "DAG", Html.text(d.id()) + " (dag_id " + d.dagId() + ")");
        Layout.item(b, "state", "<span id=\"dag-state-word\">" + d.state() + "</span>, operator " + d.operator() + ", stage <span id=\"dag-stage\">"
                + d.stage() + "/" + d.maxStage() + "</span>");
        Layout.item(b, "started", Html.text(time(d.startTime())) + (!d.finished() || d.endTime().equals(Times.UNSET) ? "" : ", ended " + Html.text(time(d.endTime())))
                + " (" + duration(d) + ")");
        Layout.item(b, "started by", Html.text(startedBy(d)));
        dags.owner(d.dagId()).ifPresent(o -> Layout.item(b, "run by", "obplay " + Html.text(o)));
        b.append("</dl>\n");
        List<String> ops = OperatorPages.allowed(d);
        b.append("<nav class=\"ops\" aria-label=\"operators\">");
        if (ops.isEmpty()) {
            b.append("<span class=\"note\">No operator applies to a DAG that is ").append(d.state()).append(".</span>");
        }
        for (String op : ops) {
            b.append("<a class=\"op").append(op.equals("RETRY") ? "" : " danger").append("\" id=\"op-").append(op).append("\" href=\"/ui/dags/")
                    .append(d.dagId()).append("/confirm?operator=").append(op).append("\">").append(op).append("…</a>");
        }
        b.append("</nav>\n");
        b.append(HtmlRenderer.grid(d, true, t -> "/ui/sub_tasks/" + t.taskId()));
        b.append(HtmlRenderer.summary(d));
        b.append("</div>\n");
        return b.toString();
    }



    // ------------------------------------------------------------------------------------------------ logs

    private Page subTask(Request r, long taskId) {
        Optional<Dag> dag = dags.dagOfSubTask(taskId).flatMap(dags::dag);
        SubTask t = null;
        int stage = 0;
        Node node = null;
        if (dag.isPresent()) {
            for (int i = 0; i < dag.get().nodes().size() && t == null; i++) {
                for (SubTask x : dag.get().nodes().get(i).subTasks()) {
                    if (x.taskId() == taskId) {
                        t = x;
                        stage = i + 1;
                        node = dag.get().nodes().get(i);
                        break;
                    }
                }
            }
        }
        if (t == null) {
            return layout.missing(r, "no sub-task " + taskId);
        }
        Dag d = dag.get();
        TaskData data = t.data();
        String server = data == null ? t.name() : data.server();
        StringBuilder b = new StringBuilder(4096);
        b.append("<div class=\"frag\" data-finished=\"").append(t.state().finished()).append("\">\n");
        b.append("<h1 id=\"logs-title\">").append(Html.text(server)).append(" · stage ").append(stage).append('/').append(d.maxStage())
                .append(" ").append(Html.text(node.name())).append(" <span class=\"badge s-").append(t.state()).append("\">")
                .append(HtmlRenderer.word(t.state(), t.operator())).append("</span></h1>\n");
        b.append("<dl class=\"summary\">\n");
        Layout.item(b, "DAG", "<a href=\"/ui/dags/" + d.dagId() + "\">" + Html.text(d.id()) + "</a> " + Html.text(d.name()));
        Layout.item(b, "sub-task", Html.text(t.id()) + " (task_id " + t.taskId() + "), attempts " + t.executeTimes());
        if (data != null) {
            Layout.item(b, "host", Html.text(data.host()) + ", step " + Html.text(data.step()) + ", timeout "
                    + TextRenderer.human(Duration.ofSeconds(data.timeoutSeconds())));
            for (String s : data.signals()) {
                Layout.item(b, "signal", Html.text(s));
            }
            for (String s : data.paths()) {
                Layout.item(b, "delete", "<code>" + Html.text(s) + "</code>");
            }
            if (data.command() != null) {
                Layout.item(b, "command", "<pre>" + Html.lines(data.command()) + "</pre>");
            }
            if (data.ready() != null) {
                Layout.item(b, "ready", Html.text(data.ready()));
            }
        }
        Layout.item(b, "started", Html.text(time(t.startTime())) + (!t.state().finished() || t.endTime().equals(Times.UNSET) ? ""
                : ", ended " + Html.text(time(t.endTime()))));
        b.append("</dl>\n<h2>Log (").append(t.taskLogs().size()).append(t.taskLogs().size() == 1 ? " line" : " lines").append(")</h2>\n");
        b.append("<pre class=\"log\" id=\"log\">");
        for (String l : t.taskLogs()) {
            b.append(Html.text(l)).append('\n');
        }
        if (t.taskLogs().isEmpty()) {
            b.append("(no log lines yet)");
        }
        b.append("</pre>\n");
        if (data != null) {
            b.append("<details><summary>the script</summary><pre>").append(Html.lines(data.runnable(d.additionalData()))).append("</pre></details>\n");
        }
        b.append("</div>\n");
        if (r.fragment()) {
            return Page.fragment(r.header("If-None-Match"), b.toString());
        }
        return Page.html(200, layout.page(server + " · DAG " + d.id() + " · obplay serve", r, "/ui/sub_tasks/" + taskId + "?fragment=1", "", b.toString()));
    }

    // ------------------------------------------------------------------------------------------------ values

    /** A time for people: to the second, UTC ({@code obplay dag show} and the API have it to the nanosecond). */
    static String time(OffsetDateTime t) {
        return t == null || t.equals(Times.UNSET) ? "—"
                : t.withOffsetSameInstant(java.time.ZoneOffset.UTC).truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                .toLocalDateTime().toString().replace('T', ' ') + " UTC";
    }

    static String duration(Dag d) {
        if (d.startTime() == null || d.startTime().equals(Times.UNSET)) {
            return "—";
        }
        OffsetDateTime end = d.endTime() == null || d.endTime().equals(Times.UNSET) || !d.finished() ? OffsetDateTime.now() : d.endTime();
        Duration x = Duration.between(d.startTime(), end);
        return TextRenderer.human(x.isNegative() ? Duration.ZERO : x);
    }

    /** Who started the DAG: the request of {@code obplay serve} (and the OCP user), or {@code obplay run}. */
    @SuppressWarnings("unchecked")
    static String startedBy(Dag d) {
        Map<String, Object> a = d.additionalData() == null ? Map.of() : d.additionalData();
        if (a.get("shim") instanceof Map<?, ?> shim) {
            Object req = shim.get("request");
            Object ocp = shim.get("ocp_creator");
            return (ocp != null ? "OCP user " + ocp + " with " : "obplay serve: ") + (req == null ? "a request" : req);
        }
        return a.get("playbook") != null ? "obplay run " + a.get("playbook") : "obplay run";
    }
}
