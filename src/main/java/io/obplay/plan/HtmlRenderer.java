package io.obplay.plan;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The DAG as a picture: its stages left to right and its servers top to bottom, one cell per sub-task, in the order
 * of {@link TextRenderer} (stages in order; servers in the order they first appear). {@link #plan} is the whole of
 * {@code obplay plan --format html}: a self-contained page (inline CSS, no script) where every stage, host, signal
 * and path is visible; {@link #grid} is the table alone, which the DAG page of {@code obplay serve} shows with
 * states and links to each sub-task's logs. Every value goes through {@link Html}.
 */
public final class HtmlRenderer {
    /** The stylesheet shared by the plan file (inlined) and the DAG page (served as {@code /ui/static/dag.css}). */
    public static final String CSS_RESOURCE = "/io/obplay/ui/dag.css";

    private HtmlRenderer() {
    }

    /** The stylesheet's text. */
    public static String css() {
        try (InputStream in = HtmlRenderer.class.getResourceAsStream(CSS_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the jar has no " + CSS_RESOURCE);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code obplay plan --format html}: the plan as one HTML file, its CSS inline, nothing fetched. */
    public static String plan(Dag d) {
        StringBuilder b = new StringBuilder(8192);
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>Plan: ").append(Html.text(d.name())).append("</title>\n<style>\n").append(css()).append("</style>\n")
                .append("</head>\n<body>\n<main>\n");
        b.append("<h1>Plan: ").append(Html.text(d.name())).append("</h1>\n");
        b.append(summary(d));
        b.append(grid(d, false, t -> null));
        b.append(totals(d));
        b.append("<p class=\"note\">Nothing was run. This page was written by <code>obplay plan --format html</code>.</p>\n");
        b.append("</main>\n</body>\n</html>\n");
        return b.toString();
    }

    /** Where the plan comes from: playbook, inventory (with their sha256), strategy, limits; and the counts. */
    public static String summary(Dag d) {
        Map<String, Object> a = d.additionalData() == null ? Map.of() : d.additionalData();
        StringBuilder b = new StringBuilder();
        b.append("<dl class=\"summary\">\n");
        if (a.get("playbook") != null) {
            item(b, "playbook", Html.text(a.get("playbook")) + " <span class=\"hash\">sha256 " + Html.text(TextRenderer.shortHash(a.get("playbook_sha256"))) + "</span>");
            item(b, "inventory", Html.text(a.get("inventory")) + " <span class=\"hash\">sha256 " + Html.text(TextRenderer.shortHash(a.get("inventory_sha256")))
                    + "</span> (cluster " + Html.text(a.get("cluster")) + ", transport " + Html.text(a.get("transport")) + ")");
            StringBuilder s = new StringBuilder();
            s.append(Html.text(a.get("strategy"))).append(", forks ").append(Html.text(a.get("forks")))
                    .append(", max_fail_percentage ").append(Html.text(a.get("max_fail_percentage")));
            for (String k : List.of("limit", "tags", "skip_tags")) {
                if (a.get(k) instanceof List<?> l && !l.isEmpty()) {
                    s.append(", ").append(k.replace('_', '-')).append(' ').append(Html.text(String.join(",", l.stream().map(String::valueOf).toList())));
                }
            }
            item(b, "strategy", s.toString());
        }
        item(b, "DAG", Html.text(d.id()) + ": " + d.maxStage() + TextRenderer.plural(d.maxStage(), " stage") + ", "
                + servers(d).size() + TextRenderer.plural(servers(d).size(), " server") + " on " + hosts(d) + TextRenderer.plural(hosts(d), " host")
                + ", " + d.subTaskCount() + TextRenderer.plural(d.subTaskCount(), " sub-task"));
        b.append("</dl>\n");
        return b.toString();
    }

    private static void item(StringBuilder b, String term, String html) {
        b.append("<dt>").append(term).append("</dt><dd>").append(html).append("</dd>\n");
    }

    private static String totals(Dag d) {
        int signals = 0;
        int paths = 0;
        for (Node n : d.nodes()) {
            for (SubTask t : n.subTasks()) {
                TaskData data = t.data();
                if (data != null) {
                    signals += data.signals().size();
                    paths += data.paths().size();
                }
            }
        }
        return "<p class=\"totals\">Totals: " + d.maxStage() + TextRenderer.plural(d.maxStage(), " stage") + " · " + hosts(d)
                + TextRenderer.plural(hosts(d), " host") + " · " + d.subTaskCount() + TextRenderer.plural(d.subTaskCount(), " sub-task")
                + " · " + signals + TextRenderer.plural(signals, " signal") + " · " + paths + TextRenderer.plural(paths, " path")
                + " to delete</p>\n";
    }

    /** The servers of the DAG, in the order they first appear, with the host each runs on. */
    public static Map<String, String> servers(Dag d) {
        Map<String, String> m = new LinkedHashMap<>();
        for (Node n : d.nodes()) {
            for (SubTask t : n.subTasks()) {
                m.putIfAbsent(server(t), t.data() == null ? t.executeAgent().ip() : t.data().host());
            }
        }
        return m;
    }

    private static long hosts(Dag d) {
        return d.nodes().stream().flatMap(n -> n.subTasks().stream()).map(t -> t.executeAgent().ip()).distinct().count();
    }

    private static String server(SubTask t) {
        return t.data() == null ? t.name() : t.data().server();
    }

    /** The last log line of a sub-task, or null when it has none. */
    public static String lastLine(SubTask t) {
        return t.taskLogs().isEmpty() ? null : t.taskLogs().get(t.taskLogs().size() - 1);
    }

    /**
     * The grid: a table with one column per stage and one row per server.
     *
     * @param states with each stage's and sub-task's state (by word and by colour) and a failed sub-task's last log
     *               line; without, what each sub-task would do: its step, signals, paths and command
     * @param href   the link a cell opens (the sub-task's logs), or null for none
     */
    public static String grid(Dag d, boolean states, Function<SubTask, String> href) {
        Map<String, String> servers = servers(d);
        List<Map<String, List<SubTask>>> byStage = new ArrayList<>();
        for (Node n : d.nodes()) {
            Map<String, List<SubTask>> m = new LinkedHashMap<>();
            for (SubTask t : n.subTasks()) {
                m.computeIfAbsent(server(t), k -> new ArrayList<>(1)).add(t);
            }
            byStage.add(m);
        }
        StringBuilder b = new StringBuilder(256 + servers.size() * d.nodes().size() * 160);
        b.append("<div class=\"grid-wrap\">\n<table class=\"grid\">\n<caption>").append(Html.text(d.name())).append(": ")
                .append(d.maxStage()).append(TextRenderer.plural(d.maxStage(), " stage")).append(" left to right, ")
                .append(servers.size()).append(TextRenderer.plural(servers.size(), " server")).append(" top to bottom</caption>\n");
        b.append("<thead><tr><th scope=\"col\" class=\"corner\">server</th>");
        for (int i = 0; i < d.nodes().size(); i++) {
            Node n = d.nodes().get(i);
            b.append("<th scope=\"col\" class=\"stage").append(states ? " s-" + n.state() : "").append("\">")
                    .append("<span class=\"stage-no\">Stage ").append(i + 1).append('/').append(d.maxStage()).append("</span> ")
                    .append("<span class=\"stage-name\">").append(Html.text(n.name())).append("</span>");
            Map<String, Object> nd = n.additionalData() == null ? Map.of() : n.additionalData();
            b.append(" <span class=\"meta\">").append(n.subTasks().size()).append(TextRenderer.plural(n.subTasks().size(), " server"));
            if (nd.get("timeout") instanceof Number t) {
                b.append(", timeout ").append(TextRenderer.human(Duration.ofSeconds(t.longValue())));
            }
            if (nd.get("tags") instanceof List<?> tags && !tags.isEmpty()) {
                b.append(", tags ").append(Html.text(String.join(",", tags.stream().map(String::valueOf).toList())));
            }
            b.append("</span>");
            if (states) {
                b.append(" <span class=\"state\">").append(word(n.state(), n.operator())).append("</span>");
            }
            b.append("</th>");
        }
        b.append("</tr></thead>\n<tbody>\n");
        for (Map.Entry<String, String> s : servers.entrySet()) {
            String name = s.getKey();
            String host = s.getValue();
            b.append("<tr><th scope=\"row\" class=\"server\">").append(Html.text(name));
            if (!name.startsWith(host + ":") && !name.startsWith("[" + host + "]:")) {
                b.append(" <span class=\"host\">on ").append(Html.text(host)).append("</span>");
            }
            b.append("</th>");
            for (int i = 0; i < d.nodes().size(); i++) {
                List<SubTask> ts = byStage.get(i).get(name);
                if (ts == null) {
                    b.append("<td class=\"cell none\"><span class=\"state\">not in this stage</span></td>");
                    continue;
                }
                b.append("<td class=\"cell").append(states ? " s-" + ts.get(0).state() : "").append("\">");
                for (SubTask t : ts) {
                    cell(b, d, i, name, t, states, href.apply(t));
                }
                b.append("</td>");
            }
            b.append("</tr>\n");
        }
        b.append("</tbody>\n</table>\n</div>\n");
        return b.toString();
    }

    private static void cell(StringBuilder b, Dag d, int stage, String server, SubTask t, boolean states, String href) {
        if (href != null) {
            b.append("<a class=\"sub\" id=\"t").append(t.taskId()).append("\" href=\"").append(Html.text(href)).append("\" aria-label=\"")
                    .append(Html.text(server)).append(", stage ").append(stage + 1).append(states ? ": " + word(t.state(), t.operator()) : "")
                    .append(", open its logs\">");
        } else {
            b.append("<div class=\"sub\">");
        }
        TaskData data = t.data();
        if (states) {
            b.append("<span class=\"state\">").append(word(t.state(), t.operator())).append("</span>");
            if (t.executeTimes() > 1) {
                b.append(" <span class=\"times\">attempt ").append(t.executeTimes()).append("</span>");
            }
            String last = lastLine(t);
            if (t.state() == State.FAILED && last != null) {
                b.append("<span class=\"last\">").append(Html.text(last)).append("</span>");
            }
        } else if (data != null) {
            b.append("<span class=\"step\">").append(Html.text(data.step())).append("</span>");
            b.append("<ul class=\"acts\">");
            for (String sig : data.signals()) {
                b.append("<li class=\"signal\"><span class=\"k\">signal</span> ").append(Html.text(sig)).append("</li>");
            }
            for (String p : data.paths()) {
                b.append("<li class=\"path\"><span class=\"k\">delete</span> <code>").append(Html.text(p)).append("</code></li>");
            }
            if (data.command() != null) {
                b.append("<li class=\"command\"><span class=\"k\">command</span> <pre>").append(Html.lines(data.command())).append("</pre></li>");
            }
            if (data.ready() != null) {
                b.append("<li class=\"ready\"><span class=\"k\">ready</span> ").append(Html.text(data.ready())).append("</li>");
            }
            b.append("</ul>");
        }
        b.append(href != null ? "</a>" : "</div>");
    }

    /** A state in words, with the operator when it is not RUN: {@code SUCCEED (PASS)}. */
    public static String word(State s, Operator op) {
        return op == null || op == Operator.RUN ? s.name() : s.name() + " (" + op.name() + ")";
    }
}
