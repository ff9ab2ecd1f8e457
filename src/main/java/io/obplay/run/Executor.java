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

    /**
     * @param servers every server the DAG may name, by {@link Server#name()}
     */
    public Executor(Store store, Transport transport, Map<String, Server> servers, RunListener listener) {
        this.store = store;
        this.transport = transport;
        this.servers = servers;
        this.listener = listener;
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
        java.util.concurrent.ScheduledExecutorService renewer = store.leases() ? renewLease(dagId) : null;
        try {
            return runStarted(dagId, options, control, dag);
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
            if (!leaseLost.get()) {
                store.updateNode(node);
            }
            listener.stageStarted(dag, i + 1, node);
            List<SubTask> results = runNode(node, options, forks);
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
            if (!leaseLost.get()) {
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
        Server server = servers.get(data.server());
        if (options.skipHosts().contains(data.host()) || options.skipHosts().contains(data.server())) {
            String why = options.skipReason() == null ? "left out with --skip-host" : options.skipReason();
            return finish(node, task, State.SUCCEED, Operator.PASS, Times.now(), List.of("skipped: " + why), Outcome.SKIPPED);
        }
        String earlier = failedServers.get(data.server());
        if (earlier != null) {
            List<String> logs = List.of("not run: " + earlier);
            store.appendLogs(task.taskId(), logs);
            SubTask t = task.withState(State.PENDING, task.operator(), task.startTime(), task.endTime(), task.executeTimes(), append(task, logs));
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
                append(task, List.of(first)));
        if (leaseLost.get()) {
            return running;
        }
        store.updateSubTask(running, List.of(first));
        listener.subTaskStarted(node, running);
        List<String> logs = Collections.synchronizedList(new ArrayList<>());
        String endpoint = server.ssh().user() + "@" + server.host() + ":" + server.ssh().port();
        String unreachable = unreachableHosts.get(endpoint);
        if (unreachable != null) {
            logs.add("FAILED: host " + data.host() + " is unreachable: " + unreachable);
            failedServers.put(data.server(), "host " + data.host() + " was unreachable in stage " + node.name());
            return finish(node, running, State.FAILED, running.operator(), started, logs, Outcome.UNREACHABLE);
        }
        try {
            Connection c = transport.connect(server);
            ExecResult r = c.run(data.runnable(dagData), Duration.ofSeconds(data.timeoutSeconds()), (err, line) -> logs.add(line));
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
                return finish(node, running, State.FAILED, running.operator(), started, logs, Outcome.FAILED);
            }
            return finish(node, running, State.SUCCEED, running.operator(), started, logs, Outcome.OK);
        } catch (HostUnreachableException e) {
            unreachableHosts.putIfAbsent(endpoint, e.getMessage());
            failedServers.put(data.server(), "host " + data.host() + " was unreachable in stage " + node.name());
            logs.add("FAILED: unreachable: " + e.getMessage());
            return finish(node, running, State.FAILED, running.operator(), started, logs, Outcome.UNREACHABLE);
        } catch (ScriptCancelledException e) {
            logs.add("FAILED: " + e.getMessage());
            return finish(node, running, State.FAILED, Operator.CANCEL, started, logs, Outcome.CANCELLED);
        } catch (InterruptedException e) {
            logs.add("FAILED: cancelled before the script started");
            return finish(node, running, State.FAILED, Operator.CANCEL, started, logs, Outcome.CANCELLED);
        } catch (RuntimeException e) {
            logs.add("FAILED: " + e);
            failedServers.put(data.server(), data.server() + " failed in stage " + node.name());
            return finish(node, running, State.FAILED, running.operator(), started, logs, Outcome.FAILED);
        }
    }

    private SubTask finish(Node node, SubTask task, State state, Operator op, OffsetDateTime started, List<String> newLogs, Outcome outcome) {
        List<String> copy = List.copyOf(newLogs);
        SubTask t = task.withState(state, op, started == null || started.equals(Times.UNSET) ? Times.now() : started, Times.now(),
                task.executeTimes(), append(task, copy));
        if (!leaseLost.get()) {
            store.updateSubTask(t, copy);
        }
        listener.subTaskFinished(node, t, outcome);
        return t;
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
