package io.obplay.store;

import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.SubTask;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Where DAGs, their nodes, sub-tasks, states, times and logs are kept. Every method is one transaction:
 * a reader never sees half of a write, and a process killed mid-run leaves every record whole.
 * Implementations are thread-safe.
 */
public interface Store extends AutoCloseable {

    /**
     * Stores a planned DAG as a new one: assigns the next dag id and fresh node and sub-task ids, and
     * generic ids of the given kind for this agent (see {@link IdScheme}). When {@code exclusive} is true and
     * the DAG is a maintenance DAG (maintenance_type != 1), the insert happens only if no other maintenance
     * DAG of the same maintenance key holds the lock (unfinished, or FAILED and not passed); the check and
     * the insert are atomic, so of two racing callers exactly one wins.
     *
     * @return the stored DAG, with its ids
     * @throws UnderMaintenanceException naming the holding DAG
     */
    default Dag insert(Dag planned, IdScheme ids, boolean exclusive) throws UnderMaintenanceException {
        return insert(planned, ids, exclusive, null);
    }

    /**
     * As {@link #insert(Dag, IdScheme, boolean)}, recording {@code owner} ({@code pid@hostname}, or null) as the
     * process that will run the DAG, in the same transaction: a DAG whose creator dies before starting it can then
     * be told from one about to start.
     */
    Dag insert(Dag planned, IdScheme ids, boolean exclusive, String owner) throws UnderMaintenanceException;

    /**
     * The one way to change a DAG on what it is now: reads the DAG (whole) and its owner, lets {@code t} decide,
     * and writes the decided {@link Change}, all in one transaction that holds a write lock on the DAG from the
     * read to the commit, so of two processes changing one DAG at once the second decides on what the first
     * wrote. (SQLite takes its database write lock, {@code BEGIN IMMEDIATE}; a server database would lock the DAG's
     * row, {@code SELECT ... FOR UPDATE}, before reading its nodes.) A change may write only records of this DAG.
     *
     * @return the DAG as it is once the change is committed (unchanged when the change was empty)
     * @throws Refused {@link Refusal#NO_SUCH_DAG}, or the refusal of {@code t}; then nothing was written
     */
    Dag transition(long dagId, Transition t) throws Refused;

    /** The whole DAG: nodes, sub-tasks and their logs. */
    Optional<Dag> dag(long dagId);

    /** DAGs without their nodes, newest first, at most {@code limit}. */
    List<Dag> dags(int limit);

    /** Unfinished DAGs (READY, PENDING, RUNNING, and FAILED maintenance DAGs not passed), without nodes. */
    List<Dag> unfinished();

    /** The newest maintenance DAG of this key, finished or not, without nodes. */
    Optional<Dag> latestMaintenance(String maintenanceKey);

    /** The maintenance DAG that holds the lock for this key, if any, without nodes. */
    Optional<Dag> lockHolder(String maintenanceKey);

    Optional<Node> node(long nodeId);

    Optional<SubTask> subTask(long taskId);

    /** The id of the DAG a node belongs to. */
    Optional<Long> dagOfNode(long nodeId);

    /** The id of the node a sub-task belongs to. */
    Optional<Long> nodeOfSubTask(long taskId);

    /** Saves the DAG-level fields (stage, state, operator, times); nodes are not touched. */
    void updateDag(Dag dag);

    /** Saves the node-level fields (state, operator, times); sub-tasks are not touched. */
    void updateNode(Node node);

    /** Saves a sub-task's state, operator, times and execute_times, and appends {@code newLogs}, atomically. */
    void updateSubTask(SubTask task, List<String> newLogs);

    /** Appends log lines to a sub-task. */
    void appendLogs(long taskId, List<String> lines);

    /** Records which process drives a DAG now ({@code pid@hostname}), or null when none. */
    void setOwner(long dagId, String owner);

    Optional<String> owner(long dagId);

    /**
     * The DAG with the owner recorded for it, or empty when there is no such DAG. The owner is read no later than
     * the DAG (an owner changes only with the state, so a stale owner comes with an older state, never a newer
     * one); a store that can reads both in one read transaction.
     */
    default Optional<OwnedDag> ownedDag(long dagId) {
        String owner = owner(dagId).orElse(null);
        return dag(dagId).map(d -> new OwnedDag(d, owner));
    }

    /** A DAG and the process recorded as driving it ({@code pid@hostname}; null for none). */
    record OwnedDag(Dag dag, String owner) {
    }

    // ------------------------------------------------------------------------------------------------ leases

    /**
     * Whether this store is shared by machines and decides which process drives a DAG by leases: the owner recorded
     * with a DAG holds it while it renews its lease ({@link #renewLease}); once the lease runs out another instance
     * may take it over ({@link #takeOver}). False for the SQLite store (one machine: a dead owner is told by its pid).
     */
    default boolean leases() {
        return false;
    }

    /** How long a lease lasts from its last renewal (the owner renews it every third of that). */
    default Duration leaseLength() {
        return Duration.ofSeconds(30);
    }

    /**
     * Renews {@code owner}'s lease on the DAG: only while {@code owner} is still the DAG's recorded owner.
     *
     * @return false when another process holds the DAG now (it took the DAG over: stop writing to it)
     */
    default boolean renewLease(long dagId, String owner) {
        return true;
    }

    /** READY, PENDING or RUNNING DAGs whose owner's lease has run out (or that have no owner), oldest first. */
    default List<Long> expiredLeases() {
        return List.of();
    }

    /**
     * A {@link #transition} that happens only while the DAG's lease has run out, decided and written under the same
     * lock as every transition, so of two instances taking a DAG over at once one does (the other finds the lease
     * live again: the change sets the new owner, which starts a fresh lease).
     *
     * @return the DAG as changed, or empty when its lease is live (nothing was written)
     */
    default Optional<Dag> takeOver(long dagId, Transition t) throws Refused {
        return Optional.empty();
    }

    // ------------------------------------------------------------------------------- work spread over instances

    /**
     * Records that {@code instance} ({@code pid@hostname}) is alive, for one {@link #leaseLength()}: the instances whose
     * presence has not run out are the ones a declined sub-task waits for ({@link #decline}) and whose claims hold.
     */
    void heartbeat(String instance);

    /** The instances whose presence ({@link #heartbeat}) has not run out. */
    java.util.Set<String> liveInstances();

    /**
     * Claims, in one transaction under the DAG's lock, up to {@code max} sub-tasks of the node for {@code instance}:
     * PENDING ones that no instance holds and that {@code instance} has not declined, in id order; each becomes
     * RUNNING with {@link SubTask#ranBy()} = {@code instance}. Nothing is claimed unless the node and its DAG are
     * RUNNING and the DAG is not being cancelled. Of instances claiming at once, each sub-task goes to one.
     *
     * @return the claimed sub-tasks as stored (empty when none is left to claim)
     */
    List<SubTask> claim(long nodeId, String instance, int max);

    /**
     * {@link #updateSubTask}, but only while {@code instance} holds the sub-task's claim (it is the sub-task's
     * {@link SubTask#ranBy()}): the fence that keeps an instance whose claim was taken back (its lease ran out while it
     * was paused, and another instance took the DAG over) from writing over the one that holds it now.
     *
     * @return false when the claim is not {@code instance}'s: nothing was written
     */
    boolean updateClaimed(SubTask task, List<String> newLogs, String instance);

    /**
     * {@code instance} gives up its claim on a sub-task whose host it cannot reach: the sub-task is PENDING again and
     * claimed by no one, {@code instance} is recorded as having declined it (it never claims it again in this run of
     * the stage) with a log line giving {@code reason}; once every live instance ({@link #liveInstances}) has declined
     * it, it is FAILED instead, its last log line naming every instance's reason.
     *
     * @return the sub-task as stored, or empty when the claim was not {@code instance}'s (nothing was written)
     */
    Optional<SubTask> decline(long taskId, String instance, String reason);

    @Override
    void close();
}
