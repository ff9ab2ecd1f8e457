package io.obplay.plan;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The DAG as a readable tree for people: stages, hosts, and every signal, path and command, with counts. */
public final class TextRenderer {
    private TextRenderer() {
    }

    /**
     * @param scripts also print each sub-task's full script
     * @param states  print each stage's and sub-task's state (for runs; a fresh plan has none worth showing)
     */
    public static String render(Dag d, boolean scripts, boolean states) {
        StringBuilder b = new StringBuilder();
        Map<String, Object> a = d.additionalData() == null ? Map.of() : d.additionalData();
        b.append(states ? "DAG " + d.id() + "  " : "Plan: ").append(d.name());
        if (states) {
            b.append("  ").append(d.state()).append(" (operator ").append(d.operator()).append(", stage ")
                    .append(d.stage()).append("/").append(d.maxStage()).append(")");
        }
        b.append('\n');
        if (a.get("playbook") != null) {
            b.append("  playbook   ").append(a.get("playbook")).append("  sha256 ").append(shortHash(a.get("playbook_sha256"))).append('\n');
            b.append("  inventory  ").append(a.get("inventory")).append("  sha256 ").append(shortHash(a.get("inventory_sha256")))
                    .append("  (cluster ").append(a.get("cluster")).append(", transport ").append(a.get("transport")).append(")\n");
            b.append("  strategy ").append(a.get("strategy")).append(" · forks ").append(a.get("forks"))
                    .append(" · max_fail_percentage ").append(a.get("max_fail_percentage"));
            if (a.get("limit") instanceof List<?> l && !l.isEmpty()) {
                b.append(" · limit ").append(String.join(",", l.stream().map(String::valueOf).toList()));
            }
            if (a.get("tags") instanceof List<?> l && !l.isEmpty()) {
                b.append(" · tags ").append(String.join(",", l.stream().map(String::valueOf).toList()));
            }
            if (a.get("skip_tags") instanceof List<?> l && !l.isEmpty()) {
                b.append(" · skip-tags ").append(String.join(",", l.stream().map(String::valueOf).toList()));
            }
            b.append('\n');
        }
        long hosts = d.nodes().stream().flatMap(n -> n.subTasks().stream()).map(t -> t.executeAgent().ip()).distinct().count();
        long servers = d.nodes().stream().flatMap(n -> n.subTasks().stream()).map(t -> t.data() == null ? t.id() : t.data().server()).distinct().count();
        b.append("  DAG ").append(d.id()).append(": ").append(d.maxStage()).append(plural(d.maxStage(), " stage"))
                .append(", ").append(servers).append(plural(servers, " server")).append(" on ").append(hosts).append(plural(hosts, " host"))
                .append(", ").append(d.subTaskCount()).append(plural(d.subTaskCount(), " sub-task")).append("\n");
        int signals = 0;
        int paths = 0;
        for (int i = 0; i < d.nodes().size(); i++) {
            Node n = d.nodes().get(i);
            b.append('\n').append("Stage ").append(i + 1).append('/').append(d.maxStage()).append("  ").append(n.name());
            Map<String, Object> nd = n.additionalData() == null ? Map.of() : n.additionalData();
            b.append("  (").append(n.subTasks().size()).append(plural(n.subTasks().size(), " server"));
            if (nd.get("timeout") instanceof Number t) {
                b.append(", timeout ").append(human(Duration.ofSeconds(t.longValue())));
            }
            if (nd.get("tags") instanceof List<?> tags && !tags.isEmpty()) {
                b.append(", tags ").append(String.join(",", tags.stream().map(String::valueOf).toList()));
            }
            b.append(")");
            if (states) {
                b.append("  ").append(n.state());
            }
            b.append('\n');
            for (SubTask t : n.subTasks()) {
                TaskData data = t.data();
                b.append("  ").append(data == null ? t.name() : data.server());
                if (data != null && !data.server().startsWith(data.host() + ":") && !data.server().startsWith("[" + data.host() + "]:")) {
                    b.append("  on ").append(data.host());
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
                    b.append("      signal   ").append(s).append('\n');
                    signals++;
                }
                for (String p : data.paths()) {
                    b.append("      delete   ").append(p).append('\n');
                    paths++;
                }
                if (data.command() != null) {
                    b.append("      command  ").append(data.command().replace("\n", "\n               ")).append('\n');
                }
                if (scripts) {
                    b.append("      script:\n");
                    for (String line : data.script().split("\n", -1)) {
                        b.append("        | ").append(line).append('\n');
                    }
                }
                if (states && !t.taskLogs().isEmpty()) {
                    List<String> logs = t.taskLogs();
                    int from = Math.max(0, logs.size() - 5);
                    if (from > 0) {
                        b.append("      ... ").append(from).append(" earlier log lines\n");
                    }
                    for (String l : logs.subList(from, logs.size())) {
                        b.append("      log      ").append(l).append('\n');
                    }
                }
            }
        }
        if (scripts && a.get("libraries") instanceof Map<?, ?> libs && !libs.isEmpty()) {
            b.append("\nScript libraries (each script's '# obplay library: NAME' line stands for NAME's functions):\n");
            libs.forEach((name, text) -> {
                b.append("  library ").append(name).append(":\n");
                for (String line : String.valueOf(text).split("\n", -1)) {
                    b.append("        | ").append(line).append('\n');
                }
            });
        }
        b.append('\n').append("Totals: ").append(d.maxStage()).append(plural(d.maxStage(), " stage")).append(" · ")
                .append(hosts).append(plural(hosts, " host")).append(" · ").append(d.subTaskCount()).append(plural(d.subTaskCount(), " sub-task"))
                .append(" · ").append(signals).append(plural(signals, " signal")).append(" · ").append(paths).append(plural(paths, " path"))
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
}
