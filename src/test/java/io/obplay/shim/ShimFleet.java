package io.obplay.shim;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.testing.TestHosts;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A test fleet on this machine: an inventory ({@code transport: local}) of observers in zones and obproxy servers
 * in clusters, each with its own home under a temporary directory and its own free ports, and the stand-in
 * processes of {@code examples/standin/standin.py} that play them (observers; obproxy under its obproxyd
 * watchdog, OBD's pid file names). {@link #close()} kills whatever is left, watchdogs first.
 */
final class ShimFleet implements AutoCloseable {
    static final String HOST = "127.0.0.1";

    record Observer(String zone, String name, Path home, int mysqlPort, int rpcPort, int agentPort) {
        /** The server's name in the inventory and obshell's SERVER target: ip:agent_port. */
        String address() {
            return HOST + ":" + agentPort;
        }

        Path pidFile() {
            return home.resolve("run/observer.pid");
        }
    }

    record Proxy(int clusterId, int serverId, Path home, int listenPort, int prometheusPort, int agentPort) {
        Path pidFile() {
            return home.resolve("run/obproxy-" + HOST + "-" + listenPort + ".pid");
        }

        Path daemonPidFile() {
            return home.resolve("run/obproxyd-" + HOST + "-" + listenPort + ".pid");
        }
    }

    final Path root;
    final String cluster;
    final List<Observer> observers = new ArrayList<>();
    final List<Proxy> proxies = new ArrayList<>();
    private final List<Path> pidFilesToKill = new ArrayList<>();
    private final java.util.Set<Integer> ports = new java.util.HashSet<>();

    /** A free port not handed out to this fleet before (the kernel may give the same one twice in a row). */
    private int port() {
        while (true) {
            int p = TestHosts.freePort(HOST);
            if (ports.add(p)) {
                return p;
            }
        }
    }

    /**
     * @param zones   zone name → number of observers in it
     * @param proxies obproxy cluster id → number of obproxy servers in it
     */
    ShimFleet(Path root, String cluster, Map<String, Integer> zones, Map<Integer, Integer> proxies) {
        this.root = root;
        this.cluster = cluster;
        zones.forEach((zone, n) -> {
            for (int i = 1; i <= n; i++) {
                String name = zone + "-" + i;
                observers.add(new Observer(zone, name, root.resolve(name), port(), port(), port()));
            }
        });
        proxies.forEach((clusterId, n) -> {
            for (int i = 1; i <= n; i++) {
                this.proxies.add(new Proxy(clusterId, i, root.resolve("proxy-" + clusterId + "-" + i), port(), port(), port()));
            }
        });
    }

    static ShimFleet standard(Path root) {
        Map<String, Integer> zones = new LinkedHashMap<>();
        zones.put("zone1", 1);
        zones.put("zone2", 1);
        zones.put("zone3", 1);
        return new ShimFleet(root, "shimtest", zones, Map.of(1, 1));
    }

    String yaml() {
        StringBuilder b = new StringBuilder("cluster: " + cluster + "\ntransport: local\nzones:\n");
        Map<String, List<Observer>> byZone = new LinkedHashMap<>();
        observers.forEach(o -> byZone.computeIfAbsent(o.zone(), k -> new ArrayList<>()).add(o));
        byZone.forEach((zone, list) -> {
            b.append("  ").append(zone).append(":\n    servers:\n");
            for (Observer o : list) {
                b.append("      - { host: ").append(HOST).append(", home_path: ").append(o.home())
                        .append(", mysql_port: ").append(o.mysqlPort()).append(", rpc_port: ").append(o.rpcPort())
                        .append(", agent_port: ").append(o.agentPort()).append(" }\n");
            }
        });
        if (!proxies.isEmpty()) {
            b.append("obproxy:\n  clusters:\n");
            Map<Integer, List<Proxy>> byCluster = new LinkedHashMap<>();
            proxies.forEach(p -> byCluster.computeIfAbsent(p.clusterId(), k -> new ArrayList<>()).add(p));
            byCluster.forEach((id, list) -> {
                b.append("    - id: ").append(id).append("\n      name: proxy-").append(id).append("\n      servers:\n");
                for (Proxy p : list) {
                    b.append("        - { id: ").append(p.serverId()).append(", host: ").append(HOST)
                            .append(", home_path: ").append(p.home())
                            .append(", listen_port: ").append(p.listenPort())
                            .append(", prometheus_listen_port: ").append(p.prometheusPort())
                            .append(", agent_port: ").append(p.agentPort())
                            .append(", pid_file: ").append(p.home().relativize(p.pidFile()))
                            .append(", daemon_pid_file: ").append(p.home().relativize(p.daemonPidFile()))
                            .append(" }\n");
                }
            });
        }
        return b.toString();
    }

    Path writeInventory() throws IOException {
        Path f = root.resolve("inventory.yaml");
        Files.createDirectories(root);
        Files.writeString(f, yaml());
        return f;
    }

    Inventory inventory() throws Exception {
        return InventoryLoader.load(writeInventory());
    }

    // ----------------------------------------------------------------------------------------- processes

    private TestHosts.Run standin(List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(TestHosts.python(), TestHosts.standinScript().toString()));
        cmd.addAll(args);
        return TestHosts.run(Duration.ofSeconds(30), cmd);
    }

    /** Starts the observer's stand-in (daemonized, ready on return); returns its pid. */
    long start(Observer o, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("serve", "--home", o.home().toString(), "--name", "observer",
                "--pidfile", "run/observer.pid", "--ports", o.mysqlPort() + "," + o.rpcPort(), "--bind", HOST));
        args.addAll(List.of(extra));
        TestHosts.Run r = standin(args);
        assertEquals(0, r.exitCode(), () -> "standin for " + o.name() + ": " + r);
        pidFilesToKill.add(o.pidFile());
        return pid(o.pidFile());
    }

    /** Starts obproxyd, which starts obproxy; returns obproxy's pid. */
    long start(Proxy p) throws IOException {
        String childPid = p.home().relativize(p.pidFile()).toString();
        String daemonPid = p.home().relativize(p.daemonPidFile()).toString();
        TestHosts.Run r = standin(List.of("watchdog", "--home", p.home().toString(), "--pidfile", daemonPid,
                "--child-pidfile", childPid, "--", "--name", "obproxy", "--pidfile", childPid,
                "--ports", p.listenPort() + "," + p.prometheusPort(), "--bind", HOST));
        assertEquals(0, r.exitCode(), () -> "standin for obproxy " + p.serverId() + ": " + r);
        pidFilesToKill.add(0, p.daemonPidFile());
        pidFilesToKill.add(p.pidFile());
        TestHosts.await(() -> Files.exists(p.pidFile()), Duration.ofSeconds(10));
        return pid(p.pidFile());
    }

    static long pid(Path pidFile) throws IOException {
        return Long.parseLong(Files.readString(pidFile).strip());
    }

    static boolean alive(long pid) {
        return TestHosts.localPidAlive(pid);
    }

    static boolean listening(int port) {
        return TestHosts.canConnect(HOST, port, 500);
    }

    @Override
    public void close() {
        for (Path f : pidFilesToKill) {
            try {
                if (Files.exists(f)) {
                    ProcessHandle.of(pid(f)).ifPresent(ProcessHandle::destroyForcibly);
                }
            } catch (IOException | RuntimeException e) {
                // best effort
            }
        }
    }
}
