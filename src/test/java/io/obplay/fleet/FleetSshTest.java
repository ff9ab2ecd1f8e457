package io.obplay.fleet;

import io.obplay.cli.ExitCodes;
import io.obplay.cli.Main;
import io.obplay.plan.Dag;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.store.Store;
import io.obplay.store.sqlite.SqliteStore;
import io.obplay.testing.HostContainer;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 3's multi-host proofs: obplay run end to end through its CLI (in-process, except for the obplay that is
 * killed mid-run) over real SSH to three real hosts (Testcontainers {@link HostContainer}s), each with the
 * production home paths, running stand-in observers and obproxies (real processes, pid files, listening ports).
 *
 * <p>The inventory names each host by its container's own address on Docker's bridge, reached on port 22 (this
 * machine reaches the bridge directly). So every server keeps the production ports and {@code agent_port} 2886,
 * is named {@code ip:2886}, and each host has its own known_hosts line, exactly as a real fleet. The whole path
 * runs: loader, planner, store, executor, {@code SshTransport} (JSch), the step scripts on the host.
 *
 * <p>The three containers are shared by the class; after each test every process of {@code admin} in them is
 * killed and the homes are removed, so each test starts from empty hosts.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FleetSshTest {
    static final String OB_HOME = "/home/admin/oceanbase";
    static final String PROXY_HOME = "/home/admin/obproxy";
    static final String OB_PID = OB_HOME + "/run/observer.pid";

    static HostContainer h1;
    static HostContainer h2;
    static HostContainer h3;
    static List<HostContainer> hosts;

    @TempDir
    Path dir;
    Path state;
    Path knownHosts;

    // ------------------------------------------------------------------------------------------------------------
    // fixture

    @BeforeAll
    static void startHosts() {
        TestHosts.requireHostImage();
        List<CompletableFuture<HostContainer>> starting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            starting.add(CompletableFuture.supplyAsync(() -> new HostContainer().start()));
        }
        List<HostContainer> started = new ArrayList<>();
        RuntimeException failure = null;
        for (CompletableFuture<HostContainer> f : starting) {
            try {
                started.add(f.join());
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        hosts = started;
        if (failure != null) {
            throw failure;
        }
        h1 = started.get(0);
        h2 = started.get(1);
        h3 = started.get(2);
        for (HostContainer h : hosts) {
            assertTrue(TestHosts.canConnect(h.ipAddress(), 22, 5_000), "this machine cannot reach the container "
                    + h.containerId().substring(0, 12) + " at its bridge address " + h.ipAddress()
                    + ":22; these tests need a local Docker daemon (see src/test/docker/README.md)");
        }
    }

    @AfterAll
    static void stopHosts() {
        if (hosts != null) {
            hosts.forEach(HostContainer::close);
        }
    }

    @BeforeEach
    void files() throws Exception {
        state = dir.resolve("state");
        knownHosts = dir.resolve("known_hosts");
        writeKnownHosts(h1, h2, h3);
    }

    /** Every test starts from empty hosts: no process of admin, no homes, sshd up. */
    @AfterEach
    void cleanHosts() {
        for (HostContainer h : hosts) {
            if (!h.isListening(22)) {
                h.startSshd();
            }
            h.sh("pkill -KILL -u admin; rm -rf " + OB_HOME + " " + OB_HOME + "2 " + PROXY_HOME + " /data");
            assertTrue(TestHosts.await(() -> h.exec("pgrep", "-u", "admin").getExitCode() == 1, Duration.ofSeconds(10)),
                    "admin's processes are gone in " + h.ipAddress());
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // helpers

    record Cli(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    /** obplay in this JVM, as {@code java -jar obplay.jar args...}. */
    static Cli obplay(Object... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] a = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            a[i] = String.valueOf(args[i]);
        }
        int code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), a);
        return new Cli(code, out.toString(), err.toString());
    }

    Cli run(Path inventory, Path playbook, Object... more) {
        List<Object> args = new ArrayList<>(List.of("run", "-i", inventory, playbook, "--yes", "--state-dir", state));
        args.addAll(List.of(more));
        return obplay(args.toArray());
    }

    void writeKnownHosts(HostContainer... hs) throws Exception {
        StringBuilder b = new StringBuilder();
        for (HostContainer h : hs) {
            b.append(h.knownHostsLine(h.ipAddress(), 22)).append('\n');
        }
        Files.writeString(knownHosts, b.toString());
    }

    /** The top of every inventory: SSH as admin with the test key, strict host keys, production observer defaults. */
    String header(String hostKeyChecking) {
        return """
                cluster: fleet
                transport: ssh
                ssh:
                  user: admin
                  port: 22
                  key: %s
                  known_hosts: %s
                  host_key_checking: %s
                  connect_timeout: 5s
                observer:
                  home_path: %s
                  mysql_port: 2881
                  rpc_port: 2882
                  agent_port: 2886
                """.formatted(TestHosts.keyFile(), knownHosts, hostKeyChecking, OB_HOME);
    }

    /** zone1 = h1, zone2 = h2, zone3 = h3, one observer each; {@code extra[i]} is added to host i's server. */
    static String threeZones(String... extra) {
        StringBuilder b = new StringBuilder("zones:\n");
        List<HostContainer> hs = List.of(h1, h2, h3);
        for (int i = 0; i < 3; i++) {
            String more = i < extra.length && extra[i] != null ? ", " + extra[i] : "";
            b.append("  zone").append(i + 1).append(":\n    servers:\n      - { host: ")
                    .append(hs.get(i).ipAddress()).append(more).append(" }\n");
        }
        return b.toString();
    }

    Path file(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    Path inventory(String text) throws Exception {
        return file("inventory.yaml", text);
    }

    static Path shipped(String playbook) {
        return TestHosts.projectDir().resolve("playbooks").resolve(playbook);
    }

    Dag dag(long id) {
        try (Store s = SqliteStore.open(state)) {
            return s.dag(id).orElseThrow();
        }
    }

    static String server(HostContainer h) {
        return h.ipAddress() + ":2886";
    }

    /** The sub-task of stage {@code stage} (1-based) on host {@code h}. */
    static SubTask task(Dag d, int stage, HostContainer h) {
        return d.nodes().get(stage - 1).subTasks().stream().filter(t -> t.data().host().equals(h.ipAddress()))
                .findFirst().orElseThrow(() -> new AssertionError("no sub-task on " + h.ipAddress() + " in stage " + stage));
    }

    static String logs(SubTask t) {
        return String.join("\n", t.taskLogs());
    }

    /** Index of the first log line containing {@code text}; fails if there is none. */
    static int line(SubTask t, String text) {
        for (int i = 0; i < t.taskLogs().size(); i++) {
            if (t.taskLogs().get(i).contains(text)) {
                return i;
            }
        }
        fail("no log line with '" + text + "' in:\n" + logs(t));
        return -1;
    }

    /** How many SSH logins as admin the host's sshd accepted so far (sshd -D -e logs to the container's output). */
    static int logins(HostContainer h) {
        Matcher m = Pattern.compile("Accepted publickey for admin from ").matcher(h.container().getLogs());
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    static void awaitLogins(HostContainer h, int want) {
        TestHosts.await(() -> logins(h) >= want, Duration.ofSeconds(5));
        assertEquals(want, logins(h), "SSH logins on " + h.ipAddress());
    }

    static boolean alive(HostContainer h, int pid) {
        return h.isAlive(pid);
    }

    static void mkdirs(HostContainer h, String... dirs) {
        List<String> cmd = new ArrayList<>(List.of("install", "-d", "-o", "admin", "-g", "admin"));
        cmd.addAll(List.of(dirs));
        h.execOk(cmd.toArray(String[]::new));
    }

    static void writeAsAdmin(HostContainer h, String path, String text) {
        var r = h.execAs("admin", "sh", "-c", "printf '%s' \"$1\" > \"$2\"", "sh", text, path);
        if (r.getExitCode() != 0) {
            throw new IllegalStateException("cannot write " + path + " on " + h.ipAddress() + ": " + r.getStderr());
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 1. stop-zone: the zone's observer dies; observers of the same name in other homes on that host survive

    @Test
    void stopZoneStopsTheZonesObserverAndLeavesSameNamedDecoysInOtherHomes() throws Exception {
        int ob1 = h1.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        int ob2 = h2.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        int ob3 = h3.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        int decoy = h1.startStandin(OB_HOME + "2", "observer", List.of(12881, 12882), false);
        int decoy2 = h1.startStandin("/data/other", "observer", List.of(13881, 13882), false);
        assertEquals("observer", h1.commOf(decoy), "the decoy has the same process name");
        Path inv = inventory(header("strict") + threeZones());
        int[] before = {logins(h1), logins(h2), logins(h3)};

        Cli r = run(inv, shipped("stop-zone.yaml"));

        assertEquals(ExitCodes.OK, r.code(), r::toString);
        assertFalse(alive(h1, ob1), "zone1's observer is stopped");
        assertFalse(h1.fileExists(OB_PID), "its pid file is removed");
        assertFalse(h1.isListening(2881) || h1.isListening(2882), "its ports are free");
        assertTrue(alive(h1, decoy) && h1.isListening(12881) && h1.isListening(12882), "the decoy in oceanbase2 runs on");
        assertEquals(Integer.valueOf(decoy), h1.readPid(OB_HOME + "2/run/observer.pid"));
        assertTrue(alive(h1, decoy2) && h1.isListening(13881), "the decoy in /data/other runs on");
        assertTrue(alive(h2, ob2) && alive(h3, ob3), "the other zones' observers are not touched");

        Dag d = dag(1);
        assertEquals(State.SUCCEED, d.state());
        assertEquals(1, d.nodes().get(0).subTasks().size(), "one server in zone1");
        SubTask stop = task(d, 1, h1);
        assertEquals(server(h1), stop.data().server());
        line(stop, "sending TERM to observer pid " + ob1);
        line(stop, "removed pid file " + OB_PID);
        line(stop, "stopped " + server(h1) + " pid " + ob1);
        assertFalse(logs(stop).contains("sending KILL"), "a TERM was enough:\n" + logs(stop));
        assertFalse(logs(stop).contains(String.valueOf(decoy)) || logs(stop).contains(String.valueOf(decoy2)),
                "the decoys are never even mentioned:\n" + logs(stop));
        SubTask ls = task(d, 2, h1);
        line(ls, "obplay: $ ls -l '" + OB_HOME + "'/run");
        assertFalse(logs(ls).contains("observer.pid"), "run/ is empty afterwards:\n" + logs(ls));

        // one SSH session for the two steps on h1; no session at all to the hosts that were not targeted
        awaitLogins(h1, before[0] + 1);
        assertEquals(before[1], logins(h2));
        assertEquals(before[2], logins(h3));
    }

    // ------------------------------------------------------------------------------------------------------------
    // 2. an observer that ignores TERM: KILL after the grace

    @Test
    void termIgnoringObserverIsKilledAfterTheGrace() throws Exception {
        int ob = h2.startStandin(OB_HOME, "observer", List.of(2881, 2882), true);
        Path inv = inventory(header("strict") + threeZones());
        Path pb = file("pb.yaml", """
                name: stop zone2 with a short grace
                targets: { zones: [zone2] }
                steps:
                  - stop: { grace: 1s, kill_wait: 10s }
                """);
        long t0 = System.nanoTime();
        Cli r = run(inv, pb);
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        assertEquals(ExitCodes.OK, r.code(), r::toString);
        assertFalse(alive(h2, ob));
        assertFalse(h2.isListening(2881) || h2.isListening(2882));
        assertFalse(h2.fileExists(OB_PID));
        assertEquals(0, h2.exec("grep", "-q", "received SIGTERM, ignoring it", OB_HOME + "/log/observer.log").getExitCode(),
                "the observer got the TERM and ignored it");
        SubTask t = task(dag(1), 1, h2);
        int term = line(t, "sending TERM to observer pid " + ob);
        int graceOver = line(t, "observer pid " + ob + " still runs after the 1.0s grace period");
        int kill = line(t, "sending KILL to observer pid " + ob);
        int stopped = line(t, "stopped " + server(h2) + " pid " + ob);
        assertTrue(term < graceOver && graceOver < kill && kill < stopped, logs(t));
        assertTrue(took >= 1000 && took < 20_000, "TERM, 1s grace, KILL: took " + took + " ms");
    }

    // ------------------------------------------------------------------------------------------------------------
    // 3. obproxy with its respawning watchdog, then destroy-obproxy's cleanup

    @Test
    void obproxyWithItsWatchdogIsStoppedThenDestroyObproxyCleansItsDirsAndKeepsTheHome() throws Exception {
        String ip = h1.ipAddress();
        int[] pids = h1.startObproxyWithWatchdog(PROXY_HOME, ip, 2883, 2884);
        int daemon = pids[0];
        int proxy = pids[1];
        String childPidFile = PROXY_HOME + "/run/obproxy-" + ip + "-2883.pid";
        String daemonPidFile = PROXY_HOME + "/run/obproxyd-" + ip + "-2883.pid";
        // the watchdog really respawns: kill obproxy once, a new one comes up
        assertTrue(h1.signal(proxy, "KILL"));
        assertTrue(TestHosts.await(() -> {
            Integer p = h1.readPid(childPidFile);
            return p != null && p != proxy && alive(h1, p) && h1.isListening(2883);
        }, Duration.ofSeconds(10)), "obproxyd respawned obproxy");
        int respawned = h1.readPid(childPidFile);
        mkdirs(h1, PROXY_HOME + "/etc", PROXY_HOME + "/bin", PROXY_HOME + "/lib");
        writeAsAdmin(h1, PROXY_HOME + "/etc/obproxy_config.bin", "config");
        writeAsAdmin(h1, PROXY_HOME + "/bin/obproxy", "binary");
        writeAsAdmin(h1, PROXY_HOME + "/KEEP", "the home stays");

        Path inv = inventory(header("strict") + threeZones() + """
                obproxy:
                  defaults: { home_path: %s, listen_port: 2883, prometheus_listen_port: 2884 }
                  clusters:
                    - id: 1
                      name: proxy-a
                      servers:
                        - { id: 1, host: %s, pid_file: run/obproxy-%s-2883.pid }
                """.formatted(PROXY_HOME, ip, ip));
        Cli r = run(inv, shipped("destroy-obproxy.yaml"));

        assertEquals(ExitCodes.OK, r.code(), r::toString);
        assertFalse(alive(h1, daemon), "obproxyd is killed");
        assertFalse(alive(h1, respawned), "obproxy is stopped");
        // nothing respawns it any more
        assertFalse(TestHosts.await(() -> h1.exec("pgrep", "-u", "admin", "obproxy").getExitCode() == 0
                || h1.isListening(2883) || h1.isListening(2884), Duration.ofSeconds(2)), "no obproxy comes back");
        Dag d = dag(1);
        SubTask stop = task(d, 1, h1);
        assertEquals("stop", stop.data().step());
        int killDaemon = line(stop, "sending KILL to obproxyd pid " + daemon);
        int term = line(stop, "sending TERM to ");
        assertTrue(stop.taskLogs().get(term).endsWith("obproxy pid " + respawned), logs(stop));
        assertTrue(killDaemon < term, "the watchdog is killed first:\n" + logs(stop));
        line(stop, "removed pid file " + daemonPidFile);

        SubTask clean = task(d, 2, h1);
        assertEquals("cleanup", clean.data().step());
        for (String sub : List.of("etc", "log", "run", "bin", "lib")) {
            assertFalse(h1.fileExists(PROXY_HOME + "/" + sub), sub + " is removed");
        }
        line(clean, "removed " + PROXY_HOME + "/etc (");
        line(clean, "removed " + PROXY_HOME + "/log (");
        line(clean, "removed " + PROXY_HOME + "/run (");
        assertTrue(h1.fileExists(PROXY_HOME + "/KEEP"), "the home and what else is in it stay");
        assertEquals("admin", h1.execOk("stat", "-c", "%U", PROXY_HOME).strip());
    }

    // ------------------------------------------------------------------------------------------------------------
    // 4. stale pid files: reported and removed, never signalled, the sub-task succeeds

    @Test
    void stalePidFileIsReportedAndRemovedAndAPidFileNamingAnotherProcessIsNotSignalled() throws Exception {
        // h3: the observer crashed and left its pid file behind
        int dead = h3.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        assertTrue(h3.signal(dead, "KILL"));
        assertTrue(TestHosts.await(() -> !alive(h3, dead), Duration.ofSeconds(10)));
        assertEquals(Integer.valueOf(dead), h3.readPid(OB_PID), "the pid file is left behind");
        // h2: the observer is gone and its pid file names a live observer of another home (pid reuse)
        int other = h2.startStandin(OB_HOME + "2", "observer", List.of(12881, 12882), false);
        mkdirs(h2, OB_HOME, OB_HOME + "/run");
        writeAsAdmin(h2, OB_PID, other + "\n");

        Path inv = inventory(header("strict") + threeZones());
        Path pb = file("pb.yaml", """
                name: stop zone2 and zone3
                targets: { zones: [zone2, zone3] }
                allow_majority_loss: true
                steps:
                  - stop: { grace: 5s }
                """);
        Cli r = run(inv, pb);

        assertEquals(ExitCodes.OK, r.code(), r::toString);
        Dag d = dag(1);
        SubTask t3 = task(d, 1, h3);
        assertEquals(State.SUCCEED, t3.state());
        line(t3, "stale pid file " + OB_PID + ": pid " + dead + " is not running");
        line(t3, "removed pid file " + OB_PID);
        line(t3, "already stopped: nothing runs under " + OB_HOME + ", no port LISTENs");
        assertFalse(logs(t3).contains("sending"), "nothing is signalled:\n" + logs(t3));
        assertFalse(h3.fileExists(OB_PID));

        SubTask t2 = task(d, 1, h2);
        assertEquals(State.SUCCEED, t2.state());
        line(t2, "pid file " + OB_PID + " names pid " + other + ", which is not this server's");
        line(t2, "not signalling it");
        assertFalse(logs(t2).contains("sending"), logs(t2));
        assertFalse(h2.fileExists(OB_PID));
        assertTrue(alive(h2, other) && h2.isListening(12881), "the process the pid file named runs on");
    }

    // ------------------------------------------------------------------------------------------------------------
    // 5. a host whose sshd is down fails alone, unreachable; the others finish; exit 4

    @Test
    void aHostWithSshdDownFailsAloneAsUnreachableAndTheOthersFinish() throws Exception {
        int ob1 = h1.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        int ob2 = h2.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        int ob3 = h3.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        Path inv = inventory(header("strict") + threeZones());
        Path pb = file("pb.yaml", """
                name: stop the cluster, one host down
                targets: { all: true }
                max_fail_percentage: 50
                steps:
                  - stop: { grace: 5s }
                  - shell: "ls {{home_path}}/run"
                """);
        h3.stopSshd();
        int[] before = {logins(h1), logins(h2)};
        try {
            long t0 = System.nanoTime();
            Cli r = run(inv, pb);
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

            assertEquals(ExitCodes.UNREACHABLE, r.code(), r::toString);
            assertTrue(took < 30_000, "a refused connection does not wait for timeouts: " + took + " ms");
            assertFalse(alive(h1, ob1) || alive(h2, ob2), "the reachable hosts' observers are stopped");
            assertTrue(alive(h3, ob3), "the unreachable host's observer was not touched");
            Dag d = dag(1);
            assertEquals(State.FAILED, d.state());
            assertEquals(2, d.stage(), "stage 2 ran: 1 of 3 failed is within 50%");
            SubTask down = task(d, 1, h3);
            assertEquals(State.FAILED, down.state());
            line(down, "FAILED: unreachable: connection refused");
            SubTask notRun = task(d, 2, h3);
            assertEquals(State.PENDING, notRun.state());
            line(notRun, "not run: host " + h3.ipAddress() + " was unreachable");
            for (HostContainer h : List.of(h1, h2)) {
                assertEquals(State.SUCCEED, task(d, 1, h).state());
                assertEquals(State.SUCCEED, task(d, 2, h).state());
            }
            assertTrue(r.err().contains("UNREACHABLE " + server(h3) + " in \""), r.err());
            assertFalse(r.err().contains("  FAILED " + server(h1)) || r.err().contains("  FAILED " + server(h2)), r.err());
            assertTrue(r.err().contains("(exit 4)"), r.err());
            // two steps, one SSH session per reachable host
            awaitLogins(h1, before[0] + 1);
            awaitLogins(h2, before[1] + 1);
        } finally {
            h3.startSshd();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 6. a key the host does not accept: that host fails with an authentication message

    @Test
    void aWrongKeyFailsThatHostWithAnAuthenticationMessage() throws Exception {
        Path wrongKey = dir.resolve("wrong_ed25519");
        TestHosts.Run gen = TestHosts.run(Duration.ofSeconds(30), "ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                "-C", "not-authorized", "-f", wrongKey.toString());
        assertTrue(gen.ok(), gen::toString);
        for (HostContainer h : hosts) {
            mkdirs(h, OB_HOME);
        }
        Path inv = inventory(header("strict") + threeZones(null, "ssh: { key: " + wrongKey + " }"));
        Path pb = file("pb.yaml", """
                name: touch every home
                targets: { all: true }
                max_fail_percentage: 50
                steps:
                  - shell: "echo ran >> {{home_path}}/ran"
                """);
        Cli r = run(inv, pb);

        assertEquals(ExitCodes.UNREACHABLE, r.code(), r::toString);
        SubTask bad = task(dag(1), 1, h2);
        assertEquals(State.FAILED, bad.state());
        line(bad, "FAILED: unreachable: authentication failed for user admin with key " + wrongKey);
        assertFalse(logs(bad).contains("attempts"), "an authentication failure is not retried:\n" + logs(bad));
        assertFalse(h2.fileExists(OB_HOME + "/ran"));
        assertEquals("ran\n", h1.execOk("cat", OB_HOME + "/ran"));
        assertEquals("ran\n", h3.execOk("cat", OB_HOME + "/ran"));
        assertTrue(r.err().contains("UNREACHABLE " + server(h2)), r.err());
    }

    // ------------------------------------------------------------------------------------------------------------
    // 7. an unknown host key under strict: refused with how to accept it; accept-new then works and records it

    @Test
    void anUnknownHostKeyIsRefusedUnderStrictThenAcceptNewRecordsIt() throws Exception {
        writeKnownHosts(h1, h3); // h2 is not known
        for (HostContainer h : hosts) {
            mkdirs(h, OB_HOME);
        }
        Path inv = inventory(header("strict") + threeZones());
        Path pb = file("pb.yaml", """
                name: touch every home
                targets: { all: true }
                max_fail_percentage: 50
                steps:
                  - shell: "echo ran >> {{home_path}}/ran"
                """);
        Cli r = run(inv, pb);

        assertEquals(ExitCodes.UNREACHABLE, r.code(), r::toString);
        String ip = h2.ipAddress();
        String fingerprint = h2.execOk("ssh-keygen", "-l", "-f", "/etc/ssh/ssh_host_ed25519_key.pub").split("\\s+")[1];
        assertTrue(fingerprint.startsWith("SHA256:"), fingerprint);
        SubTask refused = task(dag(1), 1, h2);
        assertEquals(State.FAILED, refused.state());
        line(refused, "FAILED: unreachable: host key of " + ip + ":22 is not in " + knownHosts
                + " (host_key_checking: strict); verify its fingerprint " + fingerprint + " (ssh-ed25519) and add it with: "
                + "ssh-keyscan -p 22 " + ip + " >> " + knownHosts + ", or set host_key_checking: accept-new");
        assertFalse(h2.fileExists(OB_HOME + "/ran"), "nothing ran on the unknown host");
        assertFalse(Files.readString(knownHosts).contains(ip + " "), "strict does not record the key");

        // accept-new: the retry reaches h2, records its key, and does not run h1 and h3 again
        Files.writeString(inv, header("accept-new") + threeZones());
        Cli retry = obplay("dag", "retry", "1", "--yes", "--state-dir", state);
        assertEquals(ExitCodes.OK, retry.code(), retry::toString);
        assertTrue(Files.readAllLines(knownHosts).contains(h2.knownHostsLine(ip, 22)),
                "accept-new appended h2's key:\n" + Files.readString(knownHosts));
        Dag d = dag(1);
        assertEquals(State.SUCCEED, d.state());
        assertEquals(2, task(d, 1, h2).executeTimes());
        assertEquals(1, task(d, 1, h1).executeTimes());
        for (HostContainer h : hosts) {
            assertEquals("ran\n", h.execOk("cat", OB_HOME + "/ran"), "ran once on " + h.ipAddress());
        }

        // and the recorded key is trusted under strict from now on
        Files.writeString(inv, header("strict") + threeZones());
        Cli again = run(inv, pb);
        assertEquals(ExitCodes.OK, again.code(), again::toString);
        assertEquals("ran\nran\n", h2.execOk("cat", OB_HOME + "/ran"));
    }

    // ------------------------------------------------------------------------------------------------------------
    // 8. a step's timeout ends the remote command

    @Test
    void aTimedOutCommandFailsAndItsRemoteProcessIsGone() throws Exception {
        mkdirs(h1, OB_HOME);
        Path inv = inventory(header("strict") + threeZones());
        Path pb = file("pb.yaml", """
                name: too slow
                targets: { zones: [zone1] }
                steps:
                  - shell: "sleep 301"
                    timeout: 2s
                """);
        long t0 = System.nanoTime();
        CompletableFuture<Cli> running = CompletableFuture.supplyAsync(() -> run(inv, pb));
        assertTrue(TestHosts.await(() -> h1.exec("pgrep", "-u", "admin", "-f", "^sleep 301$").getExitCode() == 0,
                Duration.ofSeconds(20)), "the remote sleep started");
        Cli r = running.get(60, TimeUnit.SECONDS);
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        assertEquals(ExitCodes.HOSTS_FAILED, r.code(), r::toString);
        assertTrue(took < 20_000, "ended soon after the 2s timeout: " + took + " ms");
        SubTask t = task(dag(1), 1, h1);
        assertEquals(State.FAILED, t.state());
        line(t, "FAILED: timed out after 2s; the script and its processes were ended");
        assertTrue(TestHosts.await(() -> h1.exec("pgrep", "-u", "admin", "-f", "^sleep 301$").getExitCode() == 1,
                Duration.ofSeconds(5)), "the remote sleep is gone: " + h1.exec("ps", "-ef").getStdout());
        assertTrue(r.err().contains("FAILED " + server(h1)), r.err());
    }

    // ------------------------------------------------------------------------------------------------------------
    // 9. cleanup refuses unsafe paths before anything runs, and refuses at run time while the server runs

    @Test
    void cleanupOfUnsafePathsIsRefusedAtPlanTimeAndNothingRuns() throws Exception {
        mkdirs(h1, OB_HOME + "/log", OB_HOME + "2");
        writeAsAdmin(h1, OB_HOME + "/log/observer.log", "log");
        Path inv = inventory(header("strict") + threeZones());
        List<String> bad = List.of("/", "log/../..", OB_HOME + "/../../../etc", "/etc", OB_HOME + "2");
        StringBuilder pbText = new StringBuilder("name: unsafe cleanup\ntargets: { zones: [zone1] }\nsteps:\n  - cleanup:\n      paths:\n");
        for (String p : bad) {
            pbText.append("        - \"").append(p).append("\"\n");
        }
        Path pb = file("pb.yaml", pbText.toString());
        int before = logins(h1);

        Cli validate = obplay("validate", "-i", inv, pb);
        assertEquals(ExitCodes.INVALID, validate.code(), validate::toString);
        assertTrue(validate.err().contains(pb + ":6:11: cleanup path '/': it is the root directory"), validate.err());
        assertTrue(validate.err().contains(pb + ":7:11: cleanup path 'log/../..': it is relative"), validate.err());
        assertTrue(validate.err().contains("cleanup path '" + OB_HOME + "/../../../etc': it contains '..'"), validate.err());
        assertTrue(validate.err().contains("cleanup path '/etc' lies outside the declared directories of " + server(h1)), validate.err());
        assertTrue(validate.err().contains("cleanup path '" + OB_HOME + "2' lies outside the declared directories of " + server(h1)),
                validate.err());
        assertTrue(validate.err().contains("5 problems found"), validate.err());

        Cli r = run(inv, pb);
        assertEquals(ExitCodes.INVALID, r.code(), r::toString);
        assertTrue(r.err().contains("nothing was run"), r.err());
        assertFalse(r.err().contains("Recorded as DAG"), r.err());
        Cli list = obplay("dag", "list", "--state-dir", state);
        assertEquals(ExitCodes.OK, list.code(), list::toString);
        assertEquals(1, list.out().lines().count(), "no DAG was recorded:\n" + list.out());
        assertEquals(before, logins(h1), "no SSH session was even opened");
        assertTrue(h1.fileExists(OB_HOME + "/log/observer.log") && h1.fileExists(OB_HOME + "2"));
    }

    @Test
    void cleanupIsRefusedAtRunTimeWhileTheServerRunsAndDeletesNothing() throws Exception {
        // h1: the observer runs and its pid file says so
        int ob1 = h1.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        // h2: the observer runs but its pid file is gone: found by its cwd under the home
        int ob2 = h2.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        h2.execOk("rm", OB_PID);
        for (HostContainer h : List.of(h1, h2)) {
            mkdirs(h, OB_HOME + "/store");
            writeAsAdmin(h, OB_HOME + "/store/sstable", "data");
        }
        Path inv = inventory(header("strict") + threeZones());
        Path pb = file("pb.yaml", """
                name: clean a running server
                targets: { servers: ["%s", "%s"] }
                allow_majority_loss: true
                max_fail_percentage: 100
                steps:
                  - cleanup: { paths: [log, run, store] }
                """.formatted(server(h1), server(h2)));
        Cli r = run(inv, pb);

        assertEquals(ExitCodes.HOSTS_FAILED, r.code(), r::toString);
        Dag d = dag(1);
        SubTask t1 = task(d, 1, h1);
        assertEquals(State.FAILED, t1.state());
        line(t1, "refusing to delete anything: " + server(h1) + " runs, pid " + ob1 + " from " + OB_PID);
        line(t1, "exit status 3");
        SubTask t2 = task(d, 1, h2);
        assertEquals(State.FAILED, t2.state());
        line(t2, "refusing to delete anything while " + server(h2) + " runs: pid(s) [" + ob2 + "] under " + OB_HOME);
        for (SubTask t : List.of(t1, t2)) {
            assertFalse(logs(t).contains("removed "), logs(t));
        }
        assertTrue(alive(h1, ob1) && alive(h2, ob2));
        for (HostContainer h : List.of(h1, h2)) {
            for (String f : List.of("/log/observer.log", "/store/sstable", "/run")) {
                assertTrue(h.fileExists(OB_HOME + f), OB_HOME + f + " is still there on " + h.ipAddress());
            }
        }
        assertTrue(h1.fileExists(OB_PID));
    }

    // ------------------------------------------------------------------------------------------------------------
    // 10. obplay killed mid-run: dag show says what ran; dag retry finishes, succeeded sub-tasks not re-run

    @Test
    void obplayKilledMidRunThenDagShowAndRetryFinishTheJob() throws Exception {
        for (HostContainer h : List.of(h1, h2)) {
            mkdirs(h, OB_HOME);
        }
        Path inv = inventory(header("strict") + threeZones());
        writeAsAdmin(h2, OB_HOME + "/slow", "");
        Path pb = file("pb.yaml", """
                name: slow on h2
                targets: { servers: ["%s", "%s"] }
                allow_majority_loss: true
                steps:
                  - shell: "echo one >> {{home_path}}/one"
                  - shell: "echo two >> {{home_path}}/two; if [ -e {{home_path}}/slow ] && [ ! -e {{home_path}}/go ]; then touch {{home_path}}/started; sleep 297; else touch {{home_path}}/two-done; fi"
                    timeout: 5m
                  - shell: "echo three >> {{home_path}}/three"
                """.formatted(server(h1), server(h2)));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path childLog = dir.resolve("child.log");
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "run", "-i", inv.toString(), pb.toString(), "--yes", "--state-dir", state.toString())
                .redirectErrorStream(true).redirectOutput(childLog.toFile()).start();
        List<Object> seen = new ArrayList<>();
        try {
            boolean slowRunning = TestHosts.await(() -> {
                if (!Files.exists(state.resolve("obplay.db"))) {
                    return false;
                }
                try (Store s = SqliteStore.open(state)) {
                    // dags() lists DAGs without their nodes: read the whole DAG
                    Optional<Dag> d = s.dags(1).stream().findFirst().flatMap(x -> s.dag(x.dagId()));
                    seen.add(d.map(x -> x.state() + " " + x.nodes().size()).orElse("none"));
                    return d.isPresent() && d.get().nodes().size() == 3
                            && task(d.get(), 2, h2).state() == State.RUNNING;
                } catch (RuntimeException e) {
                    seen.add(e);
                    return false; // the child is still creating the database
                }
            }, Duration.ofSeconds(60));
            assertTrue(slowRunning, "the store shows the slow step RUNNING: " + seen.subList(Math.max(0, seen.size() - 5), seen.size())
                    + " " + Files.readString(childLog));
            assertTrue(TestHosts.await(() -> h2.fileExists(OB_HOME + "/started"), Duration.ofSeconds(20)),
                    "the slow script runs on h2");
            // h1's stage 2 ends on the host a moment before obplay records it: kill only once it is recorded, so that
            // the kill falls where the test means it to (h1 done, h2 running), not between h1's exit and its record
            assertTrue(TestHosts.await(() -> {
                try (Store s = SqliteStore.open(state)) {
                    return s.dags(1).stream().findFirst().flatMap(x -> s.dag(x.dagId()))
                            .map(d -> task(d, 2, h1).state() == State.SUCCEED).orElse(false);
                } catch (RuntimeException e) {
                    return false;
                }
            }, Duration.ofSeconds(20)), "obplay records h1's stage 2 as SUCCEED while h2's runs");
        } finally {
            child.destroyForcibly();
            assertTrue(child.waitFor(20, TimeUnit.SECONDS));
        }
        assertTrue(h1.fileExists(OB_HOME + "/two-done"), "h1's stage 2 finished before the kill");

        Cli show = obplay("dag", "show", "1", "--state-dir", state);
        assertEquals(ExitCodes.OK, show.code(), show::toString);
        assertTrue(show.out().contains("FAILED (operator RUN, stage 2/3)"), show.out());
        assertTrue(show.out().contains("stopped while this ran; its outcome is unknown"), show.out());
        Dag killed = dag(1);
        assertEquals(State.SUCCEED, task(killed, 1, h1).state());
        assertEquals(State.SUCCEED, task(killed, 1, h2).state());
        assertEquals(State.SUCCEED, task(killed, 2, h1).state());
        assertEquals(State.FAILED, task(killed, 2, h2).state());
        assertEquals(State.PENDING, task(killed, 3, h1).state());
        assertTrue(Pattern.compile("(?m)^\\s*" + Pattern.quote(server(h2)) + "\\s+ok\\s+FAILED\\s+-\\s*$").matcher(show.out()).find(),
                "the recap row of h2:\n" + show.out());

        // let the slow step through, and retry
        writeAsAdmin(h2, OB_HOME + "/go", "");
        Cli retry = obplay("dag", "retry", "1", "--yes", "--state-dir", state);
        assertEquals(ExitCodes.OK, retry.code(), retry::toString);
        Dag d = dag(1);
        assertEquals(State.SUCCEED, d.state());
        assertEquals(Operator.RUN, d.operator(), "obshell's RETRY leaves the DAG's operator RUN");
        for (HostContainer h : List.of(h1, h2)) {
            assertEquals(1, task(d, 1, h).executeTimes(), "stage 1 succeeded on " + h.ipAddress() + ": not run again");
            assertEquals(1, task(d, 3, h).executeTimes());
            assertEquals("one\n", h.execOk("cat", OB_HOME + "/one"), "the host ran stage 1 once");
            assertEquals("three\n", h.execOk("cat", OB_HOME + "/three"));
            assertTrue(h.fileExists(OB_HOME + "/two-done"));
        }
        assertEquals(1, task(d, 2, h1).executeTimes(), "stage 2 had succeeded on h1");
        assertEquals(2, task(d, 2, h2).executeTimes(), "stage 2 ran again on h2");
        assertEquals("two\n", h1.execOk("cat", OB_HOME + "/two"));
        assertEquals("two\ntwo\n", h2.execOk("cat", OB_HOME + "/two"));
    }

    // ------------------------------------------------------------------------------------------------------------
    // 11. --skip-host

    @Test
    void skipHostLeavesAHostOutShownSkippedWithTheReason() throws Exception {
        int ob1 = h1.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        int ob2 = h2.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        int ob3 = h3.startStandin(OB_HOME, "observer", List.of(2881, 2882), false);
        Path inv = inventory(header("strict") + threeZones());
        Path pb = file("pb.yaml", """
                name: stop the cluster
                targets: { all: true }
                steps:
                  - stop: { grace: 5s }
                """);
        int before = logins(h3);
        Cli r = run(inv, pb, "--skip-host", h3.ipAddress());

        assertEquals(ExitCodes.OK, r.code(), r::toString);
        assertTrue(r.err().contains("Left out (--skip-host): " + h3.ipAddress()), r.err());
        assertFalse(alive(h1, ob1) || alive(h2, ob2));
        assertTrue(alive(h3, ob3), "the skipped host's observer runs on");
        assertEquals(Integer.valueOf(ob3), h3.readPid(OB_PID));
        assertEquals(before, logins(h3), "no SSH session to the skipped host");
        Dag d = dag(1);
        assertEquals(State.SUCCEED, d.state());
        SubTask skipped = task(d, 1, h3);
        assertEquals(State.SUCCEED, skipped.state());
        assertEquals(Operator.PASS, skipped.operator());
        assertEquals(List.of("skipped: left out with --skip-host"), skipped.taskLogs());
        Cli show = obplay("dag", "show", "1", "--state-dir", state);
        assertTrue(Pattern.compile("(?m)^\\s*" + Pattern.quote(server(h3)) + "\\s+skipped\\s*$").matcher(show.out()).find(), show.out());
        assertTrue(show.out().contains("skipped: left out with --skip-host"), show.out());
        assertTrue(Pattern.compile("(?m)^\\s*" + Pattern.quote(server(h1)) + "\\s+ok\\s*$").matcher(r.err()).find(), r.err());
    }

}
