package io.obplay.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.ContainerNetwork;
import io.obplay.cli.ExitCodes;
import io.obplay.cli.Main;
import io.obplay.plan.Dag;
import io.obplay.plan.Node;
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
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.Network;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Acceptance tests of issues 9 and 16 on hosts laid out as other tools and people lay them out, not as obplay's
 * scripts assume: obshell's and OBD's obproxy pid files and a shell watchdog that respawns obproxy, two observers
 * with the same ports on two addresses of one host (and a stranger on a third), a pid file that names another
 * user's process, homes behind symlinks, OBD's data and redo directories under root-owned parents with their
 * links, and logins whose bashrc talks or whose shell is {@code /bin/sh}.
 *
 * <p>Every test uses obplay as its users do: {@code obplay run -i INVENTORY PLAYBOOK --yes --json} over the ssh
 * transport to real sshd containers on a Docker network of their own (so the second address of the dual host
 * is one this test made), reading the exit code and the JSON events, then the recorded DAG's logs. The truth is
 * read on the host afterwards with {@code docker exec} ({@code /proc}, {@code ss}, the files), sampled over a
 * few seconds wherever something may come back.
 *
 * <p>The fixtures follow the layouts of the tools, not the scripts: OBD copies {@code obproxyd.sh} into the
 * obproxy's home and runs it with {@code bash obproxyd.sh HOME IP PORT daemon}
 * ({@code plugins/obproxy/3.1.0/obproxyd.sh}, {@code start.py}); it writes {@code run/obproxyd-IP-PORT.pid}, while
 * obshell keeps {@code run/obproxy.pid} and {@code run/obproxyd.pid} ({@code agent/lib/path/obproxy.go}). OBD's
 * 4.x init ({@code plugins/oceanbase/4.0.0.0/init.py}) makes {@code HOME/store} a link to {@code data_dir},
 * {@code data_dir/clog} a link to {@code redo_dir/clog}, and {@code slog} a directory under {@code data_dir}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FieldLayoutsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String STANDIN = TestHosts.CONTAINER_STANDIN;
    /** Where the fixtures of the tests live on the hosts: removed after each test. */
    private static final String FIXTURE_DIRS = "/opt/field /srv/ob /srv/field-decoy /data /redo /data1 /var/backups/field"
            + " /home/admin/field-* /home/obbash/field-* /var/lib/obdash/field-* /tmp/field-*";
    private static final List<String> LOGIN_USERS = List.of("admin", "obbash", "obdash", "obmon");

    static Network network;
    /** The host of most tests: users admin (sh), obbash (bash, a bashrc banner), obdash (sh), obmon (no login). */
    static HostContainer field;
    /** A host with two addresses on one interface, for observers with the same ports on each. */
    static HostContainer dual;
    static String fieldIp;
    static String dualIp1;
    static String dualIp2;
    static List<HostContainer> hosts = new ArrayList<>();

    @TempDir
    Path dir;
    Path state;
    Path knownHosts;

    // ------------------------------------------------------------------------------------------------------------
    // hosts

    @BeforeAll
    static void startHosts() {
        TestHosts.requireHostImage();
        network = Network.newNetwork();
        CompletableFuture<HostContainer> f = CompletableFuture.supplyAsync(() -> onNetwork(new HostContainer(), false).start());
        CompletableFuture<HostContainer> d = CompletableFuture.supplyAsync(() -> onNetwork(new HostContainer(), true).start());
        RuntimeException failure = null;
        for (CompletableFuture<HostContainer> c : List.of(f, d)) {
            try {
                hosts.add(c.join());
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        if (failure != null) {
            throw failure;
        }
        field = f.join();
        dual = d.join();
        fieldIp = address(field).getIpAddress();
        ContainerNetwork dn = address(dual);
        dualIp1 = dn.getIpAddress();
        // a second address on the same interface, in the network's subnet, that Docker never hands out here
        // (it allocates from .2 up, and this network has two containers)
        String[] o = dualIp1.split("\\.");
        dualIp2 = o[0] + "." + o[1] + "." + o[2] + ".200";
        assertNotEquals(dualIp1, dualIp2);
        dual.execOk("ip", "addr", "add", dualIp2 + "/" + dn.getIpPrefixLen(), "dev", "eth0");
        for (String ip : List.of(fieldIp, dualIp1, dualIp2)) {
            assertTrue(TestHosts.await(() -> TestHosts.canConnect(ip, 22, 2_000), Duration.ofSeconds(10)),
                    "this machine cannot reach " + ip + ":22 (a container on Docker network " + network.getId() + ")");
        }
        // login users laid out as corporate hosts have them
        addLoginUser(field, "obbash", "/home/obbash", "/bin/bash");
        addLoginUser(field, "obdash", "/var/lib/obdash", "/bin/sh");
        field.execOk("useradd", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", "obmon");
        // the banner: a terminal-title escape, then a line without its newline, on every ssh command
        writeAs(field, "obbash", "/home/obbash/.bashrc", """
                # ~/.bashrc of a corporate host: says hello on every ssh command, without a final newline
                printf '\\033]0;%s@%s\\007' "$USER" "$(hostname)"
                printf 'Last deploy: 2026-11-30 by ops; on-call: +1 555 0100'
                """);
    }

    @SuppressWarnings("resource")
    private static HostContainer onNetwork(HostContainer h, boolean netAdmin) {
        h.container().withNetwork(network);
        if (netAdmin) {
            // `ip addr add` needs NET_ADMIN; keep SYS_PTRACE (root reads other users' /proc/<pid>/cwd)
            h.container().withCreateContainerCmdModifier(cmd -> cmd.getHostConfig()
                    .withCapAdd(Capability.SYS_PTRACE, Capability.NET_ADMIN));
        }
        return h;
    }

    private static ContainerNetwork address(HostContainer h) {
        return h.container().getContainerInfo().getNetworkSettings().getNetworks().values().stream()
                .filter(n -> n.getNetworkID() != null && n.getNetworkID().equals(network.getId()))
                .findFirst().orElseThrow(() -> new IllegalStateException("container not on network " + network.getId()));
    }

    private static void addLoginUser(HostContainer h, String user, String home, String shell) {
        h.execOk("useradd", "-m", "-d", home, "-s", shell, user);
        h.execOk("usermod", "-p", "*", user); // not locked: UsePAM is off and sshd refuses "!" accounts
        h.execOk("install", "-d", "-m", "700", "-o", user, "-g", user, home + "/.ssh");
        h.execOk("install", "-m", "600", "-o", user, "-g", user, "/home/admin/.ssh/authorized_keys", home + "/.ssh/authorized_keys");
    }

    @AfterAll
    static void stopHosts() {
        hosts.forEach(HostContainer::close);
        if (network != null) {
            network.close();
        }
    }

    @BeforeEach
    void files() throws Exception {
        state = dir.resolve("state");
        knownHosts = dir.resolve("known_hosts");
        Files.writeString(knownHosts, field.knownHostsLine(fieldIp, 22) + "\n"
                + dual.knownHostsLine(dualIp1, 22) + "\n" + dual.knownHostsLine(dualIp2, 22) + "\n");
    }

    /** Every test starts from empty hosts: no fixture process (of any user), no fixture directory. */
    @AfterEach
    void cleanHosts() {
        for (HostContainer h : hosts) {
            StringBuilder kill = new StringBuilder();
            for (String u : LOGIN_USERS) {
                kill.append("pkill -KILL -u ").append(u).append(" 2>/dev/null; ");
            }
            // [x]yz: the pattern does not match the command line of the shell that runs pkill
            h.sh(kill + "pkill -KILL -f '[s]tandin.py'; pkill -KILL -f '[f]ield-fixture'; rm -rf " + FIXTURE_DIRS);
            assertTrue(TestHosts.await(() -> h.sh("pgrep -f '[f]ield-fixture|[s]tandin.py'; for u in "
                    + String.join(" ", LOGIN_USERS) + "; do pgrep -u $u; done").getStdout().isBlank(), Duration.ofSeconds(10)),
                    "the fixture's processes are gone");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // obplay as users run it

    /** One {@code obplay run ... --yes --json}: its exit code, stdout (JSON lines), stderr, and the parsed events. */
    record Outcome(int code, String out, String err, List<JsonNode> events) {
        long dagId() {
            return events.stream().filter(e -> "dag_started".equals(e.path("event").asText())).findFirst()
                    .map(e -> e.path("dag_id").asLong()).orElseThrow(() -> new AssertionError("no dag_started event:\n" + this));
        }

        /** The exit code the {@code dag_finished} event reports (it must agree with the process's). */
        int jsonExit() {
            return events.stream().filter(e -> "dag_finished".equals(e.path("event").asText())).findFirst()
                    .map(e -> e.path("exit_code").asInt()).orElseThrow(() -> new AssertionError("no dag_finished event:\n" + this));
        }

        /** The state the sub_task_finished event of {@code server}'s first (or only) sub-task reports. */
        String stateOf(String server) {
            List<JsonNode> f = finished(server);
            if (f.isEmpty()) {
                throw new AssertionError("no sub_task_finished event for " + server + ":\n" + this);
            }
            return f.get(0).path("state").asText();
        }

        List<JsonNode> finished(String server) {
            return events.stream().filter(e -> "sub_task_finished".equals(e.path("event").asText())
                    && server.equals(e.path("server").asText())).toList();
        }

        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout (--json)\n" + out + "\n--- stderr\n" + err;
        }
    }

    Outcome run(Path inventory, Path playbook) {
        return obplay("run " + playbook.getFileName(), "run", "-i", inventory.toString(), playbook.toString(), "--yes", "--json",
                "--state-dir", state.toString());
    }

    /** {@code obplay dag retry} of the DAG that {@code failed} ran: what a user does after a FAILED run (README). */
    Outcome retry(Outcome failed) {
        String id = String.valueOf(failed.dagId());
        return obplay("dag retry " + id, "dag", "retry", id, "--yes", "--json", "--state-dir", state.toString());
    }

    private Outcome obplay(String what, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        List<JsonNode> events = new ArrayList<>();
        for (String line : out.toString().split("\n")) {
            if (line.startsWith("{")) {
                try {
                    events.add(JSON.readTree(line));
                } catch (Exception e) {
                    throw new AssertionError("stdout line is not JSON: " + line, e);
                }
            }
        }
        Outcome o = new Outcome(code, out.toString(), err.toString(), events);
        // for whoever reads target/surefire-reports/*-output.txt: what obplay said, as the user saw it
        System.out.println("=== obplay " + what + "\n" + o);
        if (code != ExitCodes.INVALID && code != ExitCodes.INTERNAL) {
            assertEquals(code, o.jsonExit(), () -> "the dag_finished event and the exit code agree:\n" + o);
        }
        assertNotEquals(ExitCodes.INTERNAL, code, () -> "obplay failed internally:\n" + o);
        return o;
    }

    Dag dag(Outcome o) {
        try (Store s = SqliteStore.open(state)) {
            return s.dag(o.dagId()).orElseThrow();
        }
    }

    /** Every recorded sub-task of {@code server} in the run, in stage order. */
    List<SubTask> tasks(Outcome o, String server) {
        List<SubTask> out = new ArrayList<>();
        for (Node n : dag(o).nodes()) {
            for (SubTask t : n.subTasks()) {
                if (t.data() != null && server.equals(t.data().server())) {
                    out.add(t);
                }
            }
        }
        if (out.isEmpty()) {
            fail("no sub-task of " + server + " in the DAG:\n" + o);
        }
        return out;
    }

    String logs(Outcome o, String server) {
        StringBuilder b = new StringBuilder();
        for (SubTask t : tasks(o, server)) {
            b.append("[").append(t.data().step()).append(" ").append(t.state()).append("]\n");
            t.taskLogs().forEach(l -> b.append("  ").append(l).append('\n'));
        }
        return b.toString();
    }

    Path file(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    /** The top of every inventory: ssh as admin with the test key, strict host keys. */
    String header() {
        return """
                cluster: field
                transport: ssh
                ssh:
                  user: admin
                  port: 22
                  key: %s
                  known_hosts: %s
                  host_key_checking: strict
                  connect_timeout: 10s
                """.formatted(TestHosts.keyFile(), knownHosts);
    }

    // ------------------------------------------------------------------------------------------------------------
    // the host's real state (docker exec, as root)

    private static void mkdirsAs(HostContainer h, String user, String... dirs) {
        List<String> cmd = new ArrayList<>(List.of("install", "-d", "-o", user, "-g", user));
        cmd.addAll(List.of(dirs));
        h.execOk(cmd.toArray(String[]::new));
    }

    private static void asOk(HostContainer h, String user, String... cmd) {
        ExecResult r = h.execAs(user, cmd);
        if (r.getExitCode() != 0) {
            throw new IllegalStateException("as " + user + ": " + String.join(" ", cmd) + " -> exit " + r.getExitCode() + ": "
                    + r.getStderr());
        }
    }

    private static void writeAs(HostContainer h, String user, String path, String text) {
        ExecResult r = h.execAs(user, "sh", "-c", "printf '%s' \"$1\" > \"$2\"", "sh", text, path);
        if (r.getExitCode() != 0) {
            throw new IllegalStateException("cannot write " + path + " as " + user + ": " + r.getStderr());
        }
    }

    /** Starts standin.py serve as {@code user}: cwd = its home (as the kernel resolves it), real ports on {@code bind}. */
    private static int standin(HostContainer h, String user, String home, String name, String pidFile, String ports, String bind) {
        ExecResult r = h.execAs(user, "python3", STANDIN, "serve", "--home", home, "--name", name, "--pidfile", pidFile,
                "--ports", ports, "--bind", bind);
        if (r.getExitCode() != 0) {
            throw new IllegalStateException("standin " + name + " in " + home + " did not start: " + r.getStderr() + r.getStdout());
        }
        String abs = pidFile.startsWith("/") ? pidFile : home + "/" + pidFile;
        Integer pid = h.readPid(abs);
        if (pid == null) {
            throw new IllegalStateException("no pid in " + abs);
        }
        return pid;
    }

    /** A sh loop of {@code user} with cwd {@code cwd}, recording every catchable signal in {@code signalLog}; returns its pid. */
    private static int trappingLoop(HostContainer h, String user, String cwd, String signalLog) {
        String pidFile = "/tmp/field-" + user + "-loop.pid";
        String inner = "echo $$ > " + pidFile + "; trap 'echo TERM >> " + signalLog + "' TERM; trap 'echo INT >> " + signalLog
                + "' INT; trap 'echo HUP >> " + signalLog + "' HUP; while :; do sleep 0.2; done # field-fixture";
        ExecResult r = h.execAs(user, "sh", "-c", "cd \"$1\" && nohup setsid sh -c \"$2\" </dev/null >/dev/null 2>&1 &",
                "sh", cwd, inner);
        if (r.getExitCode() != 0) {
            throw new IllegalStateException("cannot start a loop of " + user + " in " + cwd + ": " + r.getStderr());
        }
        assertTrue(TestHosts.await(() -> h.readPid(pidFile) != null, Duration.ofSeconds(10)), "the loop of " + user + " started");
        int pid = h.readPid(pidFile);
        assertEquals(cwd, h.cwdOf(pid), "the loop of " + user + " runs in " + cwd);
        return pid;
    }

    /** True if something LISTENs on {@code address:port} in the container (exactly that address). */
    private static boolean listensOn(HostContainer h, String address, int port) {
        return !h.exec("ss", "-Hltn", "src", address + ":" + port).getStdout().isBlank();
    }

    /** Every live (not zombie) process in the container whose cwd or exe is {@code dir} or under it, as "pid (comm, argv) cwd". */
    private static String procsUnder(HostContainer h, String dir) {
        String script = """
                D=$1
                for p in /proc/[0-9]*; do
                  c=$(readlink "$p/cwd" 2>/dev/null); e=$(readlink "$p/exe" 2>/dev/null)
                  case "$c/ $e/" in "$D"/*|*" $D"/*) ;; *) continue ;; esac
                  st=$(awk '$1 == "State:" { print $2 }' "$p/status" 2>/dev/null)
                  case $st in ''|Z|X) continue ;; esac
                  printf 'pid %s (%s, %s) cwd %s; ' "${p#/proc/}" "$(cat "$p/comm" 2>/dev/null)" \\
                    "$(tr '\\0' ' ' < "$p/cmdline" 2>/dev/null | cut -c1-100)" "$c"
                done
                """;
        return h.exec("sh", "-c", script, "sh", dir).getStdout().strip();
    }

    /** The live processes of {@code user} whose argv is exactly {@code argv} (read from /proc), as "pid argv". */
    private static String procsOf(HostContainer h, String user, String argv) {
        String script = """
                U=$(id -u "$1"); A=$2
                for p in /proc/[0-9]*; do
                  [ "$(awk '$1 == "Uid:" { print $2 }' "$p/status" 2>/dev/null)" = "$U" ] || continue
                  st=$(awk '$1 == "State:" { print $2 }' "$p/status" 2>/dev/null)
                  case $st in ''|Z|X) continue ;; esac
                  a=$(tr '\\0' ' ' < "$p/cmdline" 2>/dev/null); a=${a% }
                  [ "$a" = "$A" ] && printf 'pid %s (%s) ppid %s; ' "${p#/proc/}" "$a" "$(awk '$1 == "PPid:" { print $2 }' "$p/status")"
                done
                """;
        return h.exec("sh", "-c", script, "sh", user, argv).getStdout().strip();
    }

    /** Which of {@code ports} something LISTENs on, on any address, with the address ("0.0.0.0:2883 ..."). */
    private static String listeners(HostContainer h, int... ports) {
        StringBuilder b = new StringBuilder();
        for (int port : ports) {
            for (String line : h.exec("ss", "-Hltn", "sport = :" + port).getStdout().strip().split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 4) {
                    b.append(f[3]).append(' ');
                }
            }
        }
        return b.toString().strip();
    }

    /**
     * Samples the host for {@code over}: returns the first sight of a process under {@code realHome} or a listener on
     * one of {@code ports} (with how long after the start of sampling it was seen), or null if nothing was seen.
     */
    private static String anythingBack(HostContainer h, String realHome, Duration over, int... ports) {
        long t0 = System.nanoTime();
        long end = t0 + over.toNanos();
        do {
            String procs = procsUnder(h, realHome);
            String busy = listeners(h, ports);
            if (!procs.isEmpty() || !busy.isEmpty()) {
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                return ms + " ms after the run: " + (procs.isEmpty() ? "" : "running under " + realHome + ": " + procs + " ")
                        + (busy.isEmpty() ? "" : "LISTEN on " + busy);
            }
            sleep(150);
        } while (System.nanoTime() < end);
        return null;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // obproxy and its watchdog, as OBD and obshell leave them

    /**
     * Writes {@code HOME/obproxyd.sh} (where OBD puts it) and starts it as OBD does, {@code sh obproxyd.sh HOME IP PORT
     * daemon} under nohup: a POSIX sh loop that writes its pid to {@code daemonPidFile} (relative to the home; none when
     * null), and within a second of obproxy's death starts a new one (a stand-in whose pid file is
     * {@code childPidFile}, listening on {@code listen} and {@code prometheus}). Its cwd is the home, as OBD's script's
     * is once it has respawned obproxy ({@code cd $path}). Checks that it really respawns; returns {watchdog, obproxy}.
     */
    private static int[] startShellWatchdog(HostContainer h, String home, String ip, int listen, int prometheus,
                                            String daemonPidFile, String childPidFile) {
        mkdirsAs(h, "admin", home, home + "/run", home + "/log", home + "/bin", home + "/etc");
        writeAs(h, "admin", home + "/etc/obproxy_config.bin", "listen_port=" + listen + "\n");
        String script = """
                # obproxyd.sh: keeps obproxy running (a test stand-in for the script OBD copies into the home)
                path=$1
                ip=$2
                port=$3
                cd "$path" || exit 1
                %s
                while :; do
                  pid=$(cat "$path/%s" 2>/dev/null)
                  st=$(awk '$1 == "State:" { print $2 }' "/proc/${pid:-0}/status" 2>/dev/null)
                  case $st in
                    ''|Z|X) python3 %s serve --home "$path" --name obproxy --pidfile '%s' --ports "$port,%d" >> "$path/log/obproxyd.log" 2>&1 ;;
                  esac
                  sleep 0.2
                done
                """.formatted(daemonPidFile == null ? "# (this one keeps no pid file)" : "echo $$ > \"$path/" + daemonPidFile + "\"",
                childPidFile, STANDIN, childPidFile, prometheus);
        writeAs(h, "admin", home + "/obproxyd.sh", script);
        ExecResult r = h.execAs("admin", "sh", "-c",
                "cd \"$1\" && nohup sh \"$1/obproxyd.sh\" \"$1\" \"$2\" \"$3\" daemon </dev/null >/dev/null 2>&1 &",
                "sh", home, ip, String.valueOf(listen));
        assertEquals(0, r.getExitCode(), r.getStderr());
        String childAbs = home + "/" + childPidFile;
        assertTrue(TestHosts.await(() -> {
            Integer p = h.readPid(childAbs);
            return p != null && h.isAlive(p) && h.isListening(listen) && h.isListening(prometheus);
        }, Duration.ofSeconds(15)), "obproxyd.sh started obproxy: " + h.exec("cat", home + "/log/obproxyd.log").getStdout());
        int first = h.readPid(childAbs);
        int watchdog = watchdogPid(h, home);
        assertEquals("sh", h.commOf(watchdog), "the watchdog is a shell script run by sh");
        // it really respawns: kill obproxy once, a new one is up within a second or two
        assertTrue(h.signal(first, "KILL"));
        assertTrue(TestHosts.await(() -> {
            Integer p = h.readPid(childAbs);
            return p != null && p != first && h.isAlive(p) && h.isListening(listen);
        }, Duration.ofSeconds(5)), "obproxyd.sh respawned obproxy");
        return new int[] {watchdog, h.readPid(childAbs)};
    }

    private static int watchdogPid(HostContainer h, String home) {
        String out = h.execOk("pgrep", "-u", "admin", "-f", "^sh " + home + "/obproxyd.sh ").strip();
        assertFalse(out.isEmpty() || out.contains("\n"), "one obproxyd.sh runs: '" + out + "'");
        return Integer.parseInt(out);
    }

    String obproxyInventory(String home, int listen, int prometheus, String serverExtra) {
        return header() + """
                obproxy:
                  defaults: { home_path: %s, listen_port: %d, prometheus_listen_port: %d }
                  clusters:
                    - id: 7
                      name: odp-field
                      servers:
                        - { id: 3, host: %s%s }
                """.formatted(home, listen, prometheus, fieldIp, serverExtra);
    }

    /**
     * The rule of issue 9 section 1 after a stop or kill of obproxy: an exit 0 means nothing of it runs, then or a
     * few seconds later (a respawn), and the watchdog is gone too; it is checked on the host before anything else.
     */
    private void assertObproxyStoppedForGood(Outcome o, String home, int watchdog, int obproxy, int listen, int prometheus) {
        String back = anythingBack(field, home, Duration.ofSeconds(3), listen, prometheus);
        String last = o.finished("obproxy:7/3").stream().map(e -> e.path("last_log").asText()).reduce("", (a, b) -> b);
        if (back != null) {
            fail((o.code() == ExitCodes.OK ? "FALSE SUCCESS: obplay exited 0" : "obplay exited " + o.code())
                    + " (last log: \"" + last + "\") yet obproxy is not stopped, " + back
                    + "; watchdog pid " + watchdog + (field.isAlive(watchdog) ? " still runs" : " is gone")
                    + "\n" + logs(o, "obproxy:7/3"));
        }
        assertFalse(field.isAlive(watchdog), "the watchdog obproxyd.sh pid " + watchdog + " is gone");
        assertFalse(field.isAlive(obproxy), "obproxy pid " + obproxy + " is gone");
        assertEquals(ExitCodes.OK, o.code(), () -> "the watchdog is found by what it is and the stop succeeds:\n" + o
                + "\n" + logs(o, "obproxy:7/3"));
        assertEquals(State.SUCCEED.name(), o.stateOf("obproxy:7/3"));
    }

    @Test
    void obproxyWhoseWatchdogKeepsObshellsPidFilesIsStoppedForGood() throws Exception {
        // obshell's layout: run/obproxy.pid and run/obproxyd.pid; the inventory leaves the pid files at their defaults
        String home = "/home/admin/field-odp1";
        int[] p = startShellWatchdog(field, home, fieldIp, 12883, 12884, "run/obproxyd.pid", "run/obproxy.pid");
        assertEquals(Integer.valueOf(p[0]), field.readPid(home + "/run/obproxyd.pid"), "obshell's obproxyd.pid names the watchdog");
        Path inv = file("inventory.yaml", obproxyInventory(home, 12883, 12884, ""));
        Path pb = file("pb.yaml", """
                name: stop the field obproxy
                targets: { obproxy: { cluster: 7 } }
                steps:
                  - stop: { grace: 2s, kill_wait: 3s }
                """);

        Outcome o = run(inv, pb);

        assertObproxyStoppedForGood(o, home, p[0], p[1], 12883, 12884);
    }

    @Test
    void obproxyWhoseWatchdogWritesNoPidFileIsStoppedForGood() throws Exception {
        // obproxy's pid file as OBD names it; the watchdog keeps none at all
        String home = "/opt/field/odp2";
        String child = "run/obproxy-" + fieldIp + "-13883.pid";
        mkdirsAs(field, "admin", "/opt/field");
        int[] p = startShellWatchdog(field, home, fieldIp, 13883, 13884, null, child);
        assertEquals("", field.execOk("sh", "-c", "ls " + home + "/run | grep obproxyd || true").strip(), "no watchdog pid file");
        Path inv = file("inventory.yaml", obproxyInventory(home, 13883, 13884, ", pid_file: " + child));
        Path pb = file("pb.yaml", """
                name: stop the field obproxy
                targets: { obproxy: { cluster: 7 } }
                steps:
                  - stop: { grace: 2s, kill_wait: 3s }
                """);

        Outcome o = run(inv, pb);

        assertObproxyStoppedForGood(o, home, p[0], p[1], 13883, 13884);
    }

    @Test
    void obproxyUnderObdsLayoutWithAShellWatchdogIsKilledForGood() throws Exception {
        // OBD's layout: run/obproxyd-IP-PORT.pid (the inventory's default) and run/obproxy-IP-PORT.pid; a kill step
        String home = "/home/admin/field-odp3";
        String child = "run/obproxy-" + fieldIp + "-14883.pid";
        int[] p = startShellWatchdog(field, home, fieldIp, 14883, 14884, "run/obproxyd-" + fieldIp + "-14883.pid", child);
        Path inv = file("inventory.yaml", obproxyInventory(home, 14883, 14884, ", pid_file: " + child));
        Path pb = file("pb.yaml", """
                name: kill the field obproxy
                targets: { obproxy: { cluster: 7 } }
                steps:
                  - kill: { kill_wait: 3s }
                """);

        Outcome o = run(inv, pb);

        assertObproxyStoppedForGood(o, home, p[0], p[1], 14883, 14884);
    }

    // ------------------------------------------------------------------------------------------------------------
    // a port belongs to an address: two observers with the same ports on two addresses of one host

    /** Observer A on the dual host's first address, B on its second, both on 2881/2882; a stranger on 127.0.0.1. */
    record Dual(int a, int b, int stranger) {
    }

    private Dual startDual() {
        mkdirsAs(dual, "admin", "/opt/field");
        int a = standin(dual, "admin", "/opt/field/ob-a", "observer", "run/observer.pid", "2881,2882", dualIp1);
        int b = standin(dual, "admin", "/opt/field/ob-b", "observer", "run/observer.pid", "2881,2882", dualIp2);
        // another service of the host, root's, on the loopback address with the same port numbers
        int stranger = standin(dual, "root", "/srv/field-decoy", "mysqld", "run/mysqld.pid", "2881,2882", "127.0.0.1");
        for (String ip : List.of(dualIp1, dualIp2, "127.0.0.1")) {
            assertTrue(listensOn(dual, ip, 2881) && listensOn(dual, ip, 2882), "something listens on " + ip + ":2881,2882");
        }
        return new Dual(a, b, stranger);
    }

    String dualInventory() {
        return header() + """
                observer: { mysql_port: 2881, rpc_port: 2882, agent_port: 2886 }
                zones:
                  za:
                    servers:
                      - { host: %s, home_path: /opt/field/ob-a }
                  zb:
                    servers:
                      - { host: %s, home_path: /opt/field/ob-b }
                """.formatted(dualIp1, dualIp2);
    }

    Path dualPlaybook(String targets) throws Exception {
        return file("pb-" + Math.abs(targets.hashCode()) + ".yaml", """
                name: stop on the dual host
                targets: %s
                allow_majority_loss: true
                steps:
                  - stop: { grace: 2s, kill_wait: 3s }
                """.formatted(targets));
    }

    private void assertStoppedOnItsAddress(Outcome o, int pid, String ip, String home) {
        String server = ip + ":2886";
        assertFalse(dual.isAlive(pid), "the observer on " + ip + " pid " + pid + " is stopped");
        assertFalse(listensOn(dual, ip, 2881) || listensOn(dual, ip, 2882), "nothing listens on " + ip + ":2881,2882 any more");
        assertEquals(ExitCodes.OK, o.code(), () -> "the stop of " + server + " succeeds: the same port numbers on other "
                + "addresses are someone else's (issue 9, section 2):\n" + o + "\n" + logs(o, server));
        assertEquals(State.SUCCEED.name(), o.stateOf(server), o::toString);
        assertFalse(dual.fileExists(home + "/run/observer.pid"), "its pid file is removed once it is gone");
    }

    private void assertRunsAndListens(int pid, String ip, String what) {
        assertTrue(dual.isAlive(pid), what + " pid " + pid + " runs on");
        assertTrue(listensOn(dual, ip, 2881) && listensOn(dual, ip, 2882), what + " still listens on " + ip + ":2881,2882");
    }

    @Test
    void observersWithTheSamePortsOnTwoAddressesAreEachStoppedAlone() throws Exception {
        Dual d = startDual();
        Path inv = file("inventory.yaml", dualInventory());

        Outcome stopA = run(inv, dualPlaybook("{ zones: [za] }"));

        assertRunsAndListens(d.b(), dualIp2, "observer B (the other address)");
        assertRunsAndListens(d.stranger(), "127.0.0.1", "root's mysqld (a stranger)");
        assertStoppedOnItsAddress(stopA, d.a(), dualIp1, "/opt/field/ob-a");
        String logA = logs(stopA, dualIp1 + ":2886");
        assertFalse(logA.contains("pid " + d.b()) && logA.contains("sending"), "B is never signalled:\n" + logA);
        assertTrue(logA.contains(dualIp2) && logA.contains("127.0.0.1"),
                "the listeners on the other addresses are reported as someone else's, not waited for:\n" + logA);

        // and the other way round, A running again
        int a2 = standin(dual, "admin", "/opt/field/ob-a", "observer", "run/observer.pid", "2881,2882", dualIp1);
        Outcome stopB = run(inv, dualPlaybook("{ zones: [zb] }"));

        assertRunsAndListens(a2, dualIp1, "observer A (the other address)");
        assertRunsAndListens(d.stranger(), "127.0.0.1", "root's mysqld (a stranger)");
        assertStoppedOnItsAddress(stopB, d.b(), dualIp2, "/opt/field/ob-b");
    }

    @Test
    void observersWithTheSamePortsOnTwoAddressesAreStoppedTogetherAndTheStrangerRunsOn() throws Exception {
        Dual d = startDual();
        Path inv = file("inventory.yaml", dualInventory());

        Outcome both = run(inv, dualPlaybook("{ all: true }"));

        assertRunsAndListens(d.stranger(), "127.0.0.1", "root's mysqld (a stranger on 127.0.0.1)");
        assertStoppedOnItsAddress(both, d.a(), dualIp1, "/opt/field/ob-a");
        assertStoppedOnItsAddress(both, d.b(), dualIp2, "/opt/field/ob-b");
        assertEquals(State.SUCCEED, dag(both).state());
    }

    // ------------------------------------------------------------------------------------------------------------
    // a pid file that names another user's live process

    @Test
    void aPidFileNamingAnotherUsersLiveProcessIsNeverSignalled() throws Exception {
        // p1, reached as root (as many OBD deployments are): the observer is gone and its pid was reused by obmon's
        // log shipper, which works in the observer's log directory
        mkdirsAs(field, "admin", "/srv/ob/p1/run", "/srv/ob/p1/log", "/srv/ob/p2/run", "/srv/ob/p2/log");
        field.execOk("install", "-m", "666", "/dev/null", "/tmp/field-obmon.signals");
        field.execOk("install", "-m", "666", "/dev/null", "/tmp/field-root.signals");
        int shipper = trappingLoop(field, "obmon", "/srv/ob/p1/log", "/tmp/field-obmon.signals");
        writeAs(field, "admin", "/srv/ob/p1/run/observer.pid", shipper + "\n");
        // p2, reached as admin: its pid file names root's backup job (working elsewhere)
        field.execOk("install", "-d", "-m", "700", "/var/backups/field");
        int backup = trappingLoop(field, "root", "/var/backups/field", "/tmp/field-root.signals");
        writeAs(field, "admin", "/srv/ob/p2/run/observer.pid", backup + "\n");
        Path inv = file("inventory.yaml", header() + """
                observer: { mysql_port: 6881, rpc_port: 6882 }
                zones:
                  z1:
                    servers:
                      - { host: %s, agent_port: 2886, home_path: /srv/ob/p1, ssh: { user: root } }
                  z2:
                    servers:
                      - { host: %s, agent_port: 2986, home_path: /srv/ob/p2, mysql_port: 6891, rpc_port: 6892 }
                """.formatted(fieldIp, fieldIp));
        Path pb = file("pb.yaml", """
                name: stop both
                targets: { all: true }
                steps:
                  - stop: { grace: 2s, kill_wait: 3s }
                """);

        Outcome o = run(inv, pb);

        String p1 = fieldIp + ":2886";
        String p2 = fieldIp + ":2986";
        String signals = field.exec("cat", "/tmp/field-obmon.signals", "/tmp/field-root.signals").getStdout().strip();
        assertTrue(field.isAlive(shipper), "obmon's log shipper pid " + shipper + " survives the stop:\n" + logs(o, p1));
        assertTrue(field.isAlive(backup), "root's backup job pid " + backup + " survives the stop:\n" + logs(o, p2));
        assertEquals("", signals, "no signal reached the other users' processes");
        for (String[] s : List.of(new String[] {p1, String.valueOf(shipper)}, new String[] {p2, String.valueOf(backup)})) {
            String log = logs(o, s[0]);
            for (String line : log.split("\n")) {
                assertFalse(line.contains("sending") && line.contains("pid " + s[1]), "never signalled: " + line + "\n" + log);
            }
        }
        // an honest outcome: the servers are stopped (exit 0), or a refusal that names what it would not touch
        assertTrue(o.code() == ExitCodes.OK || o.code() == ExitCodes.HOSTS_FAILED, o::toString);
        if (o.code() == ExitCodes.HOSTS_FAILED) {
            for (String[] s : List.of(new String[] {p1, String.valueOf(shipper)}, new String[] {p2, String.valueOf(backup)})) {
                if (State.FAILED.name().equals(o.stateOf(s[0]))) {
                    assertTrue(logs(o, s[0]).contains(s[1]), "a refusal names the pid it would not signal:\n" + logs(o, s[0]));
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // homes behind symlinks (issue 16, section 1)

    /** {@code /home/admin/field-NAME -> /data1/NAME} (the real directory on a data disk; /data1 is root's). */
    private static String symlinkedHome(String name) {
        String real = "/data1/" + name;
        String link = "/home/admin/field-" + name;
        field.execOk("install", "-d", "-m", "755", "/data1");
        mkdirsAs(field, "admin", real, real + "/run", real + "/log", real + "/store", real + "/store/sstable", real + "/store/clog");
        asOk(field, "admin", "ln", "-s", real, link);
        writeAs(field, "admin", link + "/store/sstable/block_file", "sstables of " + name + "\n");
        writeAs(field, "admin", link + "/store/clog/1", "clog of " + name + "\n");
        assertEquals(real, field.execOk("readlink", "-f", link).strip());
        return link;
    }

    String symlinkInventory(String... servers) {
        StringBuilder b = new StringBuilder(header()).append("zones:\n");
        for (int i = 0; i < servers.length; i++) {
            b.append("  z").append(i + 1).append(":\n    servers:\n      - { host: ").append(fieldIp).append(", ")
                    .append(servers[i]).append(" }\n");
        }
        return b.toString();
    }

    private void assertObserverReallyStopped(Outcome o, String server, int pid, String link, String real, int... ports) {
        String back = anythingBack(field, real, Duration.ofSeconds(1), ports);
        if (field.isAlive(pid) || back != null) {
            fail((o.code() == ExitCodes.OK ? "FALSE SUCCESS: obplay exited 0" : "obplay exited " + o.code())
                    + " and the observer behind the symlinked home " + link + " -> " + real + " is not stopped: pid " + pid
                    + (field.isAlive(pid) ? " runs" : " is gone") + (back == null ? "" : "; " + back)
                    + "; its pid file " + (field.fileExists(link + "/run/observer.pid") ? "is kept" : "WAS DELETED")
                    + "\n" + logs(o, server));
        }
        assertEquals(ExitCodes.OK, o.code(), () -> o + "\n" + logs(o, server));
        assertFalse(field.fileExists(link + "/run/observer.pid"), "the pid file is removed once the observer is gone");
        assertTrue(logs(o, server).contains(real), "the logs show the resolved home " + real + " beside " + link + ":\n"
                + logs(o, server));
    }

    @Test
    void anObserverListeningBehindASymlinkedHomeIsReallyStopped() throws Exception {
        String link = symlinkedHome("obsym1");
        int ob = standin(field, "admin", link, "observer", "run/observer.pid", "5881,5882", "0.0.0.0");
        assertEquals("/data1/obsym1", field.cwdOf(ob), "the kernel shows the resolved home as the observer's cwd");
        Path inv = file("inventory.yaml", symlinkInventory("home_path: " + link + ", mysql_port: 5881, rpc_port: 5882"));
        Path pb = file("pb.yaml", """
                name: stop the symlinked observer
                targets: { zones: [z1] }
                steps:
                  - stop: { grace: 2s, kill_wait: 3s }
                """);

        Outcome o = run(inv, pb);

        assertObserverReallyStopped(o, fieldIp + ":2886", ob, link, "/data1/obsym1", 5881, 5882);
    }

    @Test
    void anObserverRunningButNotYetListeningBehindASymlinkedHomeIsReallyStopped() throws Exception {
        String link = symlinkedHome("obsym2");
        // starting (or recovering): it runs and holds its pid file, but opened no port yet
        int ob = standin(field, "admin", link, "observer", "run/observer.pid", "", "0.0.0.0");
        assertEquals("", listeners(field, 5891, 5892));
        Path inv = file("inventory.yaml", symlinkInventory("home_path: " + link + ", mysql_port: 5891, rpc_port: 5892"));
        Path pb = file("pb.yaml", """
                name: stop the symlinked observer
                targets: { zones: [z1] }
                steps:
                  - stop: { grace: 2s, kill_wait: 3s }
                """);

        Outcome o = run(inv, pb);

        assertObserverReallyStopped(o, fieldIp + ":2886", ob, link, "/data1/obsym2", 5891, 5892);
    }

    @Test
    void aCleanupRefusesWhileObserversBehindSymlinkedHomesRunAndKeepsTheirData() throws Exception {
        String link1 = symlinkedHome("obsym3");
        String link2 = symlinkedHome("obsym4");
        int listening = standin(field, "admin", link1, "observer", "run/observer.pid", "5883,5884", "0.0.0.0");
        int starting = standin(field, "admin", link2, "observer", "run/observer.pid", "", "0.0.0.0");
        Path inv = file("inventory.yaml", symlinkInventory(
                "agent_port: 2886, home_path: " + link1 + ", mysql_port: 5883, rpc_port: 5884",
                "agent_port: 2986, home_path: " + link2 + ", mysql_port: 5893, rpc_port: 5894"));
        Path pb = file("pb.yaml", """
                name: wipe logs and data
                targets: { all: true }
                max_fail_percentage: 100
                steps:
                  - cleanup: { paths: [log, data_dir] }
                """);

        Outcome o = run(inv, pb);

        List<String[]> cases = List.of(new String[] {fieldIp + ":2886", link1, "/data1/obsym3", String.valueOf(listening)},
                new String[] {fieldIp + ":2986", link2, "/data1/obsym4", String.valueOf(starting)});
        for (String[] c : cases) {
            int pid = Integer.parseInt(c[3]);
            List<String> lost = new ArrayList<>();
            for (String f : List.of("/store/sstable/block_file", "/store/clog/1", "/log/observer.log", "/run/observer.pid")) {
                if (!field.fileExists(c[2] + f)) {
                    lost.add(c[2] + f);
                }
            }
            assertTrue(lost.isEmpty(), "the cleanup (exit " + o.code() + ") deleted " + lost + " of the RUNNING observer pid " + pid
                    + " (alive: " + field.isAlive(pid) + ") behind " + c[1] + " -> " + c[2] + "\n" + logs(o, c[0]));
            assertTrue(field.isAlive(pid), "the observer pid " + pid + " runs on");
        }
        // then (for each) the refusal: a cleanup refuses while a process of the server lives, and says which
        for (String[] c : cases) {
            int pid = Integer.parseInt(c[3]);
            assertEquals(State.FAILED.name(), o.stateOf(c[0]),
                    "the cleanup of " + c[0] + " is refused:\n" + logs(o, c[0]));
            assertTrue(logs(o, c[0]).contains(c[3]), "the refusal names the running pid " + pid + ":\n" + logs(o, c[0]));
        }
        assertEquals(ExitCodes.HOSTS_FAILED, o.code(), o::toString);
    }

    // ------------------------------------------------------------------------------------------------------------
    // OBD's directory layout (issue 16, section 2)

    /**
     * OBD's 4.x layout for one observer as admin: {@code /data} and {@code /redo} are root's (mode 755), {@code dataDir}
     * and {@code redoDir} admin's; {@code HOME/store -> dataDir}; {@code dataDir/clog -> redoDir/clog};
     * {@code dataDir/slog} and {@code dataDir/sstable} real directories. Also a link inside the data dir to a directory
     * outside every declared one ({@code /data/other-app}, root's), which a cleanup must never follow.
     */
    private static void obdLayout(String home, String dataDir, String redoDir) {
        field.execOk("install", "-d", "-m", "755", "/data", "/redo", "/data/other-app");
        field.execOk("sh", "-c", "echo keep > /data/other-app/keep");
        mkdirsAs(field, "admin", home, home + "/log", home + "/run", home + "/etc", dataDir, dataDir + "/sstable",
                dataDir + "/slog", redoDir);
        if (redoDir.equals(dataDir)) {
            mkdirsAs(field, "admin", dataDir + "/clog", dataDir + "/clog/tenant_1");
        } else {
            mkdirsAs(field, "admin", redoDir + "/clog", redoDir + "/clog/tenant_1");
            asOk(field, "admin", "ln", "-s", redoDir + "/clog", dataDir + "/clog");
        }
        asOk(field, "admin", "ln", "-s", dataDir, home + "/store");
        asOk(field, "admin", "ln", "-s", "/data/other-app", dataDir + "/backup-link");
        writeAs(field, "admin", dataDir + "/sstable/block_file", "sstables\n");
        writeAs(field, "admin", dataDir + "/slog/1", "slog\n");
        writeAs(field, "admin", redoDir + "/clog/tenant_1/1", "clog\n");
        writeAs(field, "admin", home + "/etc/observer.config.bin", "config\n");
        assertEquals("root", field.execOk("stat", "-c", "%U", "/data").strip());
    }

    private static String contents(String d) {
        ExecResult r = field.exec("sh", "-c", "cd \"$1\" && find . -mindepth 1 | sort | tr '\\n' ' '", "sh", d);
        return r.getExitCode() != 0 ? "(" + d + " is missing)" : r.getStdout().strip();
    }

    Path obdCleanupPlaybook() throws Exception {
        return file("pb.yaml", """
                name: wipe the data and redo of the OBD-deployed observers
                targets: { all: true }
                max_fail_percentage: 100
                steps:
                  - cleanup: { paths: [data_dir, redo_dir] }
                """);
    }

    private void assertEmptiedAndKept(String d) {
        assertTrue(field.fileExists(d), d + " (its parent is root's) is kept");
        assertEquals("", contents(d), "everything in " + d + " is removed");
    }

    @Test
    void aCleanupOfObdsDataAndRedoDirsUnderRootOwnedParentsEmptiesBothAndCanRunAgain() throws Exception {
        obdLayout("/home/admin/field-obd1", "/data/obd1", "/redo/obd1");
        // the second observer keeps OBD's default data_dir: HOME/store, a link to its directory under /data
        obdLayout("/home/admin/field-obd2", "/data/obd2", "/data/obd2");
        Path inv = file("inventory.yaml", header() + """
                observer: { mysql_port: 7881, rpc_port: 7882 }
                zones:
                  z1:
                    servers:
                      - { host: %s, agent_port: 2886, home_path: /home/admin/field-obd1, data_dir: /data/obd1, redo_dir: /redo/obd1 }
                  z2:
                    servers:
                      - { host: %s, agent_port: 2986, home_path: /home/admin/field-obd2, mysql_port: 7891, rpc_port: 7892 }
                """.formatted(fieldIp, fieldIp));
        Path pb = obdCleanupPlaybook();

        Outcome o = run(inv, pb);

        String s1 = fieldIp + ":2886";
        String s2 = fieldIp + ":2986";
        String state = "exit " + o.code() + "; /data/obd1: [" + contents("/data/obd1") + "], /redo/obd1: [" + contents("/redo/obd1")
                + "], /data/obd2: [" + contents("/data/obd2") + "]\n" + logs(o, s1) + logs(o, s2);
        assertEquals("", contents("/redo/obd1"), "the redo logs are removed (redo_dir is tried even if data_dir failed): " + state);
        assertEquals("", contents("/data/obd1"), "the data is removed: " + state);
        assertEquals("", contents("/data/obd2"), "the data behind HOME/store (the default data_dir, a link) is removed, "
                + "not only the link: " + state);
        assertTrue(field.fileExists("/data/obd1") && field.fileExists("/redo/obd1") && field.fileExists("/data/obd2"),
                "the directories under root-owned /data and /redo are emptied and kept: " + state);
        assertEquals("keep\n", field.execOk("cat", "/data/other-app/keep"), "a link inside the data dir is never followed out");
        assertEquals("config\n", field.execOk("cat", "/home/admin/field-obd1/etc/observer.config.bin"), "only the named dirs go");
        assertEquals(ExitCodes.OK, o.code(), () -> state);
        assertTrue(logs(o, s1).contains("/data/obd1") && logs(o, s1).contains("/redo/obd1"), "each dir is reported: " + state);

        Outcome again = run(inv, pb);
        assertEquals(ExitCodes.OK, again.code(), () -> "a second run finishes: " + again + "\n" + logs(again, s1) + logs(again, s2));
        assertEmptiedAndKept("/data/obd1");
        assertEmptiedAndKept("/redo/obd1");
    }

    @Test
    void aPartialObdCleanupTriesEveryDirReportsEachAndASecondRunFinishesIt() throws Exception {
        obdLayout("/home/admin/field-obd3", "/data/obd3", "/redo/obd3");
        // something in the data dir that admin cannot delete yet (root's, as after a `sudo` repair)
        field.execOk("install", "-d", "-m", "755", "/data/obd3/sstable/repair");
        field.execOk("sh", "-c", "echo root > /data/obd3/sstable/repair/note");
        Path inv = file("inventory.yaml", header() + """
                zones:
                  z1:
                    servers:
                      - { host: %s, home_path: /home/admin/field-obd3, data_dir: /data/obd3, redo_dir: /redo/obd3, mysql_port: 7883, rpc_port: 7884 }
                """.formatted(fieldIp));
        Path pb = obdCleanupPlaybook();
        String server = fieldIp + ":2886";

        Outcome first = run(inv, pb);

        String state = "exit " + first.code() + "; /data/obd3: [" + contents("/data/obd3") + "], /redo/obd3: ["
                + contents("/redo/obd3") + "]\n" + logs(first, server);
        assertEquals("", contents("/redo/obd3"), "redo_dir is tried and emptied although data_dir failed: " + state);
        assertEquals(ExitCodes.HOSTS_FAILED, first.code(), () -> "the part that could not be deleted fails the sub-task: " + state);
        String log = logs(first, server);
        assertTrue(log.contains("/data/obd3") && log.contains("/redo/obd3"), "each dir is reported on its own: " + state);
        assertTrue(log.contains("/data/obd3/sstable/repair"), "the failure names what could not be deleted: " + state);

        field.execOk("chown", "-R", "admin:admin", "/data/obd3/sstable/repair");
        // the FAILED DAG holds the cluster (README: a run is refused while another DAG holds it): retry it
        Outcome second = retry(first);

        assertEquals(ExitCodes.OK, second.code(), () -> "a second run finishes the cleanup: " + second + "\n" + logs(second, server));
        assertEmptiedAndKept("/data/obd3");
        assertEmptiedAndKept("/redo/obd3");
    }

    // ------------------------------------------------------------------------------------------------------------
    // logins that talk, and sh logins (issue 16, section 3)

    /**
     * A step of {@code user}'s server that times out: the sub-task fails, nothing it started is left on the host (read
     * in /proc), a process of the same user outside the step (another observer of that user) is not touched, and
     * what obplay says is true.
     */
    private void assertTimedOutStepLeavesNothing(String user, String home, String stepCommand, List<String> argvs) throws Exception {
        mkdirsAs(field, user, home);
        int bystander = standin(field, user, home + "-other", "observer", "run/observer.pid", "8881", "0.0.0.0");
        Path inv = file("inventory.yaml", header() + """
                zones:
                  z1:
                    servers:
                      - { host: %s, home_path: %s, mysql_port: 8891, rpc_port: 8892, ssh: { user: %s } }
                """.formatted(fieldIp, home, user));
        Path pb = file("pb.yaml", """
                name: a quick step, then one too slow
                targets: { zones: [z1] }
                steps:
                  - shell: "echo field-ok"
                  - shell: %s
                    timeout: 2s
                """.formatted(JSON.writeValueAsString(stepCommand)));
        String server = fieldIp + ":2886";

        Outcome o = run(inv, pb);

        List<SubTask> ts = tasks(o, server);
        assertEquals(State.SUCCEED, ts.get(0).state(), () -> "the quick step works under this login:\n" + logs(o, server));
        assertTrue(ts.get(0).taskLogs().contains("field-ok"), "its output is a line of its own:\n" + logs(o, server));
        assertEquals(State.FAILED, ts.get(1).state(), () -> logs(o, server));
        String said = ts.get(1).taskLogs().isEmpty() ? "" : ts.get(1).taskLogs().get(ts.get(1).taskLogs().size() - 1);
        assertTrue(said.contains("timed out"), "the sub-task says it timed out: " + said);
        StringBuilder left = new StringBuilder();
        TestHosts.await(() -> {
            left.setLength(0);
            argvs.forEach(a -> left.append(procsOf(field, user, a)));
            return left.length() == 0;
        }, Duration.ofSeconds(5));
        if (left.length() > 0) {
            fail("5 s after the timeout the step's processes still run on the host: " + left + "; obplay said: \"" + said + "\""
                    + (said.contains("ended") ? " (NOT TRUE)" : ""));
        }
        assertTrue(field.isAlive(bystander), "another observer of " + user + " (pid " + bystander + "), no part of the step, "
                + "is not signalled: " + logs(o, server));
        assertTrue(listensOn(field, "0.0.0.0", 8881), "and it still listens");
        assertEquals(ExitCodes.HOSTS_FAILED, o.code(), o::toString);
    }

    @Test
    void aTimedOutStepLeavesNoProcessBehindWhenTheBashrcPrintsABannerWithoutNewline() throws Exception {
        // the banner really is there, ahead of whatever the command prints, with no newline of its own
        assertBannerOverSsh();
        assertTimedOutStepLeavesNothing("obbash", "/home/obbash/field-ob", "sleep 317", List.of("sleep 317"));
    }

    /** Through real ssh the bashrc prints its banner without a newline before the command's own output. */
    private void assertBannerOverSsh() {
        TestHosts.Run r = TestHosts.run(Duration.ofSeconds(30), TestHosts.sshCommand(knownHosts, "obbash", fieldIp, 22, "echo MARK"));
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.stdout().startsWith("\033]0;obbash@") && r.stdout().contains("on-call: +1 555 0100MARK\n"),
                "the login prints the banner glued to the command's first line: " + r.stdout());
    }

    @Test
    void aTimedOutStepLeavesNoProcessBehindUnderAShLogin() throws Exception {
        assertEquals("/bin/sh", field.execOk("getent", "passwd", "obdash").strip().replaceAll(".*:", ""));
        assertTimedOutStepLeavesNothing("obdash", "/var/lib/obdash/field-ob", "sleep 318 & sleep 319; wait",
                List.of("sleep 318", "sleep 319"));
    }
}
