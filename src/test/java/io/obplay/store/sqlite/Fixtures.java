package io.obplay.store.sqlite;

import io.obplay.plan.Dag;
import io.obplay.plan.ExecuteAgent;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;
import io.obplay.store.IdScheme;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Planned DAGs for the store tests. */
public final class Fixtures {
    public static final IdScheme AGENT = new IdScheme('2', "127.0.0.1", 2886);
    public static final IdScheme OBPROXY = new IdScheme('4', "10.0.0.7", 2983);

    private Fixtures() {
    }

    /** A DAG with something unusual in every field at every level. */
    public static Dag full() {
        OffsetDateTime t1 = OffsetDateTime.of(2025, 3, 20, 15, 20, 30, 742_036_555, ZoneOffset.ofHours(8));
        OffsetDateTime t2 = OffsetDateTime.of(2025, 3, 20, 7, 21, 0, 1, ZoneOffset.UTC);
        OffsetDateTime t3 = OffsetDateTime.of(1999, 12, 31, 23, 59, 59, 999_999_999, ZoneOffset.ofHoursMinutes(-3, -30));
        OffsetDateTime t4 = OffsetDateTime.of(2030, 1, 2, 3, 4, 5, 0, ZoneOffset.ofHoursMinutesSeconds(5, 45, 30));

        Map<String, Object> dagData = new LinkedHashMap<>();
        dagData.put("scope", Map.of("type", "ZONE"));
        dagData.put("targets", List.of("zone1", "zone2"));
        dagData.put("small", 7);
        dagData.put("big", 9_876_543_210L);
        dagData.put("ratio", 0.25);
        dagData.put("force", true);
        dagData.put("nothing", null);
        dagData.put("unicode", "区域 ✓ 🚀");
        dagData.put("nested", new LinkedHashMap<>(Map.of("list", List.of(1, 2L << 40, "x", List.of()))));

        SubTask s1 = new SubTask(null, 0, "kill observer 10.0.0.1", State.FAILED, Operator.RETRY, t1, t2,
                task("10.0.0.1:2886", "kill", 1), 3, new ExecuteAgent("10.0.0.1", 2886),
                List.of("line one", "第二行 — ünïcödé 🚀", "", "  indented\ttab", "embedded\nnewline", "last"));
        SubTask s2 = new SubTask(null, 0, "kill observer 10.0.0.2", State.SUCCEED, Operator.RUN, t3, t4,
                Map.of(), 0, new ExecuteAgent("10.0.0.2", 65535), List.of());
        SubTask s3 = new SubTask(null, 0, "no agent", State.PENDING, Operator.RUN, Times.UNSET, null,
                null, 0, null, List.of("only"));
        Node n1 = new Node(null, 0, "Kill observers", State.FAILED, Operator.RETRY, t1, t2, null, List.of(s1, s2, s3));
        Node n2 = new Node(null, 0, "Clean dirs", State.PENDING, Operator.RUN, Times.UNSET, Times.UNSET, Map.of(), List.of());
        Node n3 = new Node(null, 0, "Ünïcode nödé", State.READY, Operator.CANCEL, null, null,
                Map.of("k", List.of(Map.of("a", 1))),
                List.of(new SubTask(null, 0, "t", State.READY, Operator.CANCEL, t4, t4, Map.of("x", "y"), 1,
                        new ExecuteAgent("::1", 1), List.of("a", "b"))));
        return new Dag("ignored", 999, "Stop OB ✓", 1, 3, Dag.MAINTENANCE_GLOBAL, "cluster:demo",
                State.FAILED, Operator.RETRY, t1, Times.UNSET, dagData, List.of(n1, n2, n3));
    }

    public static Map<String, Object> task(String server, String step, int index) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("server", server);
        m.put("role", "observer");
        m.put("host", server.split(":")[0]);
        m.put("step", step);
        m.put("step_index", index);
        m.put("timeout", 30);
        m.put("signals", List.of("SIGTERM", "SIGKILL after 30 s"));
        m.put("paths", List.of());
        m.put("script", "#!/bin/sh\nkill -9 \"$(cat run/observer.pid)\"\n");
        return m;
    }

    /** A fresh planned DAG: READY/RUN, {@code nodes} nodes of {@code tasks} sub-tasks, each with {@code logs} lines. */
    public static Dag planned(String name, int type, String key, int nodes, int tasks, int logs) {
        OffsetDateTime now = OffsetDateTime.now();
        List<Node> ns = new ArrayList<>();
        for (int n = 1; n <= nodes; n++) {
            List<SubTask> ts = new ArrayList<>();
            for (int t = 1; t <= tasks; t++) {
                List<String> lines = new ArrayList<>();
                for (int l = 1; l <= logs; l++) {
                    lines.add("n" + n + " t" + t + " line " + l);
                }
                ts.add(new SubTask(null, 0, "task " + n + "." + t, State.READY, Operator.RUN, Times.UNSET, Times.UNSET,
                        task("10.0.0." + t + ":2886", "stop", n), 0, new ExecuteAgent("10.0.0." + t, 2886), lines));
            }
            ns.add(new Node(null, 0, "node " + n, State.READY, Operator.RUN, Times.UNSET, Times.UNSET, null, ts));
        }
        return new Dag(null, 0, name, 1, nodes, type, key, State.READY, Operator.RUN, now, now, null, ns);
    }

    public static Dag maintenance(String name, String key) {
        return planned(name, Dag.MAINTENANCE_GLOBAL, key, 2, 2, 1);
    }

    public static List<String> lines(String... l) {
        return Arrays.asList(l);
    }
}
