package io.obplay.run;

import io.obplay.inventory.Server;
import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.TaskData;
import io.obplay.plan.Times;
import io.obplay.store.Refusal;
import io.obplay.store.Refused;
import io.obplay.store.Store;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs a stored DAG: stage after stage; within a stage, sub-tasks in parallel up to {@code forks}, each one
 * script in one channel on its host. Every state change is written to the store as it happens, so a killed
 * obplay leaves a record that says exactly what ran. Sub-tasks that already SUCCEEDed are not run again,
 * which is what makes {@code dag retry} re-run only the failed and never-run ones.
 *
 * <p>On a store shared by instances ({@link Store#leases()}) the sub-tasks of a stage are not handed to the pool
 * directly: this process (the DAG's owner) claims them from the store in batches as its workers are free
 * ({@link Store#claim}), and so may every other live {@code obplay serve} that has the DAG's servers
 * ({@link #help}); every sub-task write is then fenced by the claim ({@link Store#updateClaimed}), the stage ends when
 * the store has every sub-task of it finished, whoever ran it, and a host this process cannot reach is declined
 * ({@link Store#decline}): left to the others, failed once every live instance has declined it or none took it within
 * a lease.
 */
public final class Executor {
    private final Store store;
    private final Transport transport;
    private final Map<String, Server> servers;
    private final RunListener listener;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    /** Another instance took the DAG over (this process's lease ran out): nothing more is recorded by this one. */
    private final AtomicBoolean leaseLost = new AtomicBoolean();
    /** This process as recorded as the DAG's owner; named in each sub-task's first log line. */
    private volatile String me = Owner.me();
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile ExecutorService pool;
    /** Servers that failed or were unreachable in this run, with why: their later sub-tasks are not run. */
    private final Map<String, String> failedServers = new ConcurrentHashMap<>();
    /** Hosts found unreachable in this run (as user@host:port), with the reason. */
    private final Map<String, String> unreachableHosts = new ConcurrentHashMap<>();
    /** The DAG's additional data, which holds the script libraries its sub-tasks call. */
    private volatile Map<String, Object> dagData;
    /** Sub-tasks are claimed from the store, by this and other instances (a store shared by instances). */
    private final boolean spread;
    /** Sub-tasks this process declined in the current stage (it cannot reach their hosts), with the reason. */
    private final Map<Long, String> declinedHere = new ConcurrentHashMap<>();
    /** How often a claiming loop that has nothing to claim looks at the store again. */
    static final long CLAIM_POLL_MS = 200;

    /**
     * @param servers every server the DAG may name, by {@link Server#name()}
     */
    public Executor(Store store, Transport transport, Map<String, Server> servers, RunListener listener) {
        this.store = store;
        this.transport = transport;
        this.servers = servers;
        this.listener = listener;
        this.spread = store.leases();
    }

    /** Ends the run as soon as possible: running scripts are ended, the DAG is recorded FAILED with operator CANCEL. */
    public void cancel() {
        cancelled.set(true);
        ExecutorService p = pool;
        if (p != null) {
            p.shutdownNow();
        }
    }

    /** Waits until {@link #run} has recorded its end (after a {@link #cancel()}). */
    public boolean awaitDone(Duration d) throws InterruptedException {
        return done.await(d.toMillis(), TimeUnit.MILLISECONDS);
    }

    public boolean wasCancelled() {
        return cancelled.get();
    }

    /** Hosts found unreachable, with the reason. */
    public Map<String, String> unreachableHosts() {
        return Collections.unmodifiableMap(unreachableHosts);
    }

    /** Runs the DAG from its first unfinished stage to the end, or until a stage fails it. */
    public Dag run(long dagId, RunOptions options) {
        try {
            return runStages(dagId, options);
        } finally {
            done.countDown();
        }
    }

    private Dag runStages(long dagId, RunOptions options) {
        DagControl control = new DagControl(store);
        Dag dag;
        try {
            dag = control.start(dagId); // READY -> RUNNING, owned by this process, in one transaction
        } catch (Refused r) {
            if (r.refusal() == Refusal.NO_SUCH_DAG) {
                throw new IllegalArgumentException("no DAG " + dagId);
            }
            Dag as = store.dag(dagId).orElseThrow(() -> new IllegalArgumentException("no DAG " + dagId));
            listener.dagFinished(as);  // cancelled, passed or taken meanwhile: nothing is run
            return as;
        }
        dagData = dag.additionalData();
        me = control.me();
        java.util.concurrent.ScheduledExecutorService renewer = null;
        if (store.leases()) {
            store.heartbeat(me);
            renewer = renewLease(dagId);
        }
        try {
            return runStarted(dagId, options, control, dag);
        } catch (DagControl.DagTakenException taken) {
            leaseLost.set(true); // another instance owns the DAG now: this one writes nothing more to it
            cancel();
            listener.writeRefused(dag, null, taken.getMessage());
            Dag as = store.dag(dagId).orElseThrow();
            listener.dagFinished(as);
            return as;
        } finally {
            if (renewer != null) {
                renewer.shutdownNow();
            }
        }
    }

    /**
     * On a store with leases: renews this process's lease on the DAG every third of its length. Should another
     * instance have taken the DAG over meanwhile (this process was paused longer than the lease), the run is
     * cancelled here and the DAG's end is left to the new owner.
     */
    private java.util.concurrent.ScheduledExecutorService renewLease(long dagId) {
        java.util.concurrent.ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "obplay-lease-" + dagId);
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(200, store.leaseLength().toMillis() / 3);
        s.scheduleWithFixedDelay(() -> {
            try {
                store.heartbeat(me);
                if (!store.renewLease(dagId, me)) {
                    leaseLost.set(true);
                    cancel();
                }
            } catch (RuntimeException e) {
                // the store is unreachable for now: try again; the lease runs out if it stays so
            }
        }, every, every, TimeUnit.MILLISECONDS);
        return s;
    }

    private Dag runStarted(long dagId, RunOptions options, DagControl control, Dag dag) {
        listener.dagStarted(dag);
        io.obplay.plan.DagData data = io.obplay.plan.DagData.of(dag.additionalData());
        int forks = options.forks() > 0 ? options.forks() : data.forks() != null ? data.forks() : 50;
        int maxFail = data.maxFailPercentage() != null ? data.maxFailPercentage() : 0;
        boolean failed = false;
        List<Node> nodes = dag.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            Node node = nodes.get(i);
            if (node.state() == State.SUCCEED) {
                continue;
            }
            if (cancelled.get()) {
                failed = true;
                break;
            }
            dag = dag.withState(i + 1, State.RUNNING, dag.operator(), dag.startTime(), dag.endTime());
            dag = dag.withState(i + 1, State.RUNNING, control.progress(dag, false).operator(), dag.startTime(), dag.endTime());
            if (dag.operator() == Operator.CANCEL && !cancelled.get()) {
                cancel(); // another process asked for it
                failed = true;
                break;
            }
            node = node.withState(State.RUNNING, node.operator() == Operator.PASS ? Operator.RUN : node.operator(), Times.now(), Times.UNSET);
            if (spread) {
                node = control.openStage(dagId, node);
            } else if (!leaseLost.get()) {
                store.updateNode(node);
            }
            listener.stageStarted(dag, i + 1, node);
            List<SubTask> results = spread ? runClaimed(dag, node, options, forks, control) : runNode(node, options, forks);
            int attempted = 0;
            int bad = 0;
            boolean anyNotOk = false;
            for (SubTask t : results) {
                if (t.state() == State.FAILED) {
                    bad++;
                }
                if (t.state() != State.SUCCEED) {
                    anyNotOk = true;
                }
                if (t.state() == State.FAILED || (t.state() == State.SUCCEED && t.operator() != Operator.PASS)) {
                    attempted++;
                }
            }
            boolean stageFails = cancelled.get() || (bad > 0 && bad * 100L > (long) maxFail * Math.max(1, attempted));
            node = node.withSubTasks(results).withState(anyNotOk ? State.FAILED : State.SUCCEED,
                    cancelled.get() ? Operator.CANCEL : node.operator(), node.startTime(), Times.now());
            if (spread) {
                control.closeStage(dagId, node);
            } else if (!leaseLost.get()) {
                store.updateNode(node);
            }
            listener.stageFinished(dag, i + 1, node);
            List<Node> updated = new ArrayList<>(dag.nodes());
            updated.set(i, node);
            dag = dag.withNodes(updated);
            if (anyNotOk) {
                failed = true;
            }
            if (stageFails) {
                break;
            }
        }
        dag = store.dag(dagId).orElseThrow();
        if (leaseLost.get()) {
            listener.dagFinished(dag); // another instance owns the DAG now: its end is not ours to record
            return dag;
        }
        boolean allOk = dag.nodes().stream().allMatch(n -> n.state() == State.SUCCEED);
        State end = !failed && allOk ? State.SUCCEED : State.FAILED;
        dag = dag.withState(dag.stage(), end, cancelled.get() ? Operator.CANCEL : dag.operator(), dag.startTime(), Times.now());
        control.progress(dag, true);
        dag = store.dag(dagId).orElseThrow();
        listener.dagFinished(dag);
        return dag;
    }

    /**
     * Helps run a stage of a DAG another instance owns: claims sub-tasks of the node in batches as this process's
     * workers are free and runs them, until none is left to claim (or the DAG is cancelled or finished). Servers that
     * failed in an earlier stage of the DAG are not run on, as in the owner's own run.
     *
     * @return how many sub-tasks this process ran
     */
    public int help(long dagId, long nodeId, RunOptions options) {
        try {
            Dag dag = store.dag(dagId).orElse(null);
            if (dag == null || dag.state() != State.RUNNING) {
                return 0;
            }
            dagData = dag.additionalData();
            me = new DagControl(store).me();
            store.heartbeat(me);
            Node node = null;
            for (Node n : dag.nodes()) {
                if (n.nodeId() == nodeId) {
                    node = n;
                    break;
                }
                for (SubTask t : n.subTasks()) {
                    if (t.state() == State.FAILED) {
                        failedServers.putIfAbsent(t.data().server(), t.data().server() + " failed in stage " + n.name());
                    }
                }
            }
            if (node == null) {
                return 0;
            }
            Integer planned = io.obplay.plan.DagData.of(dag.additionalData()).forks();
            int forks = options.forks() > 0 ? options.forks() : planned != null ? planned : 50;
            return claimLoop(dag, node, options, forks, null).size();
        } finally {
            done.countDown();
        }
    }

    /** The owner's run of a stage on a shared store: claims and runs, then waits for the store to have it finished. */
    private List<SubTask> runClaimed(Dag dag, Node node, RunOptions options, int forks, DagControl control) {
        declinedHere.clear();
        claimLoop(dag, node, options, forks, control);
        return store.node(node.nodeId()).orElseThrow().subTasks();
    }

    /**
     * Claims sub-tasks of the node as workers are free and runs them. With {@code control} (the DAG's owner) it goes
     * on until the store has every sub-task of the node finished, whoever ran it: it takes back the claims of dead
     * instances and fails what it declined and nobody took within a lease; without (a helper) it ends once nothing is
     * left to claim and its own sub-tasks are done.
     *
     * @return the sub-tasks this process ran, as it recorded them
     */
    private List<SubTask> claimLoop(Dag dag, Node node, RunOptions options, int forks, DagControl control) {
        int threads = Math.max(1, Math.min(forks, node.subTasks().size()));
        ExecutorService p = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "obplay-worker");
            t.setDaemon(true);
            return t;
        });
        pool = p;
        if (cancelled.get()) {
            p.shutdownNow();
        }
        java.util.concurrent.Semaphore free = new java.util.concurrent.Semaphore(threads);
        List<SubTask> ran = Collections.synchronizedList(new ArrayList<>());
        Map<Long, SubTask> inFlight = new ConcurrentHashMap<>();
        long lease = store.leaseLength().toMillis();
        long nextTakeBack = System.currentTimeMillis() + lease / 3;
        long onlyDeclinedSince = -1;
        // a fair share: at most the stage's size divided by the live instances claimed and unfinished here at a time,
        // so that instances that come in a little later still find work (one instance alone: the whole stage)
        int share = threads;
        long nextShare = 0;
        try {
            while (!cancelled.get()) {
                if (System.currentTimeMillis() >= nextShare) {
                    int live = Math.max(1, store.liveInstances().size());
                    share = Math.max(1, Math.min(threads, (node.subTasks().size() + live - 1) / live));
                    nextShare = System.currentTimeMillis() + lease / 3;
                }
                int slots = Math.min(free.availablePermits(), share - inFlight.size());
                List<SubTask> claimed = slots > 0 ? store.claim(node.nodeId(), me, slots) : List.of();
                for (SubTask t : claimed) {
                    free.acquireUninterruptibly();
                    inFlight.put(t.taskId(), t);
                    try {
                        p.submit(() -> {
                            try {
                                ran.add(runSubTask(node, t, options));
                            } finally {
                                inFlight.remove(t.taskId());
                                synchronized (free) {
                                    free.release();
                                    free.notifyAll();
                                }
                            }
                        });
                    } catch (java.util.concurrent.RejectedExecutionException e) {
                        free.release();
                        inFlight.remove(t.taskId());
                        finish(node, t, State.FAILED, Operator.CANCEL, t.startTime(), List.of("cancelled before it started"), Outcome.CANCELLED);
                    }
                }
                if (!claimed.isEmpty()) {
                    continue;
                }
                boolean busy = free.availablePermits() < threads;
                if (control == null && !busy) {
                    break; // a helper: nothing left to claim, its own sub-tasks done; the owner finishes the stage
                }
                if (control != null) {
                    long t = System.currentTimeMillis();
                    if (!busy && dagStopped(dag.dagId())) {
                        cancel(); // another process cancelled it (claims are refused then), or it is no longer RUNNING
                        break;
                    }
                    if (t >= nextTakeBack) {
                        nextTakeBack = t + lease / 3;
                        control.takeBackDeadClaims(dag.dagId(), node.nodeId(), store.liveInstances());
                    }
                    if (!busy) {
                        Node now = store.node(node.nodeId()).orElseThrow();
                        if (stageDone(now)) {
                            break;
                        }
                        boolean onlyDeclined = now.subTasks().stream().noneMatch(x -> x.state() == State.RUNNING)
                                && now.subTasks().stream().filter(x -> x.state() == State.PENDING && x.ranBy() == null)
                                .allMatch(x -> declinedHere.containsKey(x.taskId()));
                        if (!onlyDeclined) {
                            onlyDeclinedSince = -1;
                        } else if (onlyDeclinedSince < 0) {
                            onlyDeclinedSince = t;
                        } else if (t - onlyDeclinedSince >= lease) {
                            control.failDeclined(dag.dagId(), node.nodeId(), declinedHere, "no other obplay instance took it within "
                                    + store.leaseLength().toSeconds() + "s");
                            onlyDeclinedSince = -1;
                        }
                    }
                }
                synchronized (free) {
                    try {
                        free.wait(CLAIM_POLL_MS); // woken early by a worker that is done
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        cancel();
                    }
                }
            }
        } catch (DagControl.DagTakenException taken) {
            leaseLost.set(true); // this process's lease ran out and the DAG is another's: end the scripts, write nothing
            cancel();
            throw taken;
        } finally {
            p.shutdown();
            try {
                if (!p.awaitTermination(cancelled.get() ? 30 : 365, cancelled.get() ? TimeUnit.SECONDS : TimeUnit.DAYS)) {
                    p.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.shutdownNow();
            }
        }
        // claimed, but never started or never finished because a cancel shut the pool down
        for (SubTask t : inFlight.values()) {
            ran.add(finish(node, t, State.FAILED, Operator.CANCEL, t.startTime(), List.of("cancelled before it finished"),
                    Outcome.CANCELLED));
        }
        return ran;
    }

    /**
     * Whether the DAG was cancelled by another process or is no longer RUNNING; read only when this owner is idle and the
     * stage unfinished, so about every {@link #CLAIM_POLL_MS} at the end of a stage.
     */
    private boolean dagStopped(long dagId) {
        return store.dag(dagId).map(d -> d.operator() == Operator.CANCEL || d.state() != State.RUNNING).orElse(true);
    }

    /** Whether the store has every sub-task of the node finished: none RUNNING, none PENDING and unclaimed. */
    private static boolean stageDone(Node n) {
        return n.subTasks().stream().noneMatch(t -> t.state() == State.RUNNING || t.state() == State.PENDING && t.ranBy() == null);
    }

    private List<SubTask> runNode(Node node, RunOptions options, int forks) {
        List<SubTask> tasks = node.subTasks();
        SubTask[] results = tasks.toArray(new SubTask[0]);
        int threads = Math.max(1, Math.min(forks, tasks.size()));
        ExecutorService p = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "obplay-worker");
            t.setDaemon(true);
            return t;
        });
        pool = p;
        if (cancelled.get()) {
            p.shutdownNow();
        }
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < tasks.size(); i++) {
            int at = i;
            if (tasks.get(i).state() == State.SUCCEED) {
                continue;
            }
            try {
                futures.add(p.submit(() -> results[at] = runSubTask(node, tasks.get(at), options)));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                results[at] = finish(node, tasks.get(at), State.FAILED, Operator.CANCEL, tasks.get(at).startTime(),
                        List.of("cancelled before it started"), Outcome.CANCELLED);
            }
        }
        p.shutdown();
        for (int i = 0; i < futures.size(); i++) {
            try {
                futures.get(i).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                cancel();
            } catch (java.util.concurrent.CancellationException | java.util.concurrent.ExecutionException e) {
                // recorded by the task itself, or below
            }
        }
        try {
            p.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // tasks that never started because the pool was shut down by a cancel
        for (int i = 0; i < results.length; i++) {
            if (results[i].state() == State.PENDING || results[i].state() == State.RUNNING) {
                if (cancelled.get()) {
                    results[i] = finish(node, results[i], State.FAILED, Operator.CANCEL, results[i].startTime(),
                            List.of("cancelled before it finished"), Outcome.CANCELLED);
                }
            }
        }
        return List.of(results);
    }

    private SubTask runSubTask(Node node, SubTask task, RunOptions options) {
        TaskData data = task.data();
        io.obplay.plan.GatePlan gate = io.obplay.plan.NodeData.gateOf(node.additionalData());
        if (gate != null) {
            return runGate(node, task, gate);
        }
        Server server = servers.get(data.server());
        if (options.skipHosts().contains(data.host()) || options.skipHosts().contains(data.server())) {
            String why = options.skipReason() == null ? "left out with --skip-host" : options.skipReason();
            return finish(node, task, State.SUCCEED, Operator.PASS, Times.now(), List.of("skipped: " + why), Outcome.SKIPPED);
        }
        String earlier = failedServers.get(data.server());
        if (earlier != null) {
            List<String> logs = List.of("not run: " + earlier);
            SubTask t = task.withState(State.PENDING, task.operator(), task.startTime(), task.endTime(), task.executeTimes(), append(task, logs));
            if (!spread) {
                store.appendLogs(task.taskId(), logs);
            } else if (!store.updateClaimed(t, logs, me)) { // PENDING and still this process's: not claimed again
                listener.writeRefused(null, t, "its claim is no longer this instance's");
            }
            listener.subTaskFinished(node, t, Outcome.NOT_RUN);
            return t;
        }
        if (server == null) {
            return finish(node, task, State.FAILED, task.operator(), Times.now(),
                    List.of("FAILED: the inventory has no server " + data.server() + " any more"), Outcome.FAILED);
        }
        OffsetDateTime started = Times.now();
        // the first line is written with RUNNING: the record names the instance running it even if that one dies
        String first = "run " + data.step() + " on " + data.host() + " (attempt " + (task.executeTimes() + 1) + ", timeout "
                + data.timeoutSeconds() + "s) by obplay " + me;
        SubTask running = task.withState(State.RUNNING, task.operator(), started, Times.UNSET, task.executeTimes() + 1,
                append(task, List.of(first))).withRanBy(me);
        Spent spent = new Spent();
        long t0 = System.nanoTime();
        if (!recordRunning(node, running, first)) {
            return running;
        }
        spent.record = System.nanoTime() - t0;
        List<String> logs = Collections.synchronizedList(new ArrayList<>());
        String endpoint = server.ssh().user() + "@" + server.host() + ":" + server.ssh().port();
        String unreachable = unreachableHosts.get(endpoint);
        if (unreachable != null && spread) {
            return decline(node, running, endpoint, unreachable);
        }
        if (unreachable != null) {
            logs.add("FAILED: host " + data.host() + " is unreachable: " + unreachable);
            failedServers.put(data.server(), "host " + data.host() + " was unreachable in stage " + node.name());
            return finish(node, running, State.FAILED, running.operator(), started, logs, Outcome.UNREACHABLE, spent);
        }
        try {
            long c0 = System.nanoTime();
            Connection c;
            try {
                c = transport.connect(server);
            } finally {
                spent.connect = System.nanoTime() - c0;
            }
            ExecResult r = c.run(data.runnable(dagData), Duration.ofSeconds(data.timeoutSeconds()), (err, line) -> logs.add(line));
            spent.channel = r.opening().toNanos();
            spent.script = r.elapsed().toNanos() - spent.channel;
            if (r.timedOut()) {
                logs.add("FAILED: timed out after " + data.timeoutSeconds() + "s; " + (r.leftRunning() == null
                        ? "the script and its processes were ended" : r.leftRunning()));
            } else if (r.exitCode() != 0) {
                // the last line is what clients show (obshell's SDK prints only it): the script's own reason, if it gave one
                String reason = null;
                synchronized (logs) {
                    for (int i = logs.size() - 1; i >= 0 && reason == null; i--) {
                        if (logs.get(i).startsWith("obplay: FAILED: ")) {
                            reason = logs.get(i).substring("obplay: FAILED: ".length());
                        }
                    }
                }
                logs.add((reason == null ? "FAILED: " : "FAILED: " + reason + " (") + "exit status " + r.exitCode()
                        + " after " + millis(r.elapsed()) + (reason == null ? "" : ")"));
            } else {
                logs.add("done in " + millis(r.elapsed()));
            }
            if (!r.ok()) {
                failedServers.put(data.server(), data.server() + " failed in stage " + node.name());
                return finish(node, running, State.FAILED, running.operator(), started, logs, Outcome.FAILED, spent);
            }
            return finish(node, running, State.SUCCEED, running.operator(), started, logs, Outcome.OK, spent);
        } catch (HostUnreachableException e) {
            unreachableHosts.putIfAbsent(endpoint, e.getMessage());
            if (spread) {
                return decline(node, running, endpoint, e.getMessage());
            }
            failedServers.put(data.server(), "host " + data.host() + " was unreachable in stage " + node.name());
            logs.add("FAILED: unreachable: " + e.getMessage());
            return finish(node, running, State.FAILED, running.operator(), started, logs, Outcome.UNREACHABLE, spent);
        } catch (ScriptCancelledException e) {
            logs.add("FAILED: " + e.getMessage());
            return finish(node, running, State.FAILED, Operator.CANCEL, started, logs, Outcome.CANCELLED, spent);
        } catch (InterruptedException e) {
            logs.add("FAILED: cancelled before the script started");
            return finish(node, running, State.FAILED, Operator.CANCEL, started, logs, Outcome.CANCELLED, spent);
        } catch (RuntimeException e) {
            logs.add("FAILED: " + e);
            failedServers.put(data.server(), data.server() + " failed in stage " + node.name());
            return finish(node, running, State.FAILED, running.operator(), started, logs, Outcome.FAILED, spent);
        }
    }

    /**
     * Records {@code running} (RUNNING, with its first log line) as this instance's and tells the listener; false
     * when it must not run here (its claim is another instance's now, or this process's lease ran out).
     */
    private boolean recordRunning(Node node, SubTask running, String first) {
        if (spread) {
            if (!store.updateClaimed(running, List.of(first), me)) {
                listener.writeRefused(null, running, "its claim is no longer this instance's: not run here");
                return false;
            }
        } else if (leaseLost.get()) {
            return false;
        } else {
            store.updateSubTask(running, List.of(first));
        }
        listener.subTaskStarted(node, running);
        return true;
    }

    /**
     * A gate node's one sub-task: its checks run here, on the controller ({@link io.obplay.run.gate.PlannedGate}),
     * each observation in the sub-task's log; it fails with the first level that did not pass.
     */
    private SubTask runGate(Node node, SubTask task, io.obplay.plan.GatePlan gate) {
        OffsetDateTime started = Times.now();
        String first = "gate after " + gate.zone() + " (attempt " + (task.executeTimes() + 1) + ") checked by obplay " + me
                + " on the controller";
        SubTask running = task.withState(State.RUNNING, task.operator(), started, Times.UNSET, task.executeTimes() + 1,
                append(task, List.of(first))).withRanBy(me);
        if (!recordRunning(node, running, first)) {
            return running;
        }
        List<String> logs = Collections.synchronizedList(new ArrayList<>());
        try {
            io.obplay.run.gate.GateResult r = new io.obplay.run.gate.PlannedGate(gate).await(cancelled::get, logs::add);
            if (r.outcome() == io.obplay.run.gate.GateResult.Outcome.CANCELLED) {
                logs.add("FAILED: " + r.reason());
                return finish(node, running, State.FAILED, Operator.CANCEL, started, logs, Outcome.CANCELLED);
            }
            if (!r.passed()) {
                logs.add("FAILED: the gate after " + gate.zone() + " did not pass: " + r.reason());
                return finish(node, running, State.FAILED, running.operator(), started, logs, Outcome.FAILED);
            }
            logs.add("done in " + millis(r.waited()) + ": the gate after " + gate.zone() + " passed");
            return finish(node, running, State.SUCCEED, running.operator(), started, logs, Outcome.OK);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            logs.add("FAILED: cancelled while waiting for the gate");
            return finish(node, running, State.FAILED, Operator.CANCEL, started, logs, Outcome.CANCELLED);
        } catch (RuntimeException e) {
            logs.add("FAILED: the gate could not be checked: " + e.getMessage());
            return finish(node, running, State.FAILED, running.operator(), started, logs, Outcome.FAILED);
        }
    }

    /**
     * This process cannot reach the sub-task's host: it gives the sub-task up for another instance that may
     * ({@link Store#decline}); the store fails it once every live instance has declined it.
     */
    private SubTask decline(Node node, SubTask running, String endpoint, String why) {
        String reason = "cannot reach host " + running.data().host() + " (" + endpoint + "): " + why;
        Optional<SubTask> now = store.decline(running.taskId(), me, reason);
        if (now.isEmpty()) {
            listener.writeRefused(null, running, "its claim is no longer this instance's");
            return running;
        }
        SubTask t = now.get();
        if (t.state() == State.FAILED) {
            failedServers.put(running.data().server(), "host " + running.data().host() + " was unreachable in stage " + node.name());
            listener.subTaskFinished(node, t, Outcome.UNREACHABLE);
        } else {
            declinedHere.put(t.taskId(), "declined by obplay " + me + ": " + reason);
            listener.subTaskFinished(node, t, Outcome.NOT_RUN);
        }
        return t;
    }

    private SubTask finish(Node node, SubTask task, State state, Operator op, OffsetDateTime started, List<String> newLogs, Outcome outcome) {
        return finish(node, task, state, op, started, newLogs, outcome, null);
    }

    /** As above; a sub-task that was recorded RUNNING also tells the listener where its time went ({@code spent}). */
    private SubTask finish(Node node, SubTask task, State state, Operator op, OffsetDateTime started, List<String> newLogs,
                           Outcome outcome, Spent spent) {
        List<String> copy = List.copyOf(newLogs);
        SubTask t = task.withState(state, op, started == null || started.equals(Times.UNSET) ? Times.now() : started, Times.now(),
                task.executeTimes(), append(task, copy));
        long w0 = System.nanoTime();
        if (spread) {
            if (!store.updateClaimed(t, copy, me)) {
                listener.writeRefused(null, t, "its claim is no longer this instance's (another instance took the DAG over)");
            }
        } else if (!leaseLost.get()) {
            store.updateSubTask(t, copy);
        }
        if (spent != null) {
            spent.record += System.nanoTime() - w0;
            listener.subTaskTimed(node, t, spent.timings());
        }
        listener.subTaskFinished(node, t, outcome);
        return t;
    }

    /** What a running sub-task spent where, in nanoseconds (see {@link Timings}); one thread's. */
    private static final class Spent {
        long record;
        long connect;
        long channel;
        long script;

        Timings timings() {
            return new Timings(Duration.ofNanos(record), Duration.ofNanos(connect), Duration.ofNanos(channel),
                    Duration.ofNanos(Math.max(0, script)));
        }
    }

    private static List<String> append(SubTask t, List<String> logs) {
        List<String> all = new ArrayList<>(t.taskLogs());
        all.addAll(logs);
        return all;
    }

    private static String millis(Duration d) {
        return String.format("%.2fs", d.toMillis() / 1000.0);
    }

    /** The set of server names a DAG acts on. */
    public static Set<String> serverNames(Dag dag) {
        Set<String> names = new java.util.LinkedHashSet<>();
        dag.nodes().forEach(n -> n.subTasks().forEach(t -> names.add(t.data().server())));
        return names;
    }
}
