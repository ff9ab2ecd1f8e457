package io.obplay.run.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The waiting loop alone, with a check that answers from a list (the checks themselves have their own tests). */
@Timeout(60)
class GateWaiterTest {

    private static CommandGate gate(GateTiming timing) {
        return CommandGate.of(List.of("true"), timing);
    }

    @Test
    void pausesBeforeTheFirstCheckThenChecksUntilOnePasses() throws Exception {
        long t0 = System.nanoTime();
        AtomicLong firstAt = new AtomicLong();
        GateCheck check = attempt -> {
            if (attempt == 1) {
                firstAt.set(System.nanoTime() - t0);
            }
            return attempt < 3 ? Observation.notYet(attempt, "seen " + attempt) : Observation.pass(attempt, "ok");
        };
        List<String> log = new ArrayList<>();
        GateTiming timing = new GateTiming(Duration.ofMillis(700), Duration.ofMillis(100), Duration.ofSeconds(10));
        GateResult r = new GateWaiter().await(gate(timing), check, log::add);
        assertTrue(r.passed());
        assertNull(r.reason());
        assertEquals(3, r.observations().size());
        assertTrue(firstAt.get() >= 700_000_000L, "first check after the pause: " + firstAt.get());
        assertTrue(log.get(0).startsWith("gate 4: waiting for exit 0 from true (pause 0.7s, a check every 0.1s,"
                + " timeout 10s)"), log.toString());
        assertEquals("pausing 0.7s before the first check", log.get(1));
        assertEquals("check 1: not yet: seen 1", log.get(2));
        assertEquals("check 2: not yet: seen 2", log.get(3));
        assertEquals("check 3: passed: ok", log.get(4));
        assertTrue(log.get(5).startsWith("gate passed after 3 checks in "), log.toString());
    }

    @Test
    void timesOutWithTheLastObservationAsTheReasonAfterALastCheckAtTheDeadline() throws Exception {
        long t0 = System.nanoTime();
        AtomicLong lastAt = new AtomicLong();
        GateCheck check = attempt -> {
            lastAt.set(System.nanoTime() - t0);
            return Observation.notYet(attempt, "still " + attempt);
        };
        List<String> log = new ArrayList<>();
        GateTiming timing = new GateTiming(Duration.ZERO, Duration.ofMillis(400), Duration.ofMillis(1000));
        GateResult r = new GateWaiter().await(gate(timing), check, log::add);
        assertEquals(GateResult.Outcome.TIMED_OUT, r.outcome());
        int n = r.observations().size();
        // checks at 0, 0.4, 0.8 and the deadline 1.0 (3 if this machine is so busy that the loop drifts)
        assertTrue(n == 4 || n == 3, "checks: " + r.observations());
        assertEquals("timed out after 1s (" + n + " checks); last: still " + n, r.reason());
        assertTrue(lastAt.get() >= 1_000_000_000L, "the last check is at the deadline");
        assertEquals("gate failed: " + r.reason(), log.get(log.size() - 1));
    }

    @Test
    void aCancelEndsTheWaitDuringThePauseOrBetweenChecks() throws Exception {
        AtomicBoolean cancel = new AtomicBoolean();
        GateTiming timing = new GateTiming(Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(30));
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException ignored) {
                // ends the test thread's wait only
            }
            cancel.set(true);
        });
        t.start();
        long t0 = System.nanoTime();
        GateResult r = new GateWaiter(cancel::get).await(gate(timing),
                attempt -> Observation.notYet(attempt, "x"), GateLog.NONE);
        assertEquals(GateResult.Outcome.CANCELLED, r.outcome());
        assertEquals("cancelled before the first check", r.reason());
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "ends within 100 ms of the cancel");

        cancel.set(false);
        GateTiming quick = new GateTiming(Duration.ZERO, Duration.ofSeconds(5), Duration.ofSeconds(30));
        GateResult r2 = new GateWaiter(cancel::get).await(gate(quick), attempt -> {
            cancel.set(true);
            return Observation.notYet(attempt, "seen once");
        }, GateLog.NONE);
        assertEquals("cancelled; last: seen once", r2.reason());
    }

    @Test
    void badTimingsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new GateTiming(Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofSeconds(10)));
        assertEquals("pause PT10S leaves no time of the timeout PT10S", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new GateTiming(Duration.ZERO, Duration.ZERO, Duration.ofSeconds(10)));
        assertThrows(IllegalArgumentException.class,
                () -> new GateTiming(Duration.ZERO, Duration.ofSeconds(1), Duration.ZERO));
    }
}
