package io.obplay.run.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.obplay.inventory.HostKeyChecking;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.Server;
import io.obplay.inventory.SshSettings;
import io.obplay.inventory.YamlSource;
import io.obplay.playbook.PlaybookLoader;
import io.obplay.plan.Dag;
import io.obplay.plan.PlanOptions;
import io.obplay.plan.Planner;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.run.Connection;
import io.obplay.run.DagControl;
import io.obplay.run.ExecResult;
import io.obplay.run.Executor;
import io.obplay.run.RunListener;
import io.obplay.run.RunOptions;
import io.obplay.run.ScriptCancelledException;
import io.obplay.store.Store;
import io.obplay.store.sqlite.SqliteStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Logins that talk (issue 16, section 3): hosts whose login prints a banner on every ssh command, without a
 * final newline, before obplay's wrapper runs. Real sshd, real login users:
 * <ul>
 *   <li>{@code obplay_bash}: shell /bin/bash, whose ~/.bashrc (bash reads it for sshd's commands) prints a
 *       terminal-title escape and a greeting without a newline;</li>
 *   <li>{@code obplay_rc}: shell /bin/sh (dash, which reads no startup file for {@code sh -c}), whose
 *       ~/.ssh/rc (run by sshd before every command, its output on the session's stdout) prints a notice
 *       without a newline;</li>
 *   <li>{@code obplay_mute}: shell /bin/bash, whose ~/.bashrc sends stdout to /dev/null: obplay never sees its
 *       pid line, so it cannot end a timed-out script, and must say so.</li>
 * </ul>
 */
@Timeout(120)
class SshTalkativeLoginTest {

    static final String BASH_BANNER = "Welcome to the jump zone, authorized use only";
    static final String RC_BANNER = "Last login: never (from ~/.ssh/rc)";

    static SshdFixture fx;
    static SshdFixture.Host h;

    @TempDir
    Path home;

    @BeforeAll
    static void start() {
        fx = new SshdFixture();
        h = fx.start("127.0.0.6");
        SshdFixture.loginUser("obplay_bash", "/bin/bash", Map.of(".bashrc",
                "# printed for every ssh command, with no final newline\n"
                        + "printf '\\033]0;%s@%s\\007' \"$USER\" \"$(hostname)\"\n"
                        + "printf '" + BASH_BANNER + "'\n"));
        SshdFixture.loginUser("obplay_rc", "/bin/sh", Map.of(".ssh/rc", "printf '" + RC_BANNER + "'\n"));
        SshdFixture.loginUser("obplay_mute", "/bin/bash", Map.of(".bashrc", "exec >/dev/null\n"));
    }

    @AfterAll
    static void stop() {
        if (fx != null) {
            fx.close();
        }
    }

    static SshSettings as(String user) {
        return new SshSettings(user, h.port, fx.keyFile().toString(), fx.knownHostsFile().toString(),
                HostKeyChecking.STRICT, Duration.ofSeconds(10), null);
    }

    static String banner(String user) {
        return user.equals("obplay_rc") ? RC_BANNER : BASH_BANNER;
    }

    @ParameterizedTest
    @ValueSource(strings = {"obplay_bash", "obplay_rc"})
    void theBannerIsOutputAndThePidLineIsFoundAfterIt(String user) throws Exception {
        try (SshTransport t = new SshTransport(T.options(home))) {
            Connection c = t.connect(T.server(h.address, as(user)));
            T.Lines l = new T.Lines();
            ExecResult r = c.run("echo \"login shell=$SHELL\"; echo \"user=$(id -un)\"; printf tail",
                    Duration.ofSeconds(20), l);
            assertEquals(0, r.exitCode(), l.out + " " + l.err);
            assertEquals(4, l.out.size(), l.out.toString());
            assertTrue(l.out.get(0).endsWith(banner(user)), "the banner, delivered as output: " + l.out);
            assertFalse(l.out.get(0).contains("OBPLAY_PG_"), "the pid line stays private: " + l.out);
            assertEquals(List.of("login shell=" + (user.equals("obplay_rc") ? "/bin/sh" : "/bin/bash"),
                    "user=" + user, "tail"), l.out.subList(1, 4));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"obplay_bash", "obplay_rc"})
    void aTimedOutScriptBehindABannerIsEndedAndSaidSo(String user) throws Exception {
        int n = T.uniqueSeconds();
        String a = String.valueOf(n);
        String b = String.valueOf(n + 1);
        try (SshTransport t = new SshTransport(T.options(home))) {
            Connection c = t.connect(T.server(h.address, as(user)));
            T.Lines l = new T.Lines();
            ExecResult r;
            try {
                r = c.run("sleep " + a + " & sleep " + b + "; echo never", Duration.ofSeconds(2), l);
            } finally {
                assertTrue(T.await(() -> T.procs("sleep", a).isEmpty() && T.procs("sleep", b).isEmpty(),
                        Duration.ofSeconds(1)) || cleanUp(a, b), "the remote sleeps are gone from /proc");
            }
            assertTrue(r.timedOut());
            assertNull(r.leftRunning(), "proved ended: " + r.leftRunning());
            assertEquals(List.of(banner(user)), l.out.stream().map(s -> s.replaceAll("^\\e\\]0;[^\\a]*\\a", ""))
                    .toList());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"obplay_bash", "obplay_rc"})
    void aCancelledScriptBehindABannerIsEndedAndSaidSo(String user) throws Exception {
        int n = T.uniqueSeconds();
        String a = String.valueOf(n);
        try (SshTransport t = new SshTransport(T.options(home))) {
            Connection c = t.connect(T.server(h.address, as(user)));
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread runner = new Thread(() -> {
                try {
                    c.run("sleep " + a, Duration.ofMinutes(5), null);
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            runner.start();
            try {
                assertTrue(T.await(() -> T.procs("sleep", a).size() == 1, Duration.ofSeconds(10)), "it ran");
                runner.interrupt();
                runner.join(20_000);
                assertFalse(runner.isAlive());
                assertTrue(thrown.get() instanceof ScriptCancelledException, String.valueOf(thrown.get()));
                assertNull(((ScriptCancelledException) thrown.get()).leftRunning());
                assertEquals("cancelled; the script and its processes were ended", thrown.get().getMessage());
                assertEquals(List.of(), T.procs("sleep", a), "gone from /proc before run() threw");
            } finally {
                runner.interrupt();
                cleanUp(a);
            }
        }
    }

    @Test
    void whenThePidLineNeverComesTheTimeoutSaysTheScriptMayStillRun() throws Exception {
        int n = T.uniqueSeconds();
        String a = String.valueOf(n);
        try (SshTransport t = new SshTransport(T.options(home))) {
            Connection c = t.connect(T.server(h.address, as("obplay_mute")));
            try {
                ExecResult r = c.run("sleep " + a, Duration.ofSeconds(1), null);
                assertTrue(r.timedOut());
                assertTrue(r.leftRunning() != null && r.leftRunning().contains("may still run on " + h.address)
                        && r.leftRunning().contains("no pid line"), String.valueOf(r.leftRunning()));
                assertEquals(1, T.procs("sleep", a).size(), "and it does still run: obplay said so");
            } finally {
                cleanUp(a);
            }
        }
    }

    @Test
    void theExecutorSaysEndedOnlyWhenItWasProved() throws Exception {
        int n = T.uniqueSeconds();
        Path homes = java.nio.file.Files.createTempDirectory("obplay-talk-");
        for (String d : List.of("", "a", "b")) {
            java.nio.file.Files.createDirectories(homes.resolve(d));
            java.nio.file.Files.setPosixFilePermissions(homes.resolve(d),
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        }
        String yaml = """
                cluster: talk
                ssh: { port: %1$d, key: %4$s, known_hosts: %5$s }
                zones:
                  z1:
                    servers:
                      - { host: %2$s, home_path: %3$s/a, agent_port: 40101, mysql_port: 40111, rpc_port: 40121,
                          ssh: { user: obplay_bash } }
                      - { host: %2$s, home_path: %3$s/b, agent_port: 40102, mysql_port: 40112, rpc_port: 40122,
                          ssh: { user: obplay_mute } }
                """.formatted(h.port, h.address, homes, fx.keyFile(), fx.knownHostsFile());
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", yaml));
        var pb = PlaybookLoader.load(YamlSource.of("pb.yaml", """
                name: slow
                targets: { all: true }
                steps:
                  - shell: "sleep {{agent_port}}%d"
                    timeout: 2s
                """.formatted(n)), inv);
        Map<String, Server> servers = new LinkedHashMap<>();
        inv.servers().forEach(s -> servers.put(s.name(), s));
        try (Store store = SqliteStore.open(home.resolve("state"));
             SshTransport t = new SshTransport(T.options(home))) {
            Dag dag = new DagControl(store).create(Planner.plan(inv, pb, PlanOptions.defaults()).dag(),
                    "127.0.0.1", 2886);
            Dag end;
            try {
                end = new Executor(store, t, servers, new RunListener() { }).run(dag.dagId(), RunOptions.defaults());
            } finally {
                assertEquals(List.of(), T.procs("sleep", "40101" + n), "the bash host's sleep was ended");
                cleanUp("40102" + n);
            }
            assertEquals(State.FAILED, end.state());
            List<SubTask> tasks = end.nodes().get(0).subTasks();
            String ended = last(tasks, homes + "/a");
            String mute = last(tasks, homes + "/b");
            assertEquals("FAILED: timed out after 2s; the script and its processes were ended", ended);
            assertTrue(mute.startsWith("FAILED: timed out after 2s; obplay could not end it: ")
                    && mute.contains("may still run on " + h.address), mute);
        } finally {
            T.run("rm", "-rf", homes.toString());
        }
    }

    private static String last(List<SubTask> tasks, String home) {
        SubTask t = tasks.stream().filter(s -> s.data().script().contains(home)).findFirst().orElseThrow();
        return t.taskLogs().get(t.taskLogs().size() - 1);
    }

    /** Kills what a failed assertion may have left; returns false (for use in a failing assertion). */
    private static boolean cleanUp(String... sleepArgs) {
        for (String s : sleepArgs) {
            T.run("pkill", "-KILL", "-f", "^sleep " + s + "$");
        }
        return false;
    }
}
