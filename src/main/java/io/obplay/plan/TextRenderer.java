package io.obplay.plan;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The DAG as a readable tree for people: stages, hosts, and every signal, path and command, with counts. */
public final class TextRenderer {
    private TextRenderer() {
    }

    /**
     * The DAG for this process's terminal (see {@link Printable#terminal()}).
     *
     * @param scripts also print each sub-task's full script
     * @param states  print each stage's and sub-task's state (for runs; a fresh plan has none worth showing)
     */
    public static String render(Dag d, boolean scripts, boolean states) {
        return render(d, scripts, states, Printable.terminal());
    }

    /** The DAG with every value as {@code p} shows it: control, bidi and unshowable characters escaped. */
    public static String render(Dag d, boolean scripts, boolean states, Printable p) {
        String dot = p.shows(" · ") ? " · " : " - ";
        StringBuilder b = new StringBuilder();
        DagData a = DagData.of(d.additionalData());
        b.append(states ? "DAG " + p.line(d.id()) + "  " : "Plan: ").append(p.line(d.name()));
        if (states) {
            b.append("  ").append(d.state()).append(" (operator ").append(d.operator()).append(", stage ")
                    .append(d.stage()).append("/").append(d.maxStage()).append(")");
        }
        b.append('\n');
        if (a.playbook() != null) {
            b.append("  playbook   ").append(p.line(a.playbook())).append("  sha256 ").append(p.line(shortHash(a.playbookSha256()))).append('\n');
            b.append("  inventory  ").append(p.line(a.inventory())).append("  sha256 ").append(p.line(shortHash(a.inventorySha256())))
                    .append("  (cluster ").append(p.line(a.cluster())).append(", transport ").append(p.line(a.transport())).append(")\n");
            b.append("  strategy ").append(p.line(a.strategy())).append(dot + "forks ").append(p.line(a.forks()))
                    .append(dot + "max_fail_percentage ").append(p.line(a.maxFailPercentage()));
            if (!a.limit().isEmpty()) {
                b.append(dot + "limit ").append(p.line(String.join(",", a.limit())));
            }
            if (!a.tags().isEmpty()) {
                b.append(dot + "tags ").append(p.line(String.join(",", a.tags())));
            }
            if (!a.skipTags().isEmpty()) {
                b.append(dot + "skip-tags ").append(p.line(String.join(",", a.skipTags())));
            }
            b.append('\n');
        }
        long hosts = d.nodes().stream().flatMap(n -> n.subTasks().stream()).map(t -> t.executeAgent().ip()).distinct().count();
        long servers = d.nodes().stream().flatMap(n -> n.subTasks().stream()).map(t -> t.data() == null ? t.id() : t.data().server()).distinct().count();
        b.append("  DAG ").append(p.line(d.id())).append(": ").append(d.maxStage()).append(plural(d.maxStage(), " stage"))
                .append(", ").append(servers).append(plural(servers, " server")).append(" on ").append(hosts).append(plural(hosts, " host"))
                .append(", ").append(d.subTaskCount()).append(plural(d.subTaskCount(), " sub-task")).append("\n");
        int signals = 0;
        int paths = 0;
        for (int i = 0; i < d.nodes().size(); i++) {
            Node n = d.nodes().get(i);
            b.append('\n').append("Stage ").append(i + 1).append('/').append(d.maxStage()).append("  ").append(p.line(n.name()));
            NodeData nd = NodeData.of(n.additionalData());
            b.append("  (").append(n.subTasks().size()).append(plural(n.subTasks().size(), " server"));
            if (nd.timeoutSeconds() != null) {
                b.append(", timeout ").append(human(Duration.ofSeconds(nd.timeoutSeconds())));
            }
            if (!nd.tags().isEmpty()) {
                b.append(", tags ").append(p.line(String.join(",", nd.tags())));
            }
            b.append(")");
            if (states) {
                b.append("  ").append(n.state());
            }
            b.append('\n');
            for (SubTask t : n.subTasks()) {
                TaskData data = t.data();
                b.append("  ").append(p.line(data == null ? t.name() : data.server()));
                if (data != null && !data.server().startsWith(data.host() + ":") && !data.server().startsWith("[" + data.host() + "]:")) {
                    b.append("  on ").append(p.line(data.host()));
                }
                if (states) {
                    b.append("  ").append(t.state());
                    if (t.operator() != Operator.RUN) {
                        b.append(" (").append(t.operator()).append(")");
                    }
                }
                b.append('\n');
                if (data == null) {
                    continue;
                }
                for (String s : data.signals()) {
                    b.append("      signal   ").append(p.line(s)).append('\n');
                    signals++;
                }
                for (String path : data.paths()) {
                    b.append("      delete   ").append(p.line(path)).append('\n');
                    paths++;
                }
                if (data.command() != null) {
                    b.append("      command  ").append(p.lines(data.command()).replace("\n", "\n               ")).append('\n');
                }
                if (data.ready() != null && nd.gate() == null) {
                    b.append("      ready    ").append(p.line(data.ready())).append('\n');
                }
                if (nd.gate() != null) {
                    b.append("      on the controller, after ").append(p.line(nd.gate().zone())).append(" and before the next zone:\n");
                    for (String line : nd.gate().lines()) {
                        b.append("      check    ").append(p.line(line)).append('\n');
                    }
                }
                if (scripts) {
                    b.append("      script:\n");
                    for (String line : data.script().split("\n", -1)) {
                        b.append("        | ").append(p.lines(line)).append('\n');
                    }
                }
                if (states && !t.taskLogs().isEmpty()) {
                    List<String> logs = t.taskLogs();
                    String ranBy = t.ranBy() != null ? t.ranBy() : ranBy(logs);
                    if (ranBy != null) {
                        b.append("      ran by   obplay ").append(ranBy).append('\n');
                    }
                    int from = Math.max(0, logs.size() - 5);
                    if (from > 0) {
                        b.append("      ... ").append(from).append(" earlier log lines\n");
                    }
                    for (String l : logs.subList(from, logs.size())) {
                        b.append("      log      ").append(p.line(l)).append('\n');
                    }
                }
            }
        }
        if (scripts && a.libraries() != null && !a.libraries().isEmpty()) {
            Map<String, Object> libs = a.libraries();
            b.append("\nScript libraries (each script's '# obplay library: NAME' line stands for NAME's functions):\n");
            libs.forEach((name, text) -> {
                b.append("  library ").append(p.line(name)).append(":\n");
                for (String line : String.valueOf(text).split("\n", -1)) {
                    b.append("        | ").append(p.lines(line)).append('\n');
                }
            });
        }
        b.append('\n').append("Totals: ").append(d.maxStage()).append(plural(d.maxStage(), " stage")).append(dot)
                .append(hosts).append(plural(hosts, " host")).append(dot).append(d.subTaskCount()).append(plural(d.subTaskCount(), " sub-task"))
                .append(dot).append(signals).append(plural(signals, " signal")).append(dot).append(paths).append(plural(paths, " path"))
                .append(" to delete\n");
        return b.toString();
    }

    static String plural(long n, String word) {
        return n == 1 ? word : word + "s";
    }

    static String shortHash(Object h) {
        String s = String.valueOf(h);
        return s.length() > 12 ? s.substring(0, 12) : s;
    }

    public static String human(Duration d) {
        long s = d.toSeconds();
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return (s / 60) + "m" + (s % 60 == 0 ? "" : (s % 60) + "s");
        }
        return (s / 3600) + "h" + ((s % 3600) / 60 == 0 ? "" : ((s % 3600) / 60) + "m");
    }

    /** The instance ({@code pid@hostname}) that last started the sub-task, from its "run ... by obplay X" log line. */
    static String ranBy(List<String> logs) {
        for (int i = logs.size() - 1; i >= 0; i--) {
            String l = logs.get(i);
            int at = l.lastIndexOf(") by obplay ");
            if (l.startsWith("run ") && at > 0) {
                return l.substring(at + ") by obplay ".length());
            }
        }
        return null;
    }
}
