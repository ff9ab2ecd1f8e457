package io.obplay.store.mysql;

import io.obplay.plan.Dag;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;
import io.obplay.store.sqlite.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The database restarted under a running store (a MariaDB of this test's own, stopped and started again on the same
 * port and data): writes made while it is down wait for it and then go on, each written once; the pooled
 * connections that died with it are replaced.
 */
@Timeout(240)
class StoreRestartTest {
    @Test
    void writesWaitForARestartedDatabaseAndAreWrittenOnce() throws Exception {
        try (MariaDbServer server = MariaDbServer.start()) {
            String db = server.newDatabase();
            try (MysqlStore store = MysqlStore.open(server.adminUrl(db), MariaDbServer.USER,
                    MariaDbServer.PASSWORD.toCharArray(), server.storeUrl(db))) {
                Dag d = store.insert(Fixtures.planned("restart", Dag.MAINTENANCE_NONE, null, 1, 2, 0), Fixtures.AGENT, false);
                SubTask t = d.nodes().get(0).subTasks().get(0);

                server.stop();
                CompletableFuture<Void> write = CompletableFuture.runAsync(() -> {
                    store.updateSubTask(t.withState(State.RUNNING, Operator.RUN, Times.now(), Times.UNSET, 1, List.of()),
                            List.of("written while the database was down"));
                    store.appendLogs(t.taskId(), List.of("and one more"));
                });
                Thread.sleep(3000);
                assertFalse(write.isDone(), "the write waits for the database");
                server.restart();
                write.get(90, TimeUnit.SECONDS);

                SubTask read = store.subTask(t.taskId()).orElseThrow();
                assertEquals(State.RUNNING, read.state());
                assertEquals(List.of("written while the database was down", "and one more"), read.taskLogs(), "each written once");
                assertEquals(1, store.dags(10).size());
                assertTrue(store.dag(d.dagId()).isPresent());
            }
        }
    }
}
