package io.obplay.run.gate;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;

/**
 * The waiting loop of a gate: the pause, then a check every {@link GateTiming#interval()} until one passes or the
 * timeout runs out; a last check is made at the deadline. Each observation goes to the {@link GateLog} as it is
 * made; a failed wait's reason is the last observation. A cancel (checked at least every 100 ms while waiting)
 * ends the wait at once.
 */
public final class GateWaiter {
    private static final long SLICE_NANOS = 100_000_000L;

    private final BooleanSupplier cancelled;

    /** @param cancelled obshell's {@code IsCancel()}: true once the run is being cancelled */
    public GateWaiter(BooleanSupplier cancelled) {
        this.cancelled = cancelled;
    }

    public GateWaiter() {
        this(() -> false);
    }

    /** Waits for {@code gate} with the check {@link GateChecks#of(Gate)} makes for it. */
    public GateResult await(Gate gate, GateLog log) throws InterruptedException {
        return await(gate, GateChecks.of(gate), log);
    }

    public GateResult await(Gate gate, GateCheck check, GateLog log) throws InterruptedException {
        GateTiming t = gate.timing();
        long start = System.nanoTime();
        long deadline = start + t.timeout().toNanos();
        List<Observation> seen = new ArrayList<>();
        log.line("gate " + gate.level().number() + ": waiting for " + gate.describe() + " (pause " + text(t.pause())
                + ", a check every " + text(t.interval()) + ", timeout " + text(t.timeout()) + ")");
        if (!t.pause().isZero()) {
            log.line("pausing " + text(t.pause()) + " before the first check");
            if (!sleepUntil(start + t.pause().toNanos())) {
                return cancelled(log, seen, start);
            }
        }
        for (int attempt = 1; ; attempt++) {
            if (cancelled.getAsBoolean()) {
                return cancelled(log, seen, start);
            }
            Observation o = check.check(attempt);
            seen.add(o);
            log.observed(o);
            long now = System.nanoTime();
            if (o.passed()) {
                log.line("gate passed after " + attempt + (attempt == 1 ? " check" : " checks") + " in "
                        + text(Duration.ofNanos(now - start)));
                return new GateResult(GateResult.Outcome.PASSED, null, seen, Duration.ofNanos(now - start));
            }
            if (now >= deadline) {
                String reason = "timed out after " + text(t.timeout()) + " (" + attempt
                        + (attempt == 1 ? " check" : " checks") + "); last: " + o.text();
                log.line("gate failed: " + reason);
                return new GateResult(GateResult.Outcome.TIMED_OUT, reason, seen, Duration.ofNanos(now - start));
            }
            if (!sleepUntil(Math.min(now + t.interval().toNanos(), deadline))) {
                return cancelled(log, seen, start);
            }
        }
    }

    private GateResult cancelled(GateLog log, List<Observation> seen, long start) {
        String reason = "cancelled" + (seen.isEmpty() ? " before the first check"
                : "; last: " + seen.get(seen.size() - 1).text());
        log.line("gate " + reason);
        return new GateResult(GateResult.Outcome.CANCELLED, reason, seen, Duration.ofNanos(System.nanoTime() - start));
    }

    /** Sleeps until {@code until} (System.nanoTime); false if cancelled meanwhile. */
    private boolean sleepUntil(long until) throws InterruptedException {
        while (true) {
            if (cancelled.getAsBoolean()) {
                return false;
            }
            long left = until - System.nanoTime();
            if (left <= 0) {
                return true;
            }
            long nanos = Math.min(left, SLICE_NANOS);
            Thread.sleep(nanos / 1_000_000L, (int) (nanos % 1_000_000L));
        }
    }

    /** {@code 0s}, {@code 1.5s}, {@code 2m30s}. */
    static String text(Duration d) {
        long ms = d.toMillis();
        if (ms < 60_000) {
            return ms % 1000 == 0 ? ms / 1000 + "s" : String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
        }
        long s = d.toSeconds();
        return s / 60 + "m" + (s % 60 == 0 ? "" : s % 60 + "s");
    }
}
