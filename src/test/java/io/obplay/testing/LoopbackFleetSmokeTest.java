package io.obplay.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;

import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.Session;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class LoopbackFleetSmokeTest {

    @Test
    void twoLoopbackSshdsAcceptTheTestKeyWithStrictHostKeys() throws Exception {
        try (LoopbackFleet fleet = LoopbackFleet.start(2)) {
            assertEquals(2, fleet.size());
            assertEquals("127.0.0.2", fleet.host(0));
            assertEquals("127.0.0.3", fleet.host(1));
            List<String> known = Files.readAllLines(fleet.knownHostsFile());
            assertEquals(2, known.size(), "one known_hosts line per host: " + known);
            assertNotEquals(known.get(0).split(" ")[2], known.get(1).split(" ")[2], "each host has its own key");

            for (int i = 0; i < 2; i++) {
                TestHosts.Run r = TestHosts.run(Duration.ofSeconds(30), TestHosts.sshCommand(
                        fleet.knownHostsFile(), fleet.user(), fleet.host(i), fleet.port(i),
                        "echo ok; id -un; echo $SSH_CONNECTION"));
                assertEquals(0, r.exitCode(), () -> r + "\nsshd log: " + readLog(fleet, 0));
                List<String> lines = r.stdout().strip().lines().toList();
                assertEquals("ok", lines.get(0));
                assertEquals(fleet.user(), lines.get(1));
                assertTrue(lines.get(2).endsWith(fleet.host(i) + " " + fleet.port(i)),
                        "connected to the right host: " + lines.get(2));
            }

            // the project's SSH library (JSch) with the same key and known_hosts, strict checking
            JSch jsch = new JSch();
            jsch.addIdentity(fleet.keyFile().toString());
            jsch.setKnownHosts(fleet.knownHostsFile().toString());
            Session session = jsch.getSession(fleet.user(), fleet.host(1), fleet.port(1));
            session.setConfig("StrictHostKeyChecking", "yes");
            session.connect(10_000);
            try {
                assertEquals("ok\n", jschExec(session, "echo ok"));
            } finally {
                session.disconnect();
            }

            // a host key that does not match is refused
            Files.writeString(fleet.knownHostsFile(), Files.readAllLines(fleet.knownHostsFile()).get(0)
                    .replaceFirst("^\\[127\\.0\\.0\\.2\\]:\\d+", "[127.0.0.3]:" + fleet.port(1)) + "\n");
            TestHosts.Run bad = TestHosts.run(Duration.ofSeconds(30), TestHosts.sshCommand(
                    fleet.knownHostsFile(), fleet.user(), fleet.host(1), fleet.port(1), "echo ok"));
            assertNotEquals(0, bad.exitCode(), "a wrong host key must be refused: " + bad);
            assertTrue(bad.stderr().contains("HOST IDENTIFICATION HAS CHANGED"), bad.stderr());

            long pid0 = fleet.pid(0);
            String host0 = fleet.host(0);
            int port0 = fleet.port(0);
            fleet.close();
            assertTrue(TestHosts.await(() -> !TestHosts.localPidAlive(pid0), Duration.ofSeconds(5)));
            assertFalse(TestHosts.canConnect(host0, port0, 500), "sshd is gone after close()");
        }
    }

    private static String readLog(LoopbackFleet fleet, int i) {
        try {
            return Files.readString(fleet.log(i));
        } catch (Exception e) {
            return "(no log: " + e + ")";
        }
    }

    static String jschExec(Session session, String command) throws Exception {
        ChannelExec ch = (ChannelExec) session.openChannel("exec");
        ch.setCommand(command);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ch.setOutputStream(out);
        ch.connect(10_000);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!ch.isClosed() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        ch.disconnect();
        assertEquals(0, ch.getExitStatus(), "exit status of " + command);
        return out.toString(StandardCharsets.UTF_8);
    }
}
