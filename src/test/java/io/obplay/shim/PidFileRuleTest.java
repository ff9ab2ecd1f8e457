package io.obplay.shim;

import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.inventory.SshSettings;
import io.obplay.plan.StepScripts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One pid-file rule: a pid file holding {@code <pid>abc} holds no pid, for the shim's status check as for the stop
 * script (both call the shell's read_pid), even when {@code <pid>} is a live process of the server.
 */
class PidFileRuleTest {

    @TempDir
    Path tmp;

    Process sleeper;

    @AfterEach
    void kill() {
        if (sleeper != null) {
            sleeper.destroyForcibly();
        }
    }

    @Test
    void aPidWithTrailingLettersIsNoPidOnTheShimsPathAndTheStops() throws Exception {
        Path home = Files.createDirectories(tmp.resolve("ob home"));
        Files.createDirectories(home.resolve("run"));
        sleeper = new ProcessBuilder("sleep", "100").directory(home.toFile()).start();  // the server's, by its cwd
        Path pidFile = home.resolve("run/observer.pid");
        Files.writeString(pidFile, sleeper.pid() + "abc\n");
        Map<String, String> dirs = new LinkedHashMap<>();
        dirs.put("home", home.toString());
        Server s = new Server(Role.OBSERVER, "127.0.0.1:2886", "zone1", 0, 0, "127.0.0.1", 2886, SshSettings.DEFAULTS,
                home.toString(), dirs, Map.of("mysql_port", 1), Map.of("server", pidFile.toString()), Map.of());

        String status = run(StepScripts.shell(s, ShimPlaybooks.statusCommand(s)).runnable(), 0);
        assertTrue(status.contains("obplay: " + pidFile + ": does not hold a pid\n"), status);
        assertFalse(status.contains("pid " + sleeper.pid() + " runs"), status);

        String stop = run(StepScripts.stop(s, Duration.ofSeconds(1), Duration.ofSeconds(1)).runnable(), 1);
        assertTrue(stop.contains("FAILED: pid file " + pidFile + " does not hold a pid: '" + sleeper.pid() + "abc"), stop);
        assertFalse(stop.contains("sending"), stop);
        assertTrue(sleeper.isAlive());
    }

    private static String run(String script, int code) throws Exception {
        Process p = new ProcessBuilder("/bin/sh", "-c", script).directory(new File("/")).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(code, p.exitValue(), out);
        return out;
    }
}
