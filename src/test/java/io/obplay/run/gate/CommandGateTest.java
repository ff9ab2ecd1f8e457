package io.obplay.run.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Level 4 with real processes. */
@Timeout(60)
class CommandGateTest {

    @TempDir
    Path tmp;

    private static GateTiming timing(Duration timeout) {
        return new GateTiming(Duration.ZERO, Duration.ofMillis(200), timeout);
    }

    @Test
    void runsUntilTheCommandExits0AndKeepsItsOutput() throws Exception {
        Path flag = tmp.resolve("ready");
        CommandGate gate = new CommandGate(List.of("sh", "-c", "echo checking; test -f ready || { echo not ready >&2;"
                + " exit 3; }; echo ready now"), tmp, Duration.ofSeconds(5), timing(Duration.ofSeconds(20)));
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(1000);
                Files.writeString(flag, "");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        t.start();
        GateResult r = new GateWaiter().await(gate, GateLog.NONE);
        t.join();
        assertTrue(r.passed(), r.toString());
        assertTrue(r.observations().size() >= 2, r.toString());
        Observation first = r.observations().get(0);
        assertTrue(first.text().startsWith("sh -c 'echo checking; test -f ready || { echo not ready >&2; exit 3; };"
                + " echo ready now' exited 3 in "), first.text());
        assertTrue(first.text().endsWith("; output: checking | not ready"), first.text());
        assertTrue(r.last().text().matches(".* exited 0 in [0-9.]+s; output: checking \\| ready now"),
                r.last().text());
    }

    @Test
    void noShellUnlessAsked() throws Exception {
        Path marker = tmp.resolve("touched");
        CommandGate gate = CommandGate.of(List.of("printf", "%s", "$(touch " + marker + ")"),
                timing(Duration.ofSeconds(5)));
        Observation o = GateChecks.of(gate).check(1);
        assertTrue(o.passed(), o.text());
        assertTrue(o.text().endsWith("output: $(touch " + marker + ")"), o.text());
        assertFalse(Files.exists(marker), "the argument was not run by a shell");
        assertEquals("exit 0 from printf %s '$(touch " + marker + ")'", gate.describe());
    }

    @Test
    void aRunLongerThanItsTimeoutIsKilledWithItsChildren() throws Exception {
        Path pidFile = tmp.resolve("child.pid");
        CommandGate gate = new CommandGate(List.of("sh", "-c", "sleep 30 & echo $! > " + pidFile + "; echo started;"
                + " wait"), null, Duration.ofMillis(700), timing(Duration.ofSeconds(5)));
        long t0 = System.nanoTime();
        Observation o = GateChecks.of(gate).check(1);
        assertTrue(System.nanoTime() - t0 < 4_000_000_000L, "did not wait for sleep 30");
        assertFalse(o.passed());
        assertTrue(o.text().endsWith(" did not exit within 0.7s (killed); output: started"), o.text());
        long child = Long.parseLong(Files.readString(pidFile).strip());
        assertTrue(TestWait.until(() -> ProcessHandle.of(child).map(p -> !p.isAlive()).orElse(true)
                || isZombie(child)), "the command's child was killed too");
    }

    @Test
    void aProgramThatCannotRunAndLongOutputAreReported() throws Exception {
        Observation missing = GateChecks.of(CommandGate.of(List.of(tmp.resolve("no-such-program").toString()),
                timing(Duration.ofSeconds(5)))).check(1);
        assertFalse(missing.passed());
        assertTrue(missing.text().startsWith("cannot run " + tmp.resolve("no-such-program") + ": "), missing.text());

        Observation longOut = GateChecks.of(CommandGate.of(List.of("sh", "-c",
                "i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done; exit 1"),
                timing(Duration.ofSeconds(10)))).check(1);
        assertFalse(longOut.passed());
        assertTrue(longOut.text().contains("exited 1 in "), longOut.text());
        assertTrue(longOut.text().contains("output: ...") && longOut.text().endsWith("line2999"), longOut.text());
        assertFalse(longOut.text().contains("line0 "), "only the tail is kept");
        // the last 4096 bytes, each newline shown as " | "
        assertTrue(longOut.text().length() < CommandCheck.KEPT_BYTES * 3 / 2 + 200,
                "bounded: " + longOut.text().length());
    }

    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (Exception e) {
            return true;
        }
    }
}
