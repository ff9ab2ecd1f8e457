package io.obplay.store;

import io.obplay.plan.Dag;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.store.sqlite.Fixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The maintenance lock of every {@link Store} ({@link StoreKind}): one holder per key, exactly one winner of a race. */
class MaintenanceLockBehaviourTest {
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

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void oneMaintenanceDagPerKeyUntilItSucceeds(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        try (Store store = backing.open()) {
            Dag first = store.insert(Fixtures.maintenance("Stop OB", "ob"), Fixtures.AGENT, true);

            UnderMaintenanceException e = assertThrows(UnderMaintenanceException.class,
                    () -> store.insert(Fixtures.maintenance("Stop OB again", "ob"), Fixtures.AGENT, true));
            assertEquals(first.dagId(), e.holder().dagId());
            assertEquals(first.id(), e.holder().id());
            assertTrue(e.holder().nodes().isEmpty());
            assertTrue(e.getMessage().contains("DAG " + first.id()), e.getMessage());
            assertEquals(1, store.dags(10).size(), "the refused DAG was not stored");

            // other keys, non-maintenance DAGs and non-exclusive inserts are not refused
            Dag other = store.insert(Fixtures.maintenance("Stop obproxy", "obproxy"), Fixtures.OBPROXY, true);
            Dag plain = store.insert(Fixtures.planned("plain", Dag.MAINTENANCE_NONE, "ob", 1, 1, 0), Fixtures.AGENT, true);
            assertEquals(3, plain.dagId());
            assertEquals(other.dagId(), store.lockHolder("obproxy").orElseThrow().dagId());

            OffsetDateTime now = OffsetDateTime.now();
            for (State s : List.of(State.PENDING, State.RUNNING, State.READY)) {
                store.updateDag(first.withState(1, s, Operator.RUN, now, now));
                assertEquals(first.dagId(), store.lockHolder("ob").orElseThrow().dagId(), s + " holds");
            }
            // FAILED still holds, whatever was last asked of it short of PASS
            for (Operator op : List.of(Operator.RUN, Operator.RETRY, Operator.ROLLBACK, Operator.CANCEL)) {
                store.updateDag(first.withState(2, State.FAILED, op, now, now));
                assertEquals(first.dagId(), store.lockHolder("ob").orElseThrow().dagId(), "FAILED/" + op + " holds");
                UnderMaintenanceException again = assertThrows(UnderMaintenanceException.class,
                        () -> store.insert(Fixtures.maintenance("x", "ob"), Fixtures.AGENT, true));
                assertEquals(first.dagId(), again.holder().dagId());
                assertEquals(State.FAILED, again.holder().state());
            }
            assertEquals(first.dagId(), store.unfinished().get(0).dagId());

            // PASS ends it SUCCEED: the lock is free
            store.updateDag(first.withState(2, State.SUCCEED, Operator.PASS, now, now));
            assertTrue(store.lockHolder("ob").isEmpty());
            Dag second = store.insert(Fixtures.maintenance("Stop OB again", "ob"), Fixtures.AGENT, true);
            assertEquals(second.dagId(), store.lockHolder("ob").orElseThrow().dagId());
            assertEquals(second.dagId(), store.latestMaintenance("ob").orElseThrow().dagId());

            // a non-exclusive insert may add a second holder; the oldest one is reported
            Dag forced = store.insert(Fixtures.maintenance("forced", "ob"), Fixtures.AGENT, false);
            assertEquals(second.dagId(), store.lockHolder("ob").orElseThrow().dagId());
            assertEquals(forced.dagId(), store.latestMaintenance("ob").orElseThrow().dagId());
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aMaintenanceDagWithoutKeyLocksOtherKeylessOnes(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        try (Store store = backing.open()) {
            Dag first = store.insert(Fixtures.maintenance("a", null), Fixtures.AGENT, true);
            UnderMaintenanceException e = assertThrows(UnderMaintenanceException.class,
                    () -> store.insert(Fixtures.maintenance("b", null), Fixtures.AGENT, true));
            assertEquals(first.dagId(), e.holder().dagId());
            assertTrue(store.lockHolder("ob").isEmpty());
            assertEquals(first.dagId(), store.lockHolder(null).orElseThrow().dagId());
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    @Timeout(120)
    void twoThreadsRacingOnOneStoreOrTwoConnections(StoreKind kind) throws Exception {
        StoreKind.Backing backing = backing(kind);
        int rounds = 150;
        try (Store a = backing.open(); Store b = backing.open()) {
            int[] one = race(a, a, "same-", rounds);
            int[] two = race(a, b, "two-", rounds);
            assertEquals(rounds, one[0] + one[1]);
            assertEquals(rounds, two[0] + two[1]);
            assertEquals(2 * rounds, a.dags(10_000).size(), "exactly one DAG stored per round");
            System.out.println("thread race, one store: thread 1 won " + one[0] + ", thread 2 won " + one[1]
                    + "; two stores: a won " + two[0] + ", b won " + two[1]);
        }
    }

    /** Each round, two threads insert an exclusive DAG of a fresh key at once; returns how often each won. */
    private static int[] race(Store s0, Store s1, String prefix, int rounds) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        int[] wins = new int[2];
        try {
            for (int i = 0; i < rounds; i++) {
                String key = prefix + i;
                CyclicBarrier go = new CyclicBarrier(2);
                List<Future<Object>> results = new ArrayList<>();
                for (Store s : List.of(s0, s1)) {
                    results.add(pool.submit(() -> {
                        go.await();
                        try {
                            return s.insert(Fixtures.maintenance("race " + key, key), Fixtures.AGENT, true);
                        } catch (UnderMaintenanceException e) {
                            return e;
                        }
                    }));
                }
                Object r0 = results.get(0).get(30, TimeUnit.SECONDS);
                Object r1 = results.get(1).get(30, TimeUnit.SECONDS);
                Dag winner = r0 instanceof Dag d ? d : r1 instanceof Dag d ? d : null;
                Object loser = r0 instanceof Dag ? r1 : r0;
                assertNotNull(winner, "round " + i + ": nobody won: " + r0 + " / " + r1);
                if (!(loser instanceof UnderMaintenanceException e)) {
                    fail("round " + i + ": both won: " + r0 + " / " + r1);
                    return wins;
                }
                assertEquals(winner.dagId(), e.holder().dagId(), "round " + i + ": the loser names the winner");
                assertEquals(winner.dagId(), s0.lockHolder(key).orElseThrow().dagId());
                wins[r0 instanceof Dag ? 0 : 1]++;
            }
        } finally {
            pool.shutdownNow();
        }
        return wins;
    }
}
