package io.obplay.run;

import io.obplay.plan.Dag;
import io.obplay.plan.GenericId;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;
import io.obplay.store.Change;
import io.obplay.store.IdScheme;
import io.obplay.store.Refusal;
import io.obplay.store.Refused;
import io.obplay.store.Store;
import io.obplay.store.Transition;
import io.obplay.store.UnderMaintenanceException;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;

/**
 * The DAG operators, as obshell's: RETRY, PASS and ROLLBACK need a FAILED DAG, CANCEL an unfinished one; node
 * PASS a FAILED node of a FAILED DAG. Shared by the CLI ({@code obplay dag ...}), the HTTP shim and the executor.
 * Also turns a plan into a stored DAG, and marks a DAG whose obplay process died as FAILED.
 *
 * <p>Every operator is one {@link Store#transition}: the DAG is read, the operator decided on it and the result
 * written in one transaction under the store's write lock, so two processes operating on one DAG at once are
 * serialized, and the second decides on what the first wrote (a second RETRY is refused, typed
 * {@link Refusal#RETRY_NOT_FAILED}). An operator on a DAG whose process died first records that death (see
 * {@link #reconcile}) in the same transaction.
 *
 * <p>The owner: the process that is to run a DAG ({@code pid@hostname}) is recorded with the change that makes it
 * READY (create, RETRY, node PASS) and kept while it runs. A READY or RUNNING DAG whose owner on this machine is
 * gone will never be run or finished by anyone; {@link #reconcile} marks it FAILED.
 */
public final class DagControl {
    private final Store store;
    private final String me;

    public DagControl(Store store) {
        this(store, Owner.me());
    }

    /** With {@code me} as the owner this process records ({@code pid@hostname}). */
    DagControl(Store store, String me) {
        this.store = store;
        this.me = me;
    }

    /**
     * Stores a planned DAG as a new run: fresh ids for this agent, start_time == end_time == now, READY/RUN, owned
     * by this process. Takes the maintenance lock when the DAG is a maintenance DAG.
     */
    public Dag create(Dag planned, String agentIp, int agentPort) throws UnderMaintenanceException {
        char kind = planned.id().isEmpty() ? GenericId.AGENT : planned.id().charAt(0);
        OffsetDateTime now = Times.now();
        Dag fresh = planned.withState(1, State.READY, Operator.RUN, now, now);
        return store.insert(fresh, new IdScheme(kind, agentIp, agentPort), planned.maintenanceType() != Dag.MAINTENANCE_NONE, me);
    }

    /**
     * A DAG whose obplay process is gone is marked FAILED: one left RUNNING has its running sub-tasks FAILED with a
     * log line saying the outcome is unknown; one left READY (created, retried or passed on, never started) has
     * its next stage FAILED with a log line saying nothing ran. Returns the DAG as it is now. A DAG that needs
     * nothing is only read.
     */
    public Optional<Dag> reconcile(long dagId) {
        // the owner no later than the DAG (Store.ownedDag): a stale owner comes with an older state, and "orphan"
        // is decided again inside the transition anyway
        Optional<Store.OwnedDag> found = store.ownedDag(dagId);
        if (found.isEmpty() || reconciled(found.get().dag(), found.get().owner()).isEmpty()) {
            return found.map(Store.OwnedDag::dag);
        }
        try {
            return Optional.of(store.transition(dagId, this::reconciled));
        } catch (Refused gone) {
            return Optional.empty();
        }
    }

    /** What {@link #reconcile} writes: nothing when the DAG's owner lives or the DAG is finished. */
    private Change reconciled(Dag dag, String owner) {
        boolean orphan = (dag.state() == State.RUNNING || dag.state() == State.READY || dag.state() == State.PENDING)
                && !alive(owner);
        if (!orphan) {
            return Change.none();
        }
        OffsetDateTime now = Times.now();
        String who = "obplay " + (owner == null ? "" : "(" + owner + ") ");
        Change c = Change.none();
        if (dag.state() == State.RUNNING) {
            String why = who + "stopped while this ran; its outcome is unknown: check the host, then 'obplay dag retry " + dag.id() + "'";
            for (Node n : dag.nodes()) {
                boolean touched = false;
                for (SubTask t : n.subTasks()) {
                    if (t.state() == State.RUNNING) {
                        c = c.withSubTask(t.withState(State.FAILED, t.operator(), t.startTime(), now, t.executeTimes(), t.taskLogs()),
                                List.of("FAILED: " + why));
                        touched = true;
                    }
                }
                if (n.state() == State.RUNNING || touched) {
                    c = c.withNode(n.withState(State.FAILED, n.operator(), n.startTime(), now));
                }
            }
        } else {
            String why = who + "stopped before it started this DAG; nothing ran: 'obplay dag retry " + dag.id()
                    + "' runs it, 'obplay dag pass " + dag.id() + "' drops it";
            Optional<Node> next = dag.nodes().stream().filter(n -> n.state() != State.SUCCEED).findFirst();
            if (next.isPresent()) {
                Node n = next.get();
                for (SubTask t : n.subTasks()) {
                    if (t.state() != State.SUCCEED) {
                        c = c.withSubTask(t, List.of("not run: " + why));
                    }
                }
                c = c.withNode(n.withState(State.FAILED, n.operator(), n.startTime(), now));
            }
        }
        return c.withDag(dag.withState(dag.stage(), State.FAILED, dag.operator(), dag.startTime(), now)).withOwner(null);
    }

    /**
     * RETRY, as obshell does it: a FAILED DAG goes back to READY with operator RUN, and its failed nodes to PENDING
     * with operator RETRY (obshell's Python SDK waits for the DAG to SUCCEED with operator RUN); this process is
     * recorded as the one to run it, and the executor then re-runs what did not succeed.
     */
    public Dag retry(long dagId) throws Refused {
        return store.transition(dagId, retrying());
    }

    private Transition retrying() {
        return (stored, owner) -> {
            Change c = reconciled(stored, owner);
            Dag dag = failed(c.applyTo(stored), owner, Refusal.RETRY_NOT_FAILED, "retried");
            for (Node n : dag.nodes()) {
                if (n.state() == State.FAILED) {
                    c = c.withNode(n.withState(State.PENDING, Operator.RETRY, n.startTime(), n.endTime()));
                }
            }
            return c.withDag(dag.withState(dag.stage(), State.READY, Operator.RUN, dag.startTime(), dag.endTime())).withOwner(me);
        };
    }

    /** PASS: the remaining nodes (and their unfinished sub-tasks) SUCCEED with operator PASS; the DAG SUCCEEDs. */
    public Dag pass(long dagId) throws Refused {
        return store.transition(dagId, passing());
    }

    private Transition passing() {
        return (stored, owner) -> {
            Change c = reconciled(stored, owner);
            Dag dag = failed(c.applyTo(stored), owner, Refusal.PASS_NOT_FAILED, "passed");
            OffsetDateTime now = Times.now();
            for (Node n : dag.nodes()) {
                if (n.state() == State.SUCCEED) {
                    continue;
                }
                for (SubTask t : n.subTasks()) {
                    if (t.state() != State.SUCCEED) {
                        c = c.withSubTask(t.withState(State.SUCCEED, Operator.PASS, t.startTime(), now, t.executeTimes(), t.taskLogs()),
                                List.of("passed by the operator (was " + t.state() + ")"));
                    }
                }
                c = c.withNode(n.withState(State.SUCCEED, Operator.PASS, n.startTime(), now));
            }
            return c.withDag(dag.withState(dag.maxStage(), State.SUCCEED, Operator.PASS, dag.startTime(), now)).withOwner(null);
        };
    }

    /**
     * CANCEL: an unfinished DAG (or a FAILED one, to record the CANCEL). One that a live process runs gets the
     * operator recorded, and that process ends the run (it watches for it); any other (READY and not started,
     * FAILED) is marked FAILED/CANCEL here, and a process about to start it finds it no longer READY.
     */
    public Dag cancel(long dagId) throws Refused {
        return store.transition(dagId, cancelling());
    }

    private Transition cancelling() {
        return (stored, owner) -> {
            Change c = reconciled(stored, owner);
            Dag dag = c.applyTo(stored);
            if (dag.state() == State.SUCCEED || (dag.state() == State.FAILED && dag.operator() == Operator.CANCEL)) {
                throw new Refused(Refusal.CANCEL_FINISHED, "DAG " + dag.id() + " is finished (" + dag.state()
                        + (dag.operator() == Operator.RUN ? "" : ", operator " + dag.operator()) + "); only an unfinished DAG can be cancelled");
            }
            if (dag.state() == State.RUNNING) { // and, reconciled, its owner lives
                return c.withDag(dag.withState(dag.stage(), dag.state(), Operator.CANCEL, dag.startTime(), dag.endTime()));
            }
            OffsetDateTime now = Times.now();
            for (Node n : dag.nodes()) {
                if (n.state() != State.SUCCEED) {
                    c = c.withNode(n.withState(n.state() == State.PENDING ? State.PENDING : State.FAILED, Operator.CANCEL, n.startTime(), now));
                }
            }
            return c.withDag(dag.withState(dag.stage(), State.FAILED, Operator.CANCEL, dag.startTime(), now)).withOwner(null);
        };
    }

    /**
     * Whether the owner drives its DAG still. On a store shared by machines ({@link Store#leases()}) a recorded owner
     * counts as alive: a dead one is found by its lease running out, and its DAG is taken over ({@link #takeOver}),
     * not failed. Otherwise, by its pid when it ran on this machine (see {@link Owner#alive}).
     */
    private boolean alive(String owner) {
        return store.leases() ? owner != null : Owner.alive(owner);
    }

    /** Who this process is, as recorded as the owner of the DAGs it runs. */
    public String me() {
        return me;
    }

    /**
     * Takes over a DAG whose owner's lease ran out (it was killed, its machine is gone): in one transaction, under the
     * DAG's lock and only while the lease is still expired, this process becomes the owner (with a fresh lease), a
     * RUNNING DAG goes back to READY and its RUNNING stage to PENDING, and its RUNNING sub-tasks to PENDING (but for those
     * claimed by another instance that is still alive, which runs them on), to be run again (the step scripts are idempotent: see the README); every unfinished sub-task of that stage
     * gets a log line saying who took over, from whom, and when. A DAG that is not READY, PENDING or RUNNING is refused.
     *
     * @return the DAG as taken over, or empty when its lease is live (another instance renewed or took it)
     */
    public Optional<Dag> takeOver(long dagId) throws Refused {
        java.util.Set<String> live = store.liveInstances();
        return store.takeOver(dagId, (dag, owner) -> {
            if (dag.state() != State.RUNNING && dag.state() != State.READY && dag.state() != State.PENDING) {
                throw new Refused(Refusal.NOT_READY, "DAG " + dag.id() + " is " + dag.state() + ": nothing to take over");
            }
            OffsetDateTime now = Times.now();
            String line = "taken over at " + now + " by obplay " + me + " from " + (owner == null ? "no owner"
                    : "obplay " + owner) + ", whose lease of " + store.leaseLength().toSeconds() + "s ran out";
            Change c = Change.none();
            Optional<Node> current = dag.nodes().stream().filter(n -> n.state() != State.SUCCEED).findFirst();
            if (current.isPresent()) {
                Node n = current.get();
                for (SubTask t : n.subTasks()) {
                    boolean helperLives = t.ranBy() != null && !t.ranBy().equals(owner) && live.contains(t.ranBy());
                    if (t.state() == State.RUNNING && helperLives) {
                        c = c.withSubTask(t, List.of(line + "; obplay " + t.ranBy() + ", which claimed this sub-task, runs it on"));
                    } else if (t.state() == State.RUNNING) {
                        c = c.withSubTask(t.withState(State.PENDING, t.operator(), t.startTime(), t.endTime(), t.executeTimes(),
                                t.taskLogs()), List.of(line + "; this sub-task was RUNNING there: its outcome is unknown, it runs again"));
                    } else if (t.state() != State.SUCCEED) {
                        c = c.withSubTask(t, List.of(line));
                    }
                }
                if (n.state() == State.RUNNING) {
                    c = c.withNode(n.withState(State.PENDING, n.operator(), n.startTime(), n.endTime()));
                }
            }
            State next = dag.state() == State.RUNNING ? State.READY : dag.state();
            return c.withDag(dag.withState(dag.stage(), next, dag.operator(), dag.startTime(), dag.endTime())).withOwner(me);
        });
    }

    /** The operators {@link #preview} can show. */
    public enum Op { RETRY, PASS, CANCEL }

    /**
     * What {@code op} would make of the DAG now, written nowhere: the DAG as it would read after it (for a prompt to
     * show before asking), or the refusal it would get. The operator itself decides again on the DAG as it is then.
     */
    public Dag preview(Op op, long dagId) throws Refused {
        Dag dag = store.dag(dagId).orElseThrow(() -> new Refused(Refusal.NO_SUCH_DAG, "no DAG " + dagId));
        Transition t = switch (op) {
            case RETRY -> retrying();
            case PASS -> passing();
            case CANCEL -> cancelling();
        };
        return t.decide(dag, store.owner(dagId).orElse(null)).applyTo(dag);
    }

    /** ROLLBACK: always refused (a stop or a cleanup cannot be undone); a DAG not FAILED is refused as obshell does. */
    public void rollback(long dagId) throws Refused {
        Dag dag = reconcile(dagId).orElseThrow(() -> new Refused(Refusal.NO_SUCH_DAG, "no DAG " + dagId));
        failed(dag, null, Refusal.ROLLBACK_NOT_FAILED, "rolled back");
        throw new Refused(Refusal.ROLLBACK_NOT_SUPPORTED, "ROLLBACK is not supported: a stop or a cleanup cannot be undone;"
                + " use RETRY to finish it or PASS to accept it");
    }

    /**
     * obshell's node PASS: the node must be FAILED in a FAILED DAG; its unfinished sub-tasks SUCCEED with operator
     * PASS, the node SUCCEEDs with operator PASS, and the DAG is READY to run on from the next stage (operator RUN),
     * by this process.
     */
    public Dag passNode(long nodeId) throws Refused {
        long dagId = store.dagOfNode(nodeId).orElseThrow(() -> new Refused(Refusal.NO_SUCH_NODE, "no node " + nodeId));
        return store.transition(dagId, (stored, owner) -> {
            Change c = reconciled(stored, owner);
            Dag dag = failed(c.applyTo(stored), owner, Refusal.NODE_PASS_NOT_FAILED_DAG, "passed node by node");
            Node node = dag.nodes().stream().filter(n -> n.nodeId() == nodeId).findFirst()
                    .orElseThrow(() -> new Refused(Refusal.NO_SUCH_NODE, "no node " + nodeId));
            if (node.state() != State.FAILED) {
                throw new Refused(Refusal.NODE_PASS_NOT_FAILED_NODE, "node " + node.name() + " of DAG " + dag.id() + " is "
                        + node.state() + "; only a FAILED node can be passed");
            }
            OffsetDateTime now = Times.now();
            for (SubTask t : node.subTasks()) {
                if (t.state() != State.SUCCEED) {
                    c = c.withSubTask(t.withState(State.SUCCEED, Operator.PASS, t.startTime(), now, t.executeTimes(), t.taskLogs()),
                            List.of("passed by the operator (was " + t.state() + ")"));
                }
            }
            c = c.withNode(node.withState(State.SUCCEED, Operator.PASS, node.startTime(), now));
            return c.withDag(dag.withState(dag.stage(), State.READY, Operator.RUN, dag.startTime(), dag.endTime())).withOwner(me);
        });
    }

    /**
     * The executor's start: a READY DAG becomes RUNNING, owned by this process (start time now on a fresh run).
     * Refused ({@link Refusal#NOT_READY}) when it is not READY any more (cancelled or passed meanwhile), or another
     * live process is to run it.
     */
    Dag start(long dagId) throws Refused {
        return store.transition(dagId, (dag, owner) -> {
            if (dag.state() != State.READY && dag.state() != State.PENDING) {
                throw new Refused(Refusal.NOT_READY, "DAG " + dag.id() + " is " + dag.state() + " (operator " + dag.operator()
                        + "), not READY: not started");
            }
            if (owner != null && !owner.equals(me) && alive(owner)) {
                throw new Refused(Refusal.NOT_READY, "DAG " + dag.id() + " is to be run by obplay " + owner + ": not started here");
            }
            boolean fresh = dag.nodes().stream().allMatch(n -> n.state() == State.PENDING && n.operator() == Operator.RUN);
            OffsetDateTime start = fresh ? Times.now() : dag.startTime();
            return Change.none().withDag(dag.withState(dag.stage(), State.RUNNING, dag.operator(), start, start)).withOwner(me);
        });
    }

    /**
     * Thrown by the executor's writes on a store with leases when this process is no longer the DAG's owner: another
     * instance took the DAG over (this one was paused or cut off past its lease). Nothing was written.
     */
    static final class DagTakenException extends RuntimeException {
        DagTakenException(String message) {
            super(message);
        }
    }

    /** On a store with leases, refuses (nothing is written) unless this process still owns the DAG. */
    private void mustOwn(Dag dag, String owner) {
        if (store.leases() && !me.equals(owner)) {
            throw new DagTakenException("DAG " + dag.id() + " is obplay " + owner + "'s now, not this instance's ("
                    + me + "): its lease ran out and the DAG was taken over; nothing written");
        }
    }

    /**
     * The start of a stage when its sub-tasks are claimed by instances ({@link Store#claim}): the node becomes RUNNING
     * and each of its sub-tasks that is neither SUCCEED nor RUNNING (claimed by a live instance) becomes PENDING,
     * claimed by no one and declined by no one, in one transaction and only while this process owns the DAG.
     */
    Node openStage(long dagId, Node node) {
        try {
            Dag d = store.transition(dagId, (dag, owner) -> {
                mustOwn(dag, owner);
                Node n = dag.nodes().stream().filter(x -> x.nodeId() == node.nodeId()).findFirst().orElseThrow();
                Change c = Change.none().withNode(n.withState(State.RUNNING, n.operator() == Operator.PASS ? Operator.RUN : n.operator(),
                        node.startTime(), Times.UNSET));
                for (SubTask t : n.subTasks()) {
                    if (t.state() != State.SUCCEED && t.state() != State.RUNNING) {
                        c = c.withSubTask(t.withState(State.PENDING, t.operator(), t.startTime(), t.endTime(), t.executeTimes(),
                                t.taskLogs()), List.of());
                    }
                }
                return c;
            });
            return d.nodes().stream().filter(x -> x.nodeId() == node.nodeId()).findFirst().orElseThrow();
        } catch (Refused gone) {
            throw new java.util.NoSuchElementException(gone.getMessage());
        }
    }

    /** The end of a stage: the node's fields, written only while this process owns the DAG (on a store with leases). */
    void closeStage(long dagId, Node node) {
        try {
            store.transition(dagId, (dag, owner) -> {
                mustOwn(dag, owner);
                return Change.none().withNode(node);
            });
        } catch (Refused gone) {
            throw new java.util.NoSuchElementException(gone.getMessage());
        }
    }

    /**
     * Takes back the sub-tasks of a node that are RUNNING under an instance whose presence ran out (it was killed, or
     * its machine is gone): they are PENDING again, for any instance to claim and run again (the step scripts are
     * idempotent), each with a log line saying from whom and when. Only while this process owns the DAG.
     *
     * @return how many were taken back
     */
    int takeBackDeadClaims(long dagId, long nodeId, java.util.Set<String> live) {
        int[] n = {0};
        try {
            store.transition(dagId, (dag, owner) -> {
                mustOwn(dag, owner);
                n[0] = 0;
                Change c = Change.none();
                for (Node x : dag.nodes()) {
                    if (x.nodeId() != nodeId) {
                        continue;
                    }
                    for (SubTask t : x.subTasks()) {
                        if (t.state() == State.RUNNING && t.ranBy() != null && !t.ranBy().equals(me) && !live.contains(t.ranBy())) {
                            c = c.withSubTask(t.withState(State.PENDING, t.operator(), t.startTime(), t.endTime(), t.executeTimes(),
                                    t.taskLogs()), List.of("taken back at " + Times.now() + " by obplay " + me + " from obplay "
                                    + t.ranBy() + ", whose presence of " + store.leaseLength().toSeconds() + "s ran out; this sub-task"
                                    + " was RUNNING there: its outcome is unknown, it runs again"));
                            n[0]++;
                        }
                    }
                }
                return c;
            });
        } catch (Refused gone) {
            throw new java.util.NoSuchElementException(gone.getMessage());
        }
        return n[0];
    }

    /**
     * Fails the sub-tasks this process declined (it cannot reach their hosts) that no other instance claimed since:
     * each still PENDING and claimed by no one is FAILED with {@code why}. Only while this process owns the DAG.
     */
    int failDeclined(long dagId, long nodeId, java.util.Map<Long, String> declined, String why) {
        int[] n = {0};
        try {
            store.transition(dagId, (dag, owner) -> {
                mustOwn(dag, owner);
                n[0] = 0;
                Change c = Change.none();
                OffsetDateTime now = Times.now();
                for (Node x : dag.nodes()) {
                    for (SubTask t : x.subTasks()) {
                        if (x.nodeId() == nodeId && declined.containsKey(t.taskId()) && t.state() == State.PENDING && t.ranBy() == null) {
                            c = c.withSubTask(t.withState(State.FAILED, t.operator(), t.startTime(), now, t.executeTimes(), t.taskLogs()),
                                    List.of("FAILED: " + declined.get(t.taskId()) + "; " + why));
                            n[0]++;
                        }
                    }
                }
                return c;
            });
        } catch (Refused gone) {
            throw new java.util.NoSuchElementException(gone.getMessage());
        }
        return n[0];
    }

    /**
     * The executor's record of its DAG's progress: the DAG-level fields of {@code d}, except that a CANCEL another
     * process recorded meanwhile is kept (and returned, for the executor to act on); {@code release} also records
     * that no process drives the DAG any more. Returns the DAG as stored. On a store with leases, written only while
     * this process owns the DAG ({@link DagTakenException} otherwise).
     */
    Dag progress(Dag d, boolean release) {
        try {
            return store.transition(d.dagId(), (dag, owner) -> {
                mustOwn(dag, owner);
                Operator op = dag.operator() == Operator.CANCEL ? Operator.CANCEL : d.operator();
                Change c = Change.none().withDag(d.withState(d.stage(), d.state(), op, d.startTime(), d.endTime()));
                return release ? c.withOwner(null) : c;
            });
        } catch (Refused gone) {
            throw new java.util.NoSuchElementException(gone.getMessage());
        }
    }

    /** The DAG, refused with {@code why} unless FAILED. */
    private static Dag failed(Dag dag, String owner, Refusal why, String verb) throws Refused {
        if (dag.state() != State.FAILED) {
            String by = dag.state() == State.RUNNING && owner != null ? ", run by obplay " + owner
                    : dag.state() == State.READY && owner != null ? ", to be run by obplay " + owner : "";
            throw new Refused(why, "DAG " + dag.id() + " is " + dag.state() + " (operator " + dag.operator() + by
                    + "); only a FAILED DAG can be " + verb);
        }
        return dag;
    }
}
