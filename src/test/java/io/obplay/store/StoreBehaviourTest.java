package io.obplay.store;

import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.TaskData;
import io.obplay.plan.Times;
import io.obplay.store.sqlite.Fixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The behaviour every {@link Store} has, run against each of them ({@link StoreKind}: SQLite, and the MySQL-protocol
 * store on a real MariaDB), so they cannot drift. Store-specific properties (SQLite's file, pragmas and WAL) are
 * tested in their own classes.
 */
class StoreBehaviourTest {
    @TempDir
    Path tmp;

    private final List<StoreKind.Backing> backings = new ArrayList<>();

    StoreKind.Backing backing(StoreKind kind) {
        StoreKind.Backing b = kind.backing(tmp);
        backings.add(b);
        return b;
    }

    @AfterEach
    void dropBackings() {
        backings.forEach(StoreKind.Backing::close);
    }

    /** The planned DAG with the ids the store gave {@code stored}, level by level. */
    static Dag withIdsOf(Dag planned, Dag stored) {
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < planned.nodes().size(); i++) {
            Node pn = planned.nodes().get(i);
            Node sn = stored.nodes().get(i);
            List<SubTask> tasks = new ArrayList<>();
            for (int j = 0; j < pn.subTasks().size(); j++) {
                SubTask st = sn.subTasks().get(j);
                tasks.add(pn.subTasks().get(j).withIds(st.id(), st.taskId()));
            }
            nodes.add(pn.withIds(sn.id(), sn.nodeId()).withSubTasks(tasks));
        }
        return planned.withIds(stored.id(), stored.dagId()).withNodes(nodes);
    }

    private static List<Long> taskIds(Dag d) {
        return d.nodes().stream().flatMap(n -> n.subTasks().stream()).map(SubTask::taskId).toList();
    }

    /** A store records its schema version once; a store of a newer obplay is refused, not damaged. */
    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aSchemaNewerThanThisObplayIsRefusedAndNotDamaged(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        try (Store store = backing.open()) {
            assertTrue(store.dags(5).isEmpty());
        }
        assertEquals(List.of("1", "2"), backing.query("SELECT version FROM schema_version ORDER BY version"));
        try (Store store = backing.open()) {
            assertEquals(List.of("2"), backing.query("SELECT COUNT(*) FROM schema_version"), "re-open does not migrate again");
            assertTrue(store.dags(1).isEmpty());
        }
        backing.exec("INSERT INTO schema_version (version, applied_at) VALUES (99, 'later')");
        StoreException e = assertThrows(StoreException.class, backing::open);
        assertTrue(e.getMessage().contains("schema version 99"), e.getMessage());
        assertTrue(e.getMessage().contains("newer than this obplay"), e.getMessage());
        assertEquals(List.of("1", "2", "99"), backing.query("SELECT version FROM schema_version ORDER BY version"));
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void fullDagRoundTripsEveryFieldAtEveryLevel(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        Dag planned = Fixtures.full();
        try (Store store = backing.open()) {
            Dag stored = store.insert(planned, Fixtures.AGENT, true);
            Dag read = store.dag(stored.dagId()).orElseThrow();

            assertEquals(withIdsOf(planned, stored), stored, "insert returns the planned DAG with its new ids");
            assertEquals(stored, read, "what is read back is what insert returned");
            assertEquals(3, read.nodes().size());
            assertEquals(List.of(3, 0, 1), read.nodes().stream().map(n -> n.subTasks().size()).toList());

            // times: offset and nanoseconds kept; obshell's unset time and null both kept as they were
            SubTask s1 = read.nodes().get(0).subTasks().get(0);
            assertEquals(742_036_555, s1.startTime().getNano());
            assertEquals(ZoneOffset.ofHours(8), s1.startTime().getOffset());
            assertEquals(1, s1.endTime().getNano());
            assertEquals(ZoneOffset.ofHoursMinutesSeconds(5, 45, 30), read.nodes().get(0).subTasks().get(1).endTime().getOffset());
            assertEquals(Times.UNSET, read.endTime());
            assertEquals(Times.UNSET, read.nodes().get(0).subTasks().get(2).startTime());
            assertNull(read.nodes().get(0).subTasks().get(2).endTime());
            assertNull(read.nodes().get(2).startTime());

            // additional_data: null stays null, empty stays empty, values as Jackson reads them
            assertNull(read.nodes().get(0).additionalData());
            assertEquals(Map.of(), read.nodes().get(1).additionalData());
            assertEquals(Map.of(), read.nodes().get(0).subTasks().get(1).additionalData());
            assertNull(read.nodes().get(0).subTasks().get(2).additionalData());
            Map<String, Object> data = read.additionalData();
            assertEquals(List.of("scope", "targets", "small", "big", "ratio", "force", "nothing", "unicode", "nested"),
                    List.copyOf(data.keySet()), "key order kept");
            assertInstanceOf(Integer.class, data.get("small"));
            assertEquals(9_876_543_210L, data.get("big"));
            assertInstanceOf(Double.class, data.get("ratio"));
            assertEquals(Boolean.TRUE, data.get("force"));
            assertTrue(data.containsKey("nothing"));
            assertNull(data.get("nothing"));
            assertInstanceOf(List.class, data.get("targets"));
            assertEquals("区域 ✓ 🚀", data.get("unicode"));
            TaskData td = s1.data();
            assertEquals(1, td.stepIndex());
            assertEquals(30, td.timeoutSeconds());
            assertEquals(List.of("SIGTERM", "SIGKILL after 30 s"), td.signals());

            // logs: order, unicode, empty and multi-line lines
            assertEquals(List.of("line one", "第二行 — ünïcödé 🚀", "", "  indented\ttab", "embedded\nnewline", "last"),
                    s1.taskLogs());
            assertEquals(List.of(), read.nodes().get(0).subTasks().get(1).taskLogs());

            // execute_agent, including none
            assertEquals(65535, read.nodes().get(0).subTasks().get(1).executeAgent().port());
            assertNull(read.nodes().get(0).subTasks().get(2).executeAgent());
        }
        // stored text forms: ISO times with offset and nanoseconds, JSON additional_data, NULL for null
        assertEquals(List.of("2025-03-20T15:20:30.742036555+08:00"), backing.query("SELECT start_time FROM dags"));
        assertEquals(List.of("0001-01-01T00:00:00Z"), backing.query("SELECT end_time FROM dags"));
        assertEquals(java.util.Arrays.asList(null, "{}", "{\"k\":[{\"a\":1}]}"),
                backing.query("SELECT additional_data FROM nodes ORDER BY id"));
        assertEquals(6 + 0 + 1 + 2, Integer.parseInt(backing.query("SELECT COUNT(*) FROM task_logs").get(0)));
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void idsComeFromTheDatabaseAndGenericIdsFollowTheScheme(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        try (Store store = backing.open()) {
            Dag d1 = store.insert(Fixtures.planned("one", Dag.MAINTENANCE_NONE, null, 2, 2, 1), Fixtures.AGENT, false);
            assertEquals(1, d1.dagId());
            assertEquals("22130706433028861", d1.id());
            assertEquals(List.of(1L, 2L), d1.nodes().stream().map(Node::nodeId).toList());
            assertEquals(List.of("22130706433028861", "22130706433028862"), d1.nodes().stream().map(Node::id).toList());
            assertEquals(List.of(1L, 2L, 3L, 4L), taskIds(d1));
            assertEquals("22130706433028864", d1.nodes().get(1).subTasks().get(1).id());

            // node and sub-task ids run on their own sequences, across DAGs; obproxy DAGs use kind 4
            Dag d2 = store.insert(Fixtures.planned("two", Dag.MAINTENANCE_OBPROXY, "obproxy", 2, 2, 0), Fixtures.OBPROXY, true);
            assertEquals(2, d2.dagId());
            assertEquals("40167772167029832", d2.id());
            assertEquals(List.of(3L, 4L), d2.nodes().stream().map(Node::nodeId).toList());
            assertEquals(List.of(5L, 6L, 7L, 8L), taskIds(d2));
            assertEquals("40167772167029838", d2.nodes().get(1).subTasks().get(1).id());
            assertEquals(d2, store.dag(2).orElseThrow());

            Dag last = null;
            for (int i = 3; i <= 9; i++) {
                last = store.insert(Fixtures.planned("d" + i, Dag.MAINTENANCE_NONE, null, 1, 1, 0), Fixtures.AGENT, false);
            }
            assertEquals(9, last.dagId());
            assertEquals("22130706433028869", last.id(), "obshell's example: 127.0.0.1:2886, dag 9");
            assertEquals("22130706433028869", store.dag(9).orElseThrow().id());
        }

        // ids are never reused, even after the newest rows are deleted (say by a clean-up)
        backing.exec("DELETE FROM task_logs WHERE task_id IN (SELECT t.id FROM sub_tasks t JOIN nodes n ON n.id = t.node_id WHERE n.dag_id = 9)");
        backing.exec("DELETE FROM sub_tasks WHERE node_id IN (SELECT id FROM nodes WHERE dag_id = 9)");
        backing.exec("DELETE FROM nodes WHERE dag_id = 9");
        backing.exec("DELETE FROM dags WHERE id = 9");
        assertEquals("0", backing.query("SELECT COUNT(*) FROM dags WHERE id = 9").get(0));
        assertEquals("0", backing.query("SELECT COUNT(*) FROM nodes WHERE dag_id = 9").get(0));
        try (Store store = backing.open()) {
            assertTrue(store.dag(9).isEmpty());
            Dag d10 = store.insert(Fixtures.planned("ten", Dag.MAINTENANCE_NONE, null, 1, 1, 0), Fixtures.AGENT, false);
            assertEquals(10, d10.dagId());
            assertEquals(12, d10.nodes().get(0).nodeId());
            assertEquals(16, d10.nodes().get(0).subTasks().get(0).taskId());
            assertEquals("221307064330288610", d10.id());
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void updatesTouchOnlyTheirLevelAndFields(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        OffsetDateTime t = OffsetDateTime.of(2025, 6, 1, 12, 0, 0, 123_456_789, ZoneOffset.ofHours(-7));
        try (Store store = backing.open()) {
            Dag d = store.insert(Fixtures.planned("u", Dag.MAINTENANCE_GLOBAL, "k", 2, 2, 1), Fixtures.AGENT, false);
            Node n1 = d.nodes().get(0);
            SubTask s11 = n1.subTasks().get(0);

            // DAG level: stage, state, operator, times; not the name, data or nodes
            Dag changed = new Dag("x", d.dagId(), "renamed", 2, 99, 4, "other", State.RUNNING, Operator.RETRY, t,
                    Times.UNSET, Map.of("new", 1), List.of());
            store.updateDag(changed);
            Dag read = store.dag(d.dagId()).orElseThrow();
            assertEquals(d.withState(2, State.RUNNING, Operator.RETRY, t, Times.UNSET), read);

            // node level
            store.updateNode(n1.withState(State.RUNNING, Operator.RUN, t, null).withSubTasks(List.of()));
            Node n1read = store.node(n1.nodeId()).orElseThrow();
            assertEquals(n1.withState(State.RUNNING, Operator.RUN, t, null), n1read);
            assertEquals(2, n1read.subTasks().size(), "sub-tasks untouched");

            // sub-task level: state, operator, times, execute_times, plus logs appended in the same transaction
            store.updateSubTask(s11.withState(State.FAILED, Operator.RETRY, t, t.plusSeconds(1), 2,
                    List.of("ignored: logs come from newLogs")), List.of("boom", "exit 137"));
            SubTask s11read = store.subTask(s11.taskId()).orElseThrow();
            assertEquals(State.FAILED, s11read.state());
            assertEquals(Operator.RETRY, s11read.operator());
            assertEquals(t, s11read.startTime());
            assertEquals(t.plusSeconds(1), s11read.endTime());
            assertEquals(2, s11read.executeTimes());
            assertEquals(List.of("n1 t1 line 1", "boom", "exit 137"), s11read.taskLogs());
            assertEquals(s11.additionalData(), s11read.additionalData());
            assertEquals(s11.executeAgent(), s11read.executeAgent());

            store.appendLogs(s11.taskId(), List.of("retry 1"));
            store.appendLogs(s11.taskId(), List.of());
            store.updateSubTask(s11read.withState(State.SUCCEED, Operator.RETRY, t, t, 3, List.of()), null);
            SubTask after = store.subTask(s11.taskId()).orElseThrow();
            assertEquals(List.of("n1 t1 line 1", "boom", "exit 137", "retry 1"), after.taskLogs());
            assertEquals(State.SUCCEED, after.state());

            // the other sub-tasks and nodes did not move
            Dag whole = store.dag(d.dagId()).orElseThrow();
            assertEquals(d.nodes().get(1), whole.nodes().get(1));
            assertEquals(n1.subTasks().get(1), whole.nodes().get(0).subTasks().get(1));

            // parents
            assertEquals(Optional.of(d.dagId()), store.dagOfNode(n1.nodeId()));
            assertEquals(Optional.of(n1.nodeId()), store.nodeOfSubTask(s11.taskId()));

            // owner
            assertEquals(Optional.empty(), store.owner(d.dagId()));
            store.setOwner(d.dagId(), "4242@host-a");
            assertEquals(Optional.of("4242@host-a"), store.owner(d.dagId()));
            store.setOwner(d.dagId(), null);
            assertEquals(Optional.empty(), store.owner(d.dagId()));

            // unknown ids
            assertTrue(store.dag(777).isEmpty());
            assertTrue(store.node(777).isEmpty());
            assertTrue(store.subTask(777).isEmpty());
            assertTrue(store.dagOfNode(777).isEmpty());
            assertTrue(store.nodeOfSubTask(777).isEmpty());
            assertThrows(NoSuchElementException.class, () -> store.updateDag(d.withIds("x", 777)));
            assertThrows(NoSuchElementException.class, () -> store.updateNode(n1.withIds("x", 777)));
            assertThrows(NoSuchElementException.class, () -> store.updateSubTask(s11.withIds("x", 777), List.of("a")));
            assertThrows(NoSuchElementException.class, () -> store.appendLogs(777, List.of("a")));
            assertThrows(NoSuchElementException.class, () -> store.setOwner(777, "me"));
            assertEquals(List.of("n1 t1 line 1", "boom", "exit 137", "retry 1"),
                    store.subTask(s11.taskId()).orElseThrow().taskLogs(), "a failed update appended nothing");
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void listingsComeWithoutNodes(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        try (Store store = backing.open()) {
            Dag a = store.insert(Fixtures.planned("a", Dag.MAINTENANCE_NONE, null, 1, 1, 0), Fixtures.AGENT, false);
            Dag b = store.insert(Fixtures.maintenance("b", "ob"), Fixtures.AGENT, true);
            Dag c = store.insert(Fixtures.planned("c", Dag.MAINTENANCE_NONE, null, 1, 1, 0), Fixtures.AGENT, false);
            Dag e = store.insert(Fixtures.maintenance("e", "agent"), Fixtures.AGENT, true);
            OffsetDateTime now = OffsetDateTime.now();
            store.updateDag(a.withState(1, State.FAILED, Operator.RUN, now, now));      // plain FAILED: finished
            store.updateDag(b.withState(2, State.FAILED, Operator.RUN, now, now));      // maintenance FAILED: unfinished
            store.updateDag(c.withState(1, State.SUCCEED, Operator.RUN, now, now));
            // e stays READY

            List<Dag> all = store.dags(10);
            assertEquals(List.of(e.dagId(), c.dagId(), b.dagId(), a.dagId()), all.stream().map(Dag::dagId).toList());
            assertTrue(all.stream().allMatch(d -> d.nodes().isEmpty()));
            assertEquals(List.of(e.dagId(), c.dagId()), store.dags(2).stream().map(Dag::dagId).toList());
            assertEquals(List.of(), store.dags(0));
            assertThrows(IllegalArgumentException.class, () -> store.dags(-1));

            assertEquals(List.of(b.dagId(), e.dagId()), store.unfinished().stream().map(Dag::dagId).toList());
            assertTrue(store.unfinished().stream().allMatch(d -> d.nodes().isEmpty()));

            Dag latest = store.latestMaintenance("ob").orElseThrow();
            assertEquals(b.dagId(), latest.dagId());
            assertEquals(State.FAILED, latest.state());
            assertEquals(List.of(), latest.nodes());
            assertEquals(b.withNodes(List.of()).withState(2, State.FAILED, Operator.RUN, now, now), latest);
            assertTrue(store.latestMaintenance("nobody").isEmpty());
            assertEquals(e.dagId(), store.lockHolder("agent").orElseThrow().dagId());
            assertTrue(store.lockHolder("agent").orElseThrow().nodes().isEmpty());
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void reopeningKeepsEverything(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        Dag full;
        Dag second;
        try (Store store = backing.open()) {
            full = store.insert(Fixtures.full(), Fixtures.AGENT, false);
            second = store.insert(Fixtures.maintenance("m", "ob"), Fixtures.AGENT, true);
            SubTask t = second.nodes().get(1).subTasks().get(0);
            store.updateSubTask(t.withState(State.RUNNING, Operator.RUN, Times.UNSET, Times.UNSET, 1, List.of()), List.of("x"));
            store.setOwner(second.dagId(), "1@h");
            second = store.dag(second.dagId()).orElseThrow();
        }
        Store closed = backing.open();
        closed.close();
        closed.close(); // twice is fine
        assertThrows(IllegalStateException.class, () -> closed.dags(1));

        try (Store store = backing.open()) {
            assertEquals(full, store.dag(full.dagId()).orElseThrow());
            assertEquals(second, store.dag(second.dagId()).orElseThrow());
            assertEquals(Optional.of("1@h"), store.owner(second.dagId()));
            assertEquals(second.dagId(), store.lockHolder("ob").orElseThrow().dagId());
            assertEquals(3, store.insert(Fixtures.planned("n", 1, null, 1, 1, 0), Fixtures.AGENT, false).dagId());
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void additionalDataThatIsNotJsonIsRefusedAndNothingIsStored(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        try (Store store = backing.open()) {
            Map<String, Object> bad = new LinkedHashMap<>();
            bad.put("thread", new Object());
            Dag planned = Fixtures.planned("bad", 1, null, 1, 1, 0);
            Dag withBad = new Dag(null, 0, "bad", 1, 1, 1, null, State.READY, Operator.RUN, null, null, null,
                    List.of(planned.nodes().get(0).withIds(null, 0), new Node(null, 0, "n", State.READY, Operator.RUN,
                            null, null, bad, List.of())));
            assertThrows(IllegalArgumentException.class, () -> store.insert(withBad, Fixtures.AGENT, false));
            assertEquals(List.of(), store.dags(10), "the half-inserted DAG was rolled back");
            assertEquals(1, store.insert(planned, Fixtures.AGENT, false).dagId());
            assertEquals("0", backing.query("SELECT COUNT(*) FROM nodes WHERE dag_id <> 1").get(0));
        }
    }

    /**
     * A transition reads the DAG and its owner, writes what it decided (and what applyTo predicts is what is then
     * read back), writes nothing when it refuses or fails, and may write only records of its own DAG.
     */
    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aTransitionWritesWhatItDecidedOrNothing(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        try (Store store = backing.open()) {
            Dag d = store.insert(Fixtures.planned("t", Dag.MAINTENANCE_NONE, null, 2, 2, 1), Fixtures.AGENT, false, "1@creator");
            Dag other = store.insert(Fixtures.planned("other", Dag.MAINTENANCE_NONE, null, 1, 1, 0), Fixtures.AGENT, false);
            assertEquals(Optional.of("1@creator"), store.owner(d.dagId()), "the owner is recorded with the insert");
            assertEquals(Optional.empty(), store.owner(other.dagId()));

            OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC);
            List<String> seenOwner = new ArrayList<>();
            io.obplay.store.Transition t = (dag, owner) -> {
                seenOwner.add(owner);
                Node n = dag.nodes().get(0);
                SubTask task = n.subTasks().get(1);
                return io.obplay.store.Change.none()
                        .withSubTask(task.withState(State.FAILED, Operator.RUN, now, now, 1, task.taskLogs()), List.of("one"))
                        .withSubTask(task.withState(State.SUCCEED, Operator.PASS, now, now, 2, task.taskLogs()), List.of("two"))
                        .withNode(n.withState(State.SUCCEED, Operator.PASS, now, now))
                        .withDag(dag.withState(2, State.RUNNING, Operator.RUN, now, now))
                        .withOwner("2@runner");
            };
            Dag before = store.dag(d.dagId()).orElseThrow();
            Dag predicted = t.decide(before, "1@creator").applyTo(before);
            Dag after = store.transition(d.dagId(), t);
            assertEquals(List.of("1@creator", "1@creator"), seenOwner);
            assertEquals(predicted, after, "applyTo says what the store then holds");
            assertEquals(after, store.dag(d.dagId()).orElseThrow());
            SubTask task = after.nodes().get(0).subTasks().get(1);
            assertEquals(State.SUCCEED, task.state(), "the later write of a record wins");
            assertEquals(2, task.executeTimes());
            assertEquals(3, task.taskLogs().size(), task.taskLogs().toString());
            assertEquals(List.of("one", "two"), task.taskLogs().subList(1, 3), "log lines add up");
            assertEquals(State.RUNNING, after.state());
            assertEquals(Optional.of("2@runner"), store.owner(d.dagId()));

            // refused: the typed refusal, nothing written
            io.obplay.store.Refused r = assertThrows(io.obplay.store.Refused.class, () -> store.transition(d.dagId(), (dag, owner) -> {
                throw new io.obplay.store.Refused(io.obplay.store.Refusal.RETRY_NOT_FAILED, "no");
            }));
            assertEquals(io.obplay.store.Refusal.RETRY_NOT_FAILED, r.refusal());
            assertEquals(after, store.dag(d.dagId()).orElseThrow());
            assertEquals(io.obplay.store.Refusal.NO_SUCH_DAG, assertThrows(io.obplay.store.Refused.class,
                    () -> store.transition(999, (dag, owner) -> io.obplay.store.Change.none())).refusal());

            // a change that fails half-way, or touches another DAG, writes nothing at all
            Node foreign = store.dag(other.dagId()).orElseThrow().nodes().get(0);
            assertThrows(IllegalArgumentException.class, () -> store.transition(d.dagId(), (dag, owner) -> io.obplay.store.Change.none()
                    .withDag(dag.withState(1, State.FAILED, Operator.CANCEL, now, now))
                    .withNode(foreign.withState(State.FAILED, Operator.CANCEL, now, now))));
            assertEquals(after, store.dag(d.dagId()).orElseThrow());
            assertEquals(State.READY, store.dag(other.dagId()).orElseThrow().nodes().get(0).state(), "the other DAG is untouched");
            assertEquals(Optional.of("2@runner"), store.owner(d.dagId()));
        }
    }

    /** Sets the DAG and its first node RUNNING and that node's sub-tasks PENDING, as an owner opening a stage does. */
    private static Dag openFirstStage(Store store, Dag d) throws Refused {
        return store.transition(d.dagId(), (dag, owner) -> {
            Node n = dag.nodes().get(0);
            Change c = Change.none().withDag(dag.withState(1, State.RUNNING, Operator.RUN, dag.startTime(), dag.endTime()))
                    .withNode(n.withState(State.RUNNING, n.operator(), Times.now(), Times.UNSET));
            for (SubTask t : n.subTasks()) {
                c = c.withSubTask(t.withState(State.PENDING, t.operator(), t.startTime(), t.endTime(), t.executeTimes(), t.taskLogs()), List.of());
            }
            return c;
        });
    }

    /**
     * Work spread over instances: claims are atomic (instances claiming at once never get one sub-task twice), only in
     * a RUNNING stage of a RUNNING DAG that is not being cancelled; a write fenced by the claim is refused to anyone
     * but its holder; a declined sub-task goes to another instance and fails once every live instance declined it,
     * with each one's reason; a PENDING sub-task written through a transition is no instance's.
     */
    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void subTasksAreClaimedOnceFencedByTheirClaimAndDeclinedToOthers(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        try (Store store = backing.open()) {
            Dag d = store.insert(Fixtures.planned("spread", Dag.MAINTENANCE_NONE, null, 1, 40, 0), Fixtures.AGENT, false);
            long nodeId = d.nodes().get(0).nodeId();
            assertTrue(store.claim(nodeId, "1@a", 5).isEmpty(), "nothing is claimed before the stage runs");
            d = openFirstStage(store, d);

            // four instances claiming at once, a few at a time, until nothing is left: each sub-task goes to one
            java.util.concurrent.ConcurrentHashMap<Long, String> owners = new java.util.concurrent.ConcurrentHashMap<>();
            java.util.concurrent.atomic.AtomicInteger twice = new java.util.concurrent.atomic.AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            for (String who : List.of("1@a", "2@b", "3@c", "4@d")) {
                Thread t = new Thread(() -> {
                    while (true) {
                        List<SubTask> got = store.claim(nodeId, who, 3);
                        if (got.isEmpty()) {
                            return;
                        }
                        for (SubTask st : got) {
                            assertEquals(State.RUNNING, st.state());
                            assertEquals(who, st.ranBy());
                            if (owners.putIfAbsent(st.taskId(), who) != null) {
                                twice.incrementAndGet();
                            }
                        }
                    }
                });
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) {
                t.join(60_000);
            }
            assertEquals(0, twice.get(), "no sub-task claimed twice");
            assertEquals(40, owners.size(), "every sub-task claimed");
            Node stored = store.node(nodeId).orElseThrow();
            for (SubTask t : stored.subTasks()) {
                assertEquals(State.RUNNING, t.state());
                assertEquals(owners.get(t.taskId()), t.ranBy(), "the store records who claimed it");
            }

            // the fence: only the claim's holder may write the sub-task
            SubTask first = stored.subTasks().get(0);
            String holder = first.ranBy();
            String other = holder.equals("1@a") ? "2@b" : "1@a";
            SubTask done = first.withState(State.SUCCEED, Operator.RUN, Times.now(), Times.now(), 1, List.of());
            assertTrue(!store.updateClaimed(done, List.of("by the wrong instance"), other), "refused to another instance");
            assertEquals(State.RUNNING, store.subTask(first.taskId()).orElseThrow().state(), "nothing written");
            assertTrue(store.subTask(first.taskId()).orElseThrow().taskLogs().isEmpty());
            assertTrue(store.updateClaimed(done, List.of("done"), holder));
            assertEquals(State.SUCCEED, store.subTask(first.taskId()).orElseThrow().state());
            assertEquals(holder, store.subTask(first.taskId()).orElseThrow().ranBy());

            // declines: x is declined by its holder, claimed by another live instance, declined there too: FAILED
            store.heartbeat("1@a");
            store.heartbeat("2@b");
            assertTrue(store.liveInstances().containsAll(List.of("1@a", "2@b")), store.liveInstances().toString());
            SubTask x = store.node(nodeId).orElseThrow().subTasks().stream()
                    .filter(t -> t.state() == State.RUNNING && t.ranBy().equals("1@a")).findFirst().orElseThrow();
            assertTrue(store.decline(x.taskId(), "2@b", "not mine").isEmpty(), "only the claim's holder may decline it");
            // the others' claims go back to PENDING through a transition (as a takeover writes them): no one's then
            Dag now = store.dag(d.dagId()).orElseThrow();
            store.transition(d.dagId(), (dag, owner) -> {
                Change c = Change.none();
                for (SubTask t : dag.nodes().get(0).subTasks()) {
                    if (t.state() == State.RUNNING && t.taskId() != x.taskId()) {
                        c = c.withSubTask(t.withState(State.PENDING, t.operator(), t.startTime(), t.endTime(), t.executeTimes(), t.taskLogs()), List.of());
                    }
                }
                return c;
            });
            assertTrue(store.node(nodeId).orElseThrow().subTasks().stream().filter(t -> t.state() == State.PENDING)
                    .allMatch(t -> t.ranBy() == null), "PENDING is no instance's");
            assertEquals(38, store.node(nodeId).orElseThrow().subTasks().stream().filter(t -> t.state() == State.PENDING).count());
            SubTask left = store.decline(x.taskId(), "1@a", "cannot reach host 10.0.0.1: connection refused").orElseThrow();
            assertEquals(State.PENDING, left.state());
            assertNull(left.ranBy());
            assertTrue(left.taskLogs().get(left.taskLogs().size() - 2).startsWith("declined by obplay 1@a: cannot reach host"), left.taskLogs().toString());
            List<Long> againByA = store.claim(nodeId, "1@a", 100).stream().map(SubTask::taskId).toList();
            assertTrue(!againByA.contains(x.taskId()), "an instance never claims what it declined");
            assertEquals(38, againByA.size());
            List<SubTask> byB = store.claim(nodeId, "2@b", 100);
            assertEquals(List.of(x.taskId()), byB.stream().map(SubTask::taskId).toList(), "the declined one goes to another");
            SubTask failed = store.decline(x.taskId(), "2@b", "cannot reach host 10.0.0.1: no route").orElseThrow();
            boolean onlyTwoLive = store.liveInstances().size() == 2;
            if (onlyTwoLive) {
                assertEquals(State.FAILED, failed.state(), "every live instance declined it");
                String last = failed.taskLogs().get(failed.taskLogs().size() - 1);
                assertTrue(last.startsWith("FAILED: every live obplay instance (2) declined it: "), last);
                assertTrue(last.contains("1@a: cannot reach host 10.0.0.1: connection refused"), last);
                assertTrue(last.contains("2@b: cannot reach host 10.0.0.1: no route"), last);
            }
            assertTrue(onlyTwoLive, "the presence of 1@a and 2@b only: " + store.liveInstances());

            // a cancelled DAG gives out no more claims
            store.transition(d.dagId(), (dag, owner) -> Change.none().withDag(dag.withState(1, State.RUNNING, Operator.CANCEL,
                    dag.startTime(), dag.endTime())));
            store.transition(d.dagId(), (dag, owner) -> {
                SubTask t = dag.nodes().get(0).subTasks().get(1);
                return Change.none().withSubTask(t.withState(State.PENDING, t.operator(), t.startTime(), t.endTime(), 0, t.taskLogs()), List.of());
            });
            assertTrue(store.claim(nodeId, "3@c", 10).isEmpty(), "no claims once the DAG is being cancelled");
            assertTrue(now.dagId() > 0);
        }
    }
}
