package io.obplay.inventory;

import io.obplay.playbook.Playbook;
import io.obplay.playbook.PlaybookLoader;
import io.obplay.plan.Node;
import io.obplay.plan.Plan;
import io.obplay.plan.PlanOptions;
import io.obplay.plan.Planner;
import io.obplay.plan.TaskData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * OBD's published example configs (src/test/resources/obd, copied with their licence), each read as an
 * inventory and planned for a stop and a cleanup, checked against what OBD itself would stop and delete.
 *
 * <p>What OBD would do is worked out here from the raw YAML, independently of {@link ObdConfigLoader}, after
 * OBD's plugins: {@code obd cluster stop} kills the pid in {@code <home_path>/run/observer.pid} of each observer,
 * and for each obproxy the pids in {@code run/obproxyd-<ip>-<listen_port>.pid} then {@code run/obproxy-<ip>-<listen_port>.pid};
 * {@code obd cluster destroy} runs {@code rm -fr} on each server's {@code home_path} and, for observers, on each of
 * data_dir, redo_dir, clog_dir, ilog_dir, slog_dir that the config sets.
 */
class ObdExamplesTest {
    static final Path DIR = Path.of("src/test/resources/obd");

    static Stream<Path> examples() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList().stream();
        }
    }

    /** One server as OBD sees it: its ip and its merged config (global, then its own block). */
    record ObdServer(String ip, Map<String, Object> conf) {
        String home() {
            return strip(String.valueOf(conf.get("home_path")));
        }
    }

    @SuppressWarnings("unchecked")
    static List<ObdServer> obdServers(Map<String, Object> root, String... components) {
        List<ObdServer> out = new ArrayList<>();
        for (String c : components) {
            Map<String, Object> comp = (Map<String, Object>) root.get(c);
            if (comp == null) {
                continue;
            }
            for (Object item : (List<Object>) comp.get("servers")) {
                String ip = item instanceof Map<?, ?> m ? String.valueOf(m.get("ip")) : String.valueOf(item);
                String name = item instanceof Map<?, ?> m && m.get("name") != null ? String.valueOf(m.get("name")) : ip;
                Map<String, Object> conf = new LinkedHashMap<>();
                if (comp.get("global") instanceof Map<?, ?> g) {
                    conf.putAll((Map<String, Object>) g);
                }
                if (comp.get(name) instanceof Map<?, ?> own) {
                    conf.putAll((Map<String, Object>) own);
                }
                out.add(new ObdServer(ip, conf));
            }
        }
        return out;
    }

    static String strip(String p) {
        return p.endsWith("/") && p.length() > 1 ? p.substring(0, p.length() - 1) : p;
    }

    static List<TaskData> tasks(Plan plan, String step) {
        List<TaskData> out = new ArrayList<>();
        for (Node n : plan.dag().nodes()) {
            n.subTasks().stream().map(t -> t.data()).filter(d -> d.step().equals(step)).forEach(out::add);
        }
        return out;
    }

    static Plan plan(Inventory inv, String playbook) throws Exception {
        Playbook pb = PlaybookLoader.load(YamlSource.of("pb.yaml", playbook), inv);
        return Planner.plan(inv, pb, PlanOptions.defaults());
    }

    /** A cleanup's paths without the plan's notes on how each is removed ({@code "/x  (home: removed; ...)"}). */
    static List<String> paths(TaskData t) {
        return t.paths().stream().map(p -> p.contains("  (") ? p.substring(0, p.indexOf("  (")) : p).toList();
    }

    static boolean inside(String path, List<String> dirs) {
        return dirs.stream().anyMatch(d -> path.equals(d) || path.startsWith(d + "/"));
    }

    @ParameterizedTest
    @MethodSource("examples")
    @SuppressWarnings("unchecked")
    void plannedStopAndCleanupMatchWhatOBDWouldStopAndDelete(Path file) throws Exception {
        Map<String, Object> raw = new Yaml().load(Files.readString(file));
        LoadedInventory loaded = Inventories.read(file);
        Inventory inv = loaded.inventory();
        assertEquals("obd", loaded.format());
        List<ObdServer> observers = obdServers(raw, "oceanbase-ce", "oceanbase");
        List<ObdServer> proxies = obdServers(raw, "obproxy-ce", "obproxy");
        assertEquals(observers.size(), inv.observers().size(), file.toString());
        assertEquals(proxies.size(), inv.obproxies().size(), file.toString());
        assertFalse(observers.isEmpty() && proxies.isEmpty(), file + " has servers");

        if (!observers.isEmpty()) {
            Plan stop = plan(inv, """
                    name: Stop every observer
                    targets: { all: true }
                    steps:
                      - stop: { grace: 30s }
                    """);
            List<TaskData> stops = tasks(stop, "stop");
            assertEquals(observers.size(), stops.size());
            Plan destroy = plan(inv, Files.readString(Path.of("playbooks/destroy-cluster.yaml")));
            List<TaskData> cleanups = tasks(destroy, "cleanup");
            List<TaskData> kills = tasks(destroy, "kill");
            for (int i = 0; i < observers.size(); i++) {
                ObdServer o = observers.get(i);
                // OBD: kill -9 $(cat <home>/run/observer.pid)
                String pidFile = o.home() + "/run/observer.pid";
                TaskData st = stops.stream().filter(t -> t.host().equals(o.ip()) && t.script().contains(pidFile)).findFirst()
                        .orElseThrow(() -> new AssertionError(file + ": no stop of the observer with " + pidFile + " on " + o.ip()));
                assertTrue(st.signals().get(0).startsWith("TERM observer pid from " + pidFile + " (proved by cwd/exe under " + o.home()),
                        st.signals().toString());
                assertTrue(kills.stream().anyMatch(t -> t.host().equals(o.ip()) && t.script().contains(pidFile)), file.toString());
                // OBD: rm -fr home_path and every data directory the config sets
                List<String> obdDeletes = new ArrayList<>();
                obdDeletes.add(o.home());
                for (String k : List.of("data_dir", "redo_dir", "clog_dir", "ilog_dir", "slog_dir")) {
                    if (o.conf().get(k) != null) {
                        obdDeletes.add(strip(String.valueOf(o.conf().get(k))));
                    }
                }
                TaskData cl = cleanups.stream().filter(t -> t.host().equals(o.ip()) && paths(t).contains(o.home())).findFirst()
                        .orElseThrow(() -> new AssertionError(file + ": no cleanup of " + o.home() + " on " + o.ip()));
                for (String p : obdDeletes) {
                    assertTrue(inside(p, paths(cl)), file + ": OBD deletes " + p + ", obplay's cleanup " + cl.paths());
                }
                for (String p : paths(cl)) {
                    assertTrue(inside(p, obdDeletes), file + ": obplay deletes " + p + ", beyond what OBD deletes: " + obdDeletes);
                }
            }
        }
        if (!proxies.isEmpty()) {
            Plan stop = plan(inv, Files.readString(Path.of("playbooks/stop-obproxy.yaml")));
            Plan destroy = plan(inv, """
                    name: Destroy obproxy as OBD does
                    targets: { obproxy: { cluster: 1 } }
                    steps:
                      - stop: { grace: 30s }
                      - cleanup: { paths: [home] }
                    """);
            List<TaskData> stops = tasks(stop, "stop");
            List<TaskData> cleanups = tasks(destroy, "cleanup");
            assertEquals(proxies.size(), stops.size());
            for (ObdServer p : proxies) {
                Object port = p.conf().getOrDefault("listen_port", 2883);
                String daemon = p.home() + "/run/obproxyd-" + p.ip() + "-" + port + ".pid";
                String server = p.home() + "/run/obproxy-" + p.ip() + "-" + port + ".pid";
                TaskData st = stops.stream().filter(t -> t.host().equals(p.ip())).findFirst().orElseThrow();
                // OBD: cat obproxyd pid | xargs kill -9; kill -9 -<obproxy pid>: the watchdog first, as here
                // obplay freezes the watchdog (STOP) before its KILL, so no child it forks in between survives
                assertTrue(st.signals().get(0).startsWith("STOP, then KILL obproxyd") && st.signals().get(0).contains("the pid in " + daemon),
                        st.signals().toString());
                assertTrue(st.script().contains(daemon) && st.script().contains(server), file.toString());
                assertTrue(st.signals().get(1).startsWith("TERM obproxy pid from " + server), st.signals().toString());
                TaskData cl = cleanups.stream().filter(t -> t.host().equals(p.ip())).findFirst().orElseThrow();
                assertEquals(List.of(p.home()), paths(cl), file.toString());
            }
        }
    }
}
