package io.obplay.shim.ui;

import io.obplay.plan.Dag;
import io.obplay.plan.Html;
import io.obplay.plan.Node;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.TaskData;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The operators on the DAG page: {@code /ui/dags/{dag_id}/confirm?operator=OP} says what OP will do (as
 * {@code obplay dag retry|pass|cancel} say it before they ask) and holds the form that POSTs it to
 * {@code /ui/dags/{dag_id}/operate}, which {@link Csrf} checks and {@link DagSource#operate} applies (the code path
 * and refusals of {@code POST /api/v1/task/dag/{id}}); then 303 back to the DAG.
 */
final class OperatorPages {
    private final DagSource dags;
    private final Csrf csrf;
    private final Layout layout;

    OperatorPages(DagSource dags, Csrf csrf, Layout layout) {
        this.dags = dags;
        this.csrf = csrf;
        this.layout = layout;
    }

    /** The operators the page offers: RETRY and PASS on a FAILED DAG, CANCEL on an unfinished one. */
    static List<String> allowed(Dag d) {
        if (d.state() == State.FAILED) {
            return List.of("RETRY", "PASS");
        }
        if (!d.finished()) {
            return List.of("CANCEL");
        }
        return List.of();
    }

    static Set<String> operators() {
        return Set.of("RETRY", "PASS", "CANCEL");
    }

    Page confirm(DagPages.Request r, long id) {
        String op = String.valueOf(r.query().get("operator")).toUpperCase(Locale.ROOT);
        Optional<Dag> found = dags.dag(id);
        if (found.isEmpty()) {
            return layout.missing(r, "no DAG " + id);
        }
        Dag d = found.get();
        if (!operators().contains(op)) {
            return layout.error(r, 400, "Bad request", "operator must be RETRY, PASS or CANCEL", d);
        }
        StringBuilder b = new StringBuilder(2048);
        b.append("<h1>").append(op).append(" DAG ").append(Html.text(d.id())).append("?</h1>\n");
        b.append("<p>DAG ").append(Html.text(d.id())).append(" “").append(Html.text(d.name())).append("” is ").append(d.state())
                .append(" (operator ").append(d.operator()).append(") at stage ").append(d.stage()).append('/').append(d.maxStage()).append(".</p>\n");
        b.append(whatHappens(op, d));
        if (!allowed(d).contains(op)) {
            b.append("<p class=\"notice error\">").append(op).append(" does not apply to a DAG that is ").append(d.state())
                    .append(": the server would refuse it.</p>\n");
        }
        b.append("<form method=\"post\" action=\"/ui/dags/").append(d.dagId()).append("/operate\" class=\"ops\">")
                .append("<input type=\"hidden\" name=\"operator\" value=\"").append(op).append("\">")
                .append("<input type=\"hidden\" name=\"token\" value=\"").append(Html.text(csrf.token(r.user()))).append("\">")
                .append("<button type=\"submit\" id=\"confirm\"").append(op.equals("RETRY") ? "" : " class=\"danger\"").append(">Yes, ")
                .append(op).append("</button> <a href=\"/ui/dags/").append(d.dagId()).append("\" id=\"cancel-confirm\">No, back to the DAG</a></form>\n");
        return Page.html(200, layout.page(op + " DAG " + d.id() + " · obplay serve", r, null, "", b.toString()));
    }

    /** What the operator will do, said as {@code obplay dag retry|pass|cancel} say it before they ask. */
    private String whatHappens(String op, Dag d) {
        StringBuilder b = new StringBuilder();
        List<String> lines = new ArrayList<>();
        int tasks = 0;
        Set<String> hosts = new LinkedHashSet<>();
        for (int i = 0; i < d.nodes().size(); i++) {
            Node n = d.nodes().get(i);
            List<String> these = new ArrayList<>();
            for (SubTask t : n.subTasks()) {
                if (t.state() != State.SUCCEED) {
                    TaskData data = t.data();
                    these.add((data == null ? t.name() : data.server()) + " (" + (t.state() == State.FAILED ? "FAILED"
                            : t.state() == State.RUNNING ? "RUNNING" : "not run") + ")");
                    hosts.add(data == null ? t.executeAgent().ip() : data.host());
                    tasks++;
                }
            }
            if (!these.isEmpty()) {
                lines.add("stage " + (i + 1) + "/" + d.maxStage() + " “" + n.name() + "”: " + String.join(", ", these));
            }
        }
        switch (op) {
            case "RETRY" -> b.append("<p>RETRY runs again, stage after stage, the ").append(tasks).append(tasks == 1 ? " sub-task" : " sub-tasks")
                    .append(" that failed or never ran, on ").append(hosts.size()).append(hosts.size() == 1 ? " host" : " hosts")
                    .append(". Sub-tasks that succeeded are not run again.</p>\n");
            case "PASS" -> b.append("<p>PASS accepts the DAG as it is: nothing more runs on any host; the stages and sub-tasks that did not")
                    .append(" succeed are marked SUCCEED with operator PASS, and the DAG no longer holds the maintenance lock.</p>\n");
            default -> b.append(d.state() == State.RUNNING
                    ? "<p>CANCEL asks the process that runs the DAG to end its running scripts; the DAG ends FAILED with operator CANCEL,"
                    + " and what did not run stays not run (RETRY can run it later).</p>\n"
                    : "<p>CANCEL records the DAG FAILED with operator CANCEL at once; nothing of what follows runs (RETRY can run it later).</p>\n");
        }
        if (!lines.isEmpty()) {
            b.append("<ul class=\"what\">");
            for (String l : lines) {
                b.append("<li>").append(Html.text(l)).append("</li>");
            }
            b.append("</ul>\n");
        }
        return b.toString();
    }

    Page operate(DagPages.Request r, long id) {
        Map<String, String> form = form(r.body());
        String refused = csrf.refuse(r, form.get("token"));
        if (refused != null) {
            return layout.error(r, 403, "Refused", refused + ". Nothing was changed.", null);
        }
        String op = String.valueOf(form.get("operator")).toUpperCase(Locale.ROOT);
        if (!operators().contains(op)) {
            return layout.error(r, 400, "Bad request", "operator must be RETRY, PASS or CANCEL", null);
        }
        try {
            dags.operate(id, op);
        } catch (DagSource.Refusal e) {
            return layout.error(r, e.status(), op + " refused", e.errCode() + ": " + e.getMessage(), dags.dag(id).orElse(null));
        }
        return Page.seeOther("/ui/dags/" + id + "?done=" + op);
    }

    private static Map<String, String> form(byte[] body) {
        Map<String, String> m = new LinkedHashMap<>();
        String s = new String(body, StandardCharsets.UTF_8);
        for (String pair : s.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            try {
                m.putIfAbsent(URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
                        eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                // a malformed pair is left out
            }
        }
        return m;
    }
}
