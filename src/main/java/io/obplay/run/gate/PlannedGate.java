package io.obplay.run.gate;

import io.obplay.plan.GatePlan;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Runs a gate node's checks ({@link GatePlan}): the pause once, then level 2 (every observer's obshell status),
 * level 3 (SQL), level 4 (the command), each until it passes, all within the one timeout. The first level that does
 * not pass ends the wait: its reason is the gate's.
 */
public final class PlannedGate {
    private final GatePlan plan;
    private final Map<String, String> env;

    /** With the SQL credentials from {@code System.getenv()}. */
    public PlannedGate(GatePlan plan) {
        this(plan, System.getenv());
    }

    /** @param env where the SQL gate's user and password are read ({@link SqlCredentials}) */
    public PlannedGate(GatePlan plan, Map<String, String> env) {
        this.plan = plan;
        this.env = Map.copyOf(env);
    }

    /**
     * Makes every check of every gate of {@code dag} once, before anything runs: a SQL gate without a password
     * ({@link SqlCredentials.MissingException}) or a gate that cannot be made is refused here, so that a rolling
     * restart does not stop its first zone only to find its gate cannot be checked.
     *
     * @throws IllegalStateException naming the gate and why
     */
    public static void checkAll(io.obplay.plan.Dag dag, Map<String, String> env) {
        for (io.obplay.plan.Node n : dag.nodes()) {
            GatePlan g = io.obplay.plan.NodeData.gateOf(n.additionalData());
            if (g == null) {
                continue;
            }
            try {
                for (Gate gate : new PlannedGate(g).gates(Duration.ZERO, Duration.ofMillis(Math.max(1, g.timeoutMillis())))) {
                    GateChecks.of(gate, env);
                }
            } catch (RuntimeException e) {
                throw new IllegalStateException(n.name() + " (" + g.where() + ") cannot be checked: " + e.getMessage(), e);
            }
        }
    }

    /** The gates in the order they are waited for, each with the time left when it is its turn. */
    List<Gate> gates(Duration pause, Duration timeout) {
        List<Gate> out = new ArrayList<>();
        GateTiming t = timing(pause, timeout);
        for (String agent : plan.obshell()) {
            Map.Entry<String, Integer> hp = GatePlan.split(agent);
            out.add(ObshellStatusGate.of(hp.getKey(), hp.getValue(), t));
        }
        if (!plan.sql().isEmpty()) {
            out.add(sqlGate(plan, t));
        }
        if (!plan.command().isEmpty()) {
            out.add(CommandGate.of(plan.command(), t));
        }
        return out;
    }

    /** The level 3 gate of {@code plan}: its endpoints in order, its zone, the servers it expects. */
    static SqlGate sqlGate(GatePlan plan, GateTiming timing) {
        List<SqlGate.Endpoint> endpoints = new ArrayList<>();
        for (String e : plan.sql()) {
            Map.Entry<String, Integer> hp = GatePlan.split(e);
            endpoints.add(new SqlGate.Endpoint(hp.getKey(), hp.getValue()));
        }
        return SqlGate.of(endpoints, plan.sqlZone(), plan.expected(), timing);
    }

    private GateTiming timing(Duration pause, Duration timeout) {
        Duration interval = Duration.ofMillis(Math.max(1, plan.intervalMillis()));
        Duration t = timeout.isNegative() || timeout.isZero() ? Duration.ofMillis(1) : timeout;
        return new GateTiming(pause.compareTo(t) >= 0 ? Duration.ZERO : pause, interval, t);
    }

    /** Waits for every level in turn; the result of the last level waited for (a pause-only gate: passed). */
    public GateResult await(BooleanSupplier cancelled, GateLog log) throws InterruptedException {
        long start = System.nanoTime();
        Duration timeout = Duration.ofMillis(plan.timeoutMillis());
        Duration pause = Duration.ofMillis(plan.pauseMillis());
        for (String line : plan.lines()) {
            log.line(line);
        }
        GateWaiter waiter = new GateWaiter(cancelled);
        List<Gate> levels = gates(pause, timeout);
        if (levels.isEmpty()) {
            log.line("pausing " + GateWaiter.text(pause) + " for the cluster to settle");
            long until = start + pause.toNanos();
            while (System.nanoTime() < until) {
                if (cancelled.getAsBoolean()) {
                    return new GateResult(GateResult.Outcome.CANCELLED, "cancelled during the pause", List.of(),
                            Duration.ofNanos(System.nanoTime() - start));
                }
                Thread.sleep(Math.max(1, Math.min(100, (until - System.nanoTime()) / 1_000_000)));
            }
            return new GateResult(GateResult.Outcome.PASSED, null, List.of(), Duration.ofNanos(System.nanoTime() - start));
        }
        List<Observation> all = new ArrayList<>();
        for (int i = 0; i < levels.size(); i++) {
            Duration left = timeout.minusNanos(System.nanoTime() - start);
            // each level is made again with the time left: the timeout is the whole gate's, the pause comes once
            Gate g = gates(i == 0 ? pause : Duration.ZERO, left).get(i);
            GateResult r = waiter.await(g, GateChecks.of(g, env), log);
            all.addAll(r.observations());
            if (!r.passed()) {
                return new GateResult(r.outcome(), "level " + g.level().number() + " (" + g.describe() + "): "
                        + r.reason(), all, Duration.ofNanos(System.nanoTime() - start));
            }
        }
        return new GateResult(GateResult.Outcome.PASSED, null, all, Duration.ofNanos(System.nanoTime() - start));
    }
}
