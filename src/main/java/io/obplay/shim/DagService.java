package io.obplay.shim;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.Server;
import io.obplay.playbook.Playbook;
import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.PlanOptions;
import io.obplay.plan.Planner;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;
import io.obplay.run.DagControl;
import io.obplay.run.Executor;
import io.obplay.run.RunListener;
import io.obplay.run.RunOptions;
import io.obplay.run.Transport;
import io.obplay.run.transport.Transports;
import io.obplay.store.Refusal;
import io.obplay.store.Refused;
import io.obplay.store.Store;
import io.obplay.store.UnderMaintenanceException;

import java.io.PrintStream;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The DAGs of the shim: creates them (taking the maintenance lock atomically, passing a holder named in
 * {@code forcePassDag}), runs them on background threads with obplay's {@link Executor}, and applies obshell's
 * operators. The store is the one {@code obplay dag} reads: a DAG made here shows there, and one made by
 * {@code obplay run} can be followed and operated here.
 *
 * <p>Life of a DAG here: created READY/RUN (the response), then an executor thread takes it (RUNNING, stage
 * after stage) to SUCCEED or FAILED. With {@code --dry-run} no executor is started: DAGs stay READY and no host
 * is touched. A DAG whose process died while it ran (this server killed, a crashed {@code obplay run}), or before
 * it started it (READY, owned by a dead process), is marked FAILED with a log line saying so by
 * {@link DagControl#reconcile}, when this server starts and whenever the DAG is read; RETRY then re-runs what did
 * not succeed.
 *
 * <p>Every operator is one store transition ({@link io.obplay.store.Store#transition}), so against another obplay
 * process acting on the same DAG exactly one wins and the other is refused with a typed
 * {@link io.obplay.store.Refusal} ({@link Errors#refused} gives obshell's code). In this process they are also
 * serialized ({@link #ops}), so that a RETRY and the start of its executor go together.
 */
final class DagService implements AutoCloseable {
    /** How long a forcePassDag waits for a running holder to end after its cancel. */
    static final Duration CANCEL_WAIT = Duration.ofSeconds(60);

    private final Store store;
    private final Inventory inv;
    private final DagControl control;
    private final String agentIp;
    private final int agentPort;
    private final boolean dryRun;
    private final PrintStream log;
    private final Map<String, Server> servers = new LinkedHashMap<>();
    private final Map<Long, Executor> running = new ConcurrentHashMap<>();
    private final ExecutorService pool;
    private final Object ops = new Object();

    DagService(Store store, Inventory inv, String agentIp, int agentPort, boolean dryRun, int maxRunning, PrintStream log) {
        this.store = store;
        this.inv = inv;
        this.control = new DagControl(store);
        this.agentIp = agentIp;
        this.agentPort = agentPort;
        this.dryRun = dryRun;
        this.log = log;
        inv.servers().forEach(s -> servers.put(s.name(), s));
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(maxRunning, maxRunning, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "obplay-serve-dag-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        if (store.leases() && !dryRun) {
            takeovers = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "obplay-serve-takeover");
                t.setDaemon(true);
                return t;
            });
            long every = Math.max(200, store.leaseLength().toMillis() / 3);
            store.heartbeat(control.me());
            takeovers.scheduleWithFixedDelay(this::takeOverExpired, every, every, TimeUnit.MILLISECONDS);
            takeovers.scheduleWithFixedDelay(this::helpRunningStages, HELP_POLL_MS, HELP_POLL_MS, TimeUnit.MILLISECONDS);
            // the presence on a thread of its own: the loops above may wait on the store for long (a full DAG read
            // while a stage writes), and a live instance whose presence ran out meanwhile would lose its claims
            presence = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "obplay-serve-presence");
                t.setDaemon(true);
                return t;
            });
            presence.scheduleWithFixedDelay(this::heartbeat, HELP_POLL_MS, HELP_POLL_MS, TimeUnit.MILLISECONDS);
        } else {
            takeovers = null;
            presence = null;
        }
    }

    /** How often an instance on a shared store looks for stages of other instances' DAGs to help with. */
    static final long HELP_POLL_MS = 500;
    /** The stage each DAG being helped here is at, by DAG id (a helper runs one stage of one DAG at a time). */
    private final Map<Long, Long> helping = new ConcurrentHashMap<>();
    private final Map<Long, Executor> helpers = new ConcurrentHashMap<>();
    /** Per DAG id: the node of the stage last looked at, and whether this inventory has every server of the DAG. */
    private final Map<Long, long[]> stageSeen = new ConcurrentHashMap<>();

    /**
     * On a shared store (the instance's presence is renewed apart, by {@link #heartbeat}): for every RUNNING DAG another instance owns whose
     * servers this inventory has, claims and runs sub-tasks of its running stage ({@link Executor#help}) with this
     * instance's own transport (its own SSH sessions), on a thread of its own per DAG.
     */
    private void helpRunningStages() {
        try {
            java.util.Set<Long> unfinished = new java.util.HashSet<>();
            for (Dag d : store.unfinished()) {
                long id = d.dagId();
                unfinished.add(id);
                if (d.state() != State.RUNNING || d.operator() == Operator.CANCEL || driving(id) || helping.containsKey(id)
                        || pool.isShutdown()) {
                    continue;
                }
                long[] seen = stageSeen.get(id);
                if (seen == null || seen[0] != d.stage()) {
                    Optional<Dag> full = store.dag(id);
                    if (full.isEmpty() || d.stage() < 1 || d.stage() > full.get().nodes().size()) {
                        continue;
                    }
                    boolean ours = servers.keySet().containsAll(Executor.serverNames(full.get()));
                    seen = new long[] {d.stage(), full.get().nodes().get(d.stage() - 1).nodeId(), ours ? 1 : 0};
                    stageSeen.put(id, seen);
                }
                if (seen[2] == 0) {
                    continue; // names a server this inventory lacks: left to the instances that have it
                }
                long nodeId = seen[1];
                Transport transport = Transports.forKind(inv.transport());
                Executor ex = new Executor(store, transport, servers, helperListener(d));
                helping.put(id, nodeId);
                helpers.put(id, ex);
                Thread t = new Thread(() -> {
                    try {
                        int n = ex.help(id, nodeId, RunOptions.defaults());
                        if (n > 0) {
                            log.println("obplay serve: DAG " + d.id() + " stage " + d.stage() + ": ran " + n
                                    + " sub-task(s) claimed here (the DAG is obplay " + store.owner(id).orElse("nobody") + "'s)");
                        }
                    } catch (RuntimeException e) {
                        log.println("obplay serve: helping with DAG " + d.id() + ": " + e.getMessage());
                    } finally {
                        helpers.remove(id, ex);
                        helping.remove(id, nodeId);
                        try {
                            transport.close();
                        } catch (Exception e) {
                            log.println("obplay serve: closing the transport of DAG " + id + ": " + e);
                        }
                    }
                }, "obplay-serve-help-" + id);
                t.setDaemon(true);
                t.start();
            }
            stageSeen.keySet().retainAll(unfinished);
        } catch (RuntimeException e) {
            log.println("obplay serve: looking for stages to help with: " + e.getMessage());
        }
    }

    private RunListener helperListener(Dag dag) {
        return new RunListener() {
            @Override
            public void writeRefused(Dag d, SubTask task, String why) {
                refused(dag, task, why);
            }
        };
    }

    private void refused(Dag dag, SubTask task, String why) {
        log.println("obplay serve: DAG " + dag.id() + ": the store refused this instance's write"
                + (task == null ? "" : " of sub-task " + task.id() + " (" + task.state() + ")") + ": " + why);
    }

    /** On a store shared by instances: looks for DAGs whose lease ran out, every third of the lease. */
    private final java.util.concurrent.ScheduledExecutorService takeovers;
    private final java.util.concurrent.ScheduledExecutorService presence;

    private void heartbeat() {
        try {
            store.heartbeat(control.me());
        } catch (RuntimeException e) {
            log.println("obplay serve: cannot record this instance's presence in the store: " + e.getMessage());
        }
    }

    /**
     * Takes over, and runs, every DAG of the shared store whose owner's lease ran out (its instance was killed or its
     * machine is gone) and whose servers this instance's inventory has; one that names a server this inventory lacks is
     * left to an instance that has it.
     */
    private void takeOverExpired() {
        try {
            for (long id : store.expiredLeases()) {
                if (driving(id) || pool.isShutdown()) {
                    continue;
                }
                Optional<Dag> head = store.dag(id);
                if (head.isEmpty() || !servers.keySet().containsAll(Executor.serverNames(head.get()))) {
                    continue;
                }
                try {
                    Optional<Dag> taken = control.takeOver(id);
                    if (taken.isPresent()) {
                        log.println("obplay serve: took over DAG " + taken.get().id() + " (" + taken.get().name()
                                + "): its owner's lease ran out; running it on from stage " + taken.get().stage());
                        start(id);
                    }
                } catch (Refused r) {
                    // finished meanwhile
                }
            }
        } catch (RuntimeException e) {
            log.println("obplay serve: looking for DAGs to take over: " + e.getMessage());
        }
    }

    Store store() {
        return store;
    }

    boolean dryRun() {
        return dryRun;
    }

    String agentAddress() {
        return agentIp + ":" + agentPort;
    }

    /**
     * At start: every DAG left RUNNING, or READY and never started, by a process that is gone is marked FAILED
     * (and so no longer holds the maintenance lock as an unfinished DAG). Returns how many.
     */
    int reconcileAll() {
        int n = 0;
        for (Dag d : store.unfinished()) {
            if (d.state() == State.RUNNING || d.state() == State.READY || d.state() == State.PENDING) {
                String owner = store.owner(d.dagId()).orElse(null);
                Optional<Dag> now = control.reconcile(d.dagId());
                if (now.isPresent() && now.get().state() == State.FAILED) {
                    n++;
                    log.println(d.state() == State.RUNNING
                            ? "obplay serve: DAG " + d.id() + " (" + d.name() + ") was running when its obplay process stopped:"
                            + " marked FAILED; RETRY re-runs what did not succeed"
                            : "obplay serve: DAG " + d.id() + " (" + d.name() + ") was " + d.state() + ", never started, when its"
                            + " obplay process" + (owner == null ? "" : " (" + owner + ")") + " stopped: marked FAILED (nothing of it"
                            + " ran); RETRY runs it, PASS drops it (and releases the maintenance lock)");
                }
            }
        }
        return n;
    }

    // -------------------------------------------------------------------------------------------------- create

    /**
     * Plans the playbook and stores it as a new DAG, taking the maintenance lock; starts it unless dry-run.
     * When another maintenance DAG holds the lock: if {@code forcePassDag} names it, it is cancelled (when
     * unfinished) and passed, and the lock taken again; otherwise 500 {@code Agent.UnderMaintenanceDag} naming it.
     */
    Dag create(Playbook pb, List<String> forcePassDag, Map<String, Object> shimData) throws ApiException {
        Dag planned;
        try {
            planned = Planner.plan(inv, pb, new PlanOptions(List.of(), List.of(), List.of(), agentIp, agentPort)).dag();
        } catch (Planner.PlanException | RuntimeException e) {
            throw Errors.unexpected("cannot plan " + pb.name() + ": " + e.getMessage());
        }
        Map<String, Object> shim = new LinkedHashMap<>(shimData);
        shim.put("dry_run", dryRun);
        Map<String, Object> data = io.obplay.plan.DagData.of(planned.additionalData()).withExtra(io.obplay.plan.DagData.SHIM, shim).toMap();
        planned = new Dag(planned.id(), planned.dagId(), planned.name(), planned.stage(), planned.maxStage(),
                planned.maintenanceType(), planned.maintenanceKey(), planned.state(), planned.operator(),
                planned.startTime(), planned.endTime(), data, planned.nodes());
        synchronized (ops) {
            List<String> passed = new ArrayList<>();
            while (true) {
                try {
                    Dag d = control.create(planned, agentIp, agentPort);
                    log.println("obplay serve: DAG " + d.id() + " (" + d.name() + ") created" + (dryRun ? " (dry run: not started)" : "")
                            + (passed.isEmpty() ? "" : " after passing " + String.join(", ", passed)));
                    start(d.dagId());
                    return d;
                } catch (UnderMaintenanceException e) {
                    Dag holder = e.holder();
                    if (!forcePassDag.contains(holder.id()) || passed.contains(holder.id())) {
                        throw Errors.underMaintenanceDag(agentAddress(), holder.id(), holder.name());
                    }
                    forcePass(holder);
                    passed.add(holder.id());
                }
            }
        }
    }

    /** forcePassDag: an unfinished holder is cancelled (and waited for), then the FAILED holder is passed. */
    private void forcePass(Dag holder) throws ApiException {
        long id = holder.dagId();
        Dag d = control.reconcile(id).orElseThrow(() -> Errors.taskNotFound("DAG " + holder.id()));
        if (!d.state().finished()) {
            Executor ex = running.get(id);
            if (ex != null) {
                ex.cancel();
                awaitEnd(ex, id);
            } else {
                try {
                    control.cancel(id);
                } catch (Refused r) {
                    throw Errors.refused(r);
                }
                waitFinished(id);
            }
            d = store.dag(id).orElseThrow();
        }
        if (d.state() == State.FAILED) {
            try {
                control.pass(id);
            } catch (Refused r) {
                throw Errors.refused(r);
            }
            log.println("obplay serve: DAG " + d.id() + " (" + d.name() + ") passed by forcePassDag");
        }
    }

    private void awaitEnd(Executor ex, long id) throws ApiException {
        try {
            if (!ex.awaitDone(CANCEL_WAIT)) {
                throw Errors.unexpected("DAG " + id + " did not end within " + CANCEL_WAIT.toSeconds() + "s of its cancel");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Errors.unexpected("interrupted while waiting for DAG " + id + " to end");
        }
    }

    /** Waits until a DAG driven by another process ends (its cancel watcher sees the CANCEL). */
    private void waitFinished(long id) throws ApiException {
        long until = System.nanoTime() + CANCEL_WAIT.toNanos();
        while (System.nanoTime() < until) {
            Optional<Dag> d = control.reconcile(id);
            if (d.isEmpty() || d.get().state().finished()) {
                return;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw Errors.unexpected("DAG " + id + " did not end within " + CANCEL_WAIT.toSeconds() + "s of its cancel");
    }

    // -------------------------------------------------------------------------------------------------- run

    /** Runs the DAG on a background thread (not in dry-run mode). */
    private void start(long dagId) {
        if (dryRun) {
            return;
        }
        Transport transport = Transports.forKind(inv.transport());
        Executor ex = new Executor(store, transport, servers, listener());
        running.put(dagId, ex);
        try {
            pool.submit(() -> {
                try {
                    ex.run(dagId, RunOptions.defaults());
                } catch (RuntimeException | Error e) {
                    log.println("obplay serve: DAG " + dagId + " stopped on an internal error: " + e);
                    try {
                        store.setOwner(dagId, null);
                        control.reconcile(dagId);
                    } catch (RuntimeException again) {
                        log.println("obplay serve: cannot record the end of DAG " + dagId + ": " + again);
                    }
                } finally {
                    running.remove(dagId, ex); // not a newer executor a RETRY started meanwhile
                    try {
                        transport.close();
                    } catch (Exception e) {
                        log.println("obplay serve: closing the transport of DAG " + dagId + ": " + e);
                    }
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            running.remove(dagId, ex);
            try {
                transport.close();
            } catch (Exception ignored) {
                // nothing was opened
            }
            log.println("obplay serve: DAG " + dagId + " not started: the server is stopping; RETRY it later");
        }
    }

    private RunListener listener() {
        return new RunListener() {
            @Override
            public void dagStarted(Dag dag) {
                log.println("obplay serve: DAG " + dag.id() + " (" + dag.name() + ") running, " + dag.maxStage() + " stage(s)");
            }

            @Override
            public void stageFinished(Dag dag, int stage, Node node) {
                log.println("obplay serve: DAG " + dag.id() + " stage " + stage + "/" + dag.maxStage() + " '" + node.name()
                        + "' " + node.state());
            }

            @Override
            public void dagFinished(Dag dag) {
                log.println("obplay serve: DAG " + dag.id() + " (" + dag.name() + ") " + dag.state() + " (operator " + dag.operator() + ")");
            }

            @Override
            public void writeRefused(Dag dag, SubTask task, String why) {
                log.println("obplay serve: the store refused this instance's write"
                        + (task == null ? "" : " of sub-task " + task.id() + " (" + task.state() + ")") + ": " + why);
            }
        };
    }

    /** True while an executor of this server drives (or is about to drive) the DAG. */
    boolean driving(long dagId) {
        return running.containsKey(dagId);
    }

    // -------------------------------------------------------------------------------------------------- read

    /** The DAG as it is now (a DAG left RUNNING by a dead process is marked FAILED first). */
    Optional<Dag> dag(long dagId) {
        return control.reconcile(dagId);
    }

    // -------------------------------------------------------------------------------------------------- operators

    /** obshell's DAG operators: RETRY, ROLLBACK, CANCEL, PASS (case-insensitive). */
    void operate(long dagId, String operator) throws ApiException {
        String op = operator.toUpperCase(Locale.ROOT);
        synchronized (ops) {
            try {
                switch (op) {
                    case "RETRY" -> {
                        control.retry(dagId);
                        log.println("obplay serve: DAG " + dagId + " RETRY" + (dryRun ? " (dry run: not started)" : ""));
                        start(dagId);
                    }
                    case "PASS" -> {
                        control.pass(dagId);
                        log.println("obplay serve: DAG " + dagId + " PASS");
                    }
                    case "ROLLBACK" -> control.rollback(dagId);
                    case "CANCEL" -> cancel(dagId);
                    default -> throw Errors.dagOperatorNotSupport(operator);
                }
            } catch (Refused r) {
                throw Errors.refused(r);
            }
        }
    }

    private void cancel(long dagId) throws Refused {
        Dag d = control.reconcile(dagId).orElseThrow(() -> new Refused(Refusal.NO_SUCH_DAG, "no DAG " + dagId));
        Executor ex = running.get(dagId);
        if (ex != null && !d.state().finished()) {
            ex.cancel(); // the executor ends its scripts and records FAILED with operator CANCEL
            log.println("obplay serve: DAG " + dagId + " CANCEL: ending its running scripts");
            return;
        }
        // not driven here: a READY or FAILED DAG is marked FAILED/CANCEL now; one driven by another obplay
        // process gets the operator recorded, and that process ends it
        control.cancel(dagId);
        log.println("obplay serve: DAG " + dagId + " CANCEL");
    }

    /**
     * obshell's node PASS: the node must be FAILED in a FAILED DAG; its unfinished sub-tasks SUCCEED with
     * operator PASS, the node SUCCEEDs with operator PASS, and the DAG runs on from the next stage (operator RUN).
     */
    void passNode(long nodeId) throws ApiException {
        synchronized (ops) {
            Dag dag;
            try {
                dag = control.passNode(nodeId);
            } catch (Refused r) {
                throw Errors.refused(r);
            }
            log.println("obplay serve: node " + nodeId + " of DAG " + dag.id() + " PASS; the DAG runs on"
                    + (dryRun ? " (dry run: not started)" : ""));
            start(dag.dagId());
        }
    }

    // -------------------------------------------------------------------------------------------------- stop

    /**
     * Stops taking DAGs; lets running ones finish until {@code deadline} (System.nanoTime), then cancels what still
     * runs and waits (up to 30 s) for each to record its end (FAILED, operator CANCEL: RETRY it after a restart).
     */
    void shutdown(long deadline) {
        if (presence != null) {
            presence.shutdownNow();
        }
        if (takeovers != null) {
            takeovers.shutdownNow();
        }
        helpers.values().forEach(Executor::cancel);
        pool.shutdown();
        try {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                pool.awaitTermination(left, TimeUnit.NANOSECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Map.Entry<Long, Executor> e : new ArrayList<>(running.entrySet())) {
            log.println("obplay serve: stopping: cancelling DAG " + e.getKey() + " (RETRY it once the server is back)");
            e.getValue().cancel();
        }
        for (Map.Entry<Long, Executor> e : new ArrayList<>(running.entrySet())) {
            try {
                if (!e.getValue().awaitDone(Duration.ofSeconds(30))) {
                    log.println("obplay serve: DAG " + e.getKey() + " did not record its end within 30s");
                }
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        pool.shutdownNow();
    }

    @Override
    public void close() {
        shutdown(System.nanoTime());
    }

}
