package io.obplay.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(180)
class HostContainerSmokeTest {

    private static HostContainer host;

    @BeforeAll
    static void startHost() {
        TestHosts.requireHostImage();
        host = new HostContainer().start();
    }

    @AfterAll
    static void stopHost() {
        if (host != null) {
            host.close();
        }
    }

    @Test
    void observerStandinRunsInItsHomeListensAndDiesOnTerm() throws Exception {
        String home = "/home/admin/zone1-a";
        int pid = host.startStandin(home, "observer", List.of(2881, 2882), false);

        assertEquals(Integer.valueOf(pid), host.readPid(home + "/run/observer.pid"));
        assertTrue(host.isAlive(pid));
        assertEquals(home, host.cwdOf(pid), "/proc/<pid>/cwd is the home");
        assertEquals("observer", host.commOf(pid));
        assertEquals("admin", host.exec("ps", "-o", "user=", "-p", "" + pid).getStdout().strip());
        assertTrue(host.isListening(2881) && host.isListening(2882), "both ports listen");
        var ss = host.exec("ss", "-Hltnp", "sport = :2881");
        assertTrue(ss.getStdout().contains("pid=" + pid), "the port belongs to the stand-in: " + ss.getStdout());

        // a second one on the same port is refused, with a message
        var busy = host.execAs("admin", "python3", TestHosts.CONTAINER_STANDIN, "serve", "--home",
                "/home/admin/other", "--name", "observer", "--ports", "2881");
        assertNotEquals(0, busy.getExitCode());
        assertTrue(busy.getStderr().contains("busy"), busy.getStderr());

        assertTrue(host.signal(pid, "TERM"));
        assertTrue(TestHosts.await(() -> !host.isAlive(pid), Duration.ofSeconds(5)), "TERM ends it");
        assertFalse(host.isListening(2881), "port released");
        assertEquals(Integer.valueOf(pid), host.readPid(home + "/run/observer.pid"),
                "the pid file is left behind, like a real observer's");
        assertTrue(host.exec("grep", "-q", "received SIGTERM", home + "/log/observer.log").getExitCode() == 0);
    }

    @Test
    void ignoreTermStandinSurvivesTermAndDiesOnKill() throws Exception {
        String home = "/home/admin/zone2-a";
        int pid = host.startStandin(home, "observer", List.of(3881, 3882), true);
        assertTrue(host.signal(pid, "TERM"));
        Thread.sleep(800);
        assertTrue(host.isAlive(pid), "--ignore-term survives SIGTERM");
        assertTrue(host.isListening(3881));
        assertTrue(host.signal(pid, "KILL"));
        assertTrue(TestHosts.await(() -> !host.isAlive(pid), Duration.ofSeconds(5)), "KILL ends it");
        assertFalse(host.isListening(3881));
    }

    @Test
    void obproxyWatchdogRespawnsUntilItIsKilledFirst() {
        String home = "/home/admin/obproxy";
        int[] pids = host.startObproxyWithWatchdog(home, "127.0.0.1", 2883, 2884);
        int daemon = pids[0];
        int proxy = pids[1];
        String childPidFile = home + "/run/obproxy-127.0.0.1-2883.pid";
        assertEquals("obproxyd", host.commOf(daemon));
        assertEquals("obproxy", host.commOf(proxy));

        assertTrue(host.signal(proxy, "KILL"));
        assertTrue(TestHosts.await(() -> {
            Integer p = host.readPid(childPidFile);
            return p != null && p != proxy && host.isAlive(p) && host.isListening(2883);
        }, Duration.ofSeconds(5)), "obproxyd respawned obproxy");
        int respawned = host.readPid(childPidFile);

        // OBD's order: the daemon first, then obproxy
        assertTrue(host.signal(daemon, "KILL"));
        assertTrue(TestHosts.await(() -> !host.isAlive(daemon), Duration.ofSeconds(5)));
        assertTrue(host.signal(respawned, "KILL"));
        assertTrue(TestHosts.await(() -> !host.isAlive(respawned), Duration.ofSeconds(5)));
        assertFalse(TestHosts.await(() -> !Integer.valueOf(respawned).equals(host.readPid(childPidFile)),
                Duration.ofSeconds(1)), "nothing respawns obproxy any more");
        assertFalse(host.isListening(2883));
    }

    @Test
    void sshLoginWithTheTestKeyAndKnownHostsLineAndSshdDown(@TempDir Path tmp) throws Exception {
        Path known = tmp.resolve("known_hosts");
        Files.writeString(known, host.knownHostsLine() + "\n");
        assertTrue(host.knownHostsLine().startsWith("[" + host.host() + "]:" + host.sshPort() + " ssh-ed25519 "));

        for (String user : List.of("admin", "root")) {
            TestHosts.Run r = TestHosts.run(Duration.ofSeconds(30),
                    TestHosts.sshCommand(known, user, host.host(), host.sshPort(), "echo ok; id -un"));
            assertEquals(0, r.exitCode(), r::toString);
            assertEquals("ok\n" + user + "\n", r.stdout());
        }

        host.stopSshd();
        TestHosts.Run down = TestHosts.run(Duration.ofSeconds(30),
                TestHosts.sshCommand(known, "admin", host.host(), host.sshPort(), "echo ok"));
        assertEquals(255, down.exitCode(), "ssh fails while sshd is down: " + down);
        assertTrue(host.exec("true").getExitCode() == 0, "the host itself is still up");

        host.startSshd();
        TestHosts.Run up = TestHosts.run(Duration.ofSeconds(30),
                TestHosts.sshCommand(known, "admin", host.host(), host.sshPort(), "echo ok"));
        assertEquals(0, up.exitCode(), up::toString);
    }
}
