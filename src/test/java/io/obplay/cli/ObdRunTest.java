package io.obplay.cli;

import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code obplay run -i <OBD config>} end to end: OBD's layout on this machine (three observers and an obproxy
 * with its obproxyd watchdog, OBD's pid file names, all at 127.0.0.1 as OBD's local examples have them), read
 * from an OBD deployment config and torn down with playbooks/teardown.yaml over the local transport, as OBD
 * runs servers at 127.0.0.1.
 */
@Timeout(180)
class ObdRunTest {
    @TempDir
    Path dir;
    final List<Long> pids = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    static long pid(Path file) throws Exception {
        return Long.parseLong(Files.readString(file).strip());
    }

    @Test
    void teardownOfAnOBDDeploymentOnThisMachine() throws Exception {
        Path root = null;
        int base = 0;
        Process p = null;
        for (int attempt = 0; attempt < 10; attempt++) {
            root = dir.resolve("cluster" + attempt);
            base = 20000 + (int) (Math.random() * 20000);
            p = new ProcessBuilder(TestHosts.python(), TestHosts.standinScript().toString(), "start-demo", "--root", root.toString(),
                    "--base-port", Integer.toString(base)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            collect(root);
            if (p.exitValue() == 0) {
                break;
            }
            assertTrue(out.contains("busy") || out.contains("in use"), out);
            killLeftovers();
        }
        assertEquals(0, p.exitValue());
        int listen = base + 2;
        Path obd = dir.resolve("config.yaml");
        Files.writeString(obd, """
                oceanbase-ce:
                  servers:
                    - { name: server1, ip: 127.0.0.1 }
                    - { name: server2, ip: 127.0.0.1 }
                    - { name: server3, ip: 127.0.0.1 }
                  global:
                    appname: demo
                    memory_limit: 6G
                  server1: { home_path: %1$s/zone1-a, mysql_port: %2$d, rpc_port: %3$d, obshell_port: %4$d, zone: zone1 }
                  server2: { home_path: %1$s/zone2-a, mysql_port: %5$d, rpc_port: %6$d, obshell_port: %7$d, zone: zone2 }
                  server3: { home_path: %1$s/zone3-a, mysql_port: %8$d, rpc_port: %9$d, obshell_port: %10$d, zone: zone3 }
                obproxy-ce:
                  depends: [oceanbase-ce]
                  servers: [127.0.0.1]
                  global: { home_path: %1$s/obproxy, listen_port: %11$d, prometheus_listen_port: %12$d }
                """.formatted(root, base, base + 1, base + 5, base + 10, base + 11, base + 15, base + 20, base + 21, base + 25,
                listen, base + 3));
        List<Long> observers = new ArrayList<>();
        for (String z : List.of("zone1-a", "zone2-a", "zone3-a")) {
            observers.add(pid(root.resolve(z + "/run/observer.pid")));
        }
        long obproxy = pid(root.resolve("obproxy/run/obproxy-127.0.0.1-" + listen + ".pid"));
        long obproxyd = pid(root.resolve("obproxy/run/obproxyd-127.0.0.1-" + listen + ".pid"));
        Stream.concat(observers.stream(), Stream.of(obproxy, obproxyd)).forEach(pid -> assertTrue(ProcessHandle.of(pid).isPresent()));

        CliTest.Result r = CliTest.run("run", "-i", obd.toString(), "playbooks/teardown.yaml", "--yes", "--state-dir",
                dir.resolve("state").toString());
        assertEquals(0, r.code(), r.out() + r.err());
        for (long pid : Stream.concat(observers.stream(), Stream.of(obproxy, obproxyd)).toList()) {
            ProcessHandle.of(pid).ifPresent(h -> assertFalse(h.isAlive() && !zombie(pid), "pid " + pid + " still runs"));
        }
        // the watchdog was stopped first: no new obproxy took the listen port's pid file
        Path child = root.resolve("obproxy/run/obproxy-127.0.0.1-" + listen + ".pid");
        if (Files.exists(child)) {
            long now = pid(child);
            assertTrue(now == obproxy || ProcessHandle.of(now).isEmpty(), "obproxy respawned as " + now);
        }
        for (String z : List.of("zone1-a", "zone2-a", "zone3-a")) {
            assertFalse(Files.exists(root.resolve(z + "/store")), z + "/store deleted by the cleanup step");
            assertFalse(Files.exists(root.resolve(z + "/log")), z + "/log deleted");
            assertTrue(Files.isDirectory(root.resolve(z)), z + " itself kept");
        }
        assertFalse(Files.exists(root.resolve("obproxy/log")));
        assertFalse(Files.exists(root.resolve("obproxy/run")));
        assertTrue(Files.isDirectory(root.resolve("obproxy")), "the obproxy home itself kept");
        assertTrue(r.err().contains("Recap of DAG"), r.err());
    }

    static boolean zombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (Exception gone) {
            return true;
        }
    }

    private void collect(Path root) throws Exception {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path f : s.filter(x -> x.toString().endsWith(".pid")).toList()) {
                try {
                    pids.add(pid(f));
                } catch (NumberFormatException ignored) {
                    // a pid file being written
                }
            }
        }
    }
}
