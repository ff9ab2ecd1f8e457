package io.obplay.store.sqlite;

import io.obplay.plan.Dag;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.store.UnderMaintenanceException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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

class MaintenanceLockTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(180)
    void twoProcessesRacingExactlyOneWinsEachRound() throws Exception {
        int rounds = 40;
        Path childErr = tmp.resolve("child.err");
        Process child = ChildProcess.start("race", tmp, childErr);
        int childWins = 0;
        int ourWins = 0;
        try (SqliteStore store = SqliteStore.open(tmp);
             BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
             Writer in = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8)) {
            assertEquals("ready", out.readLine(), () -> ChildProcess.err(childErr));
            for (int i = 0; i < rounds; i++) {
                String key = "proc-" + i;
                long at = System.currentTimeMillis() + 40;
                in.write(key + " " + at + "\n");
                in.flush();
                while (System.currentTimeMillis() < at) {
                    Thread.onSpinWait();
                }
                Dag ours = null;
                UnderMaintenanceException refused = null;
                try {
                    ours = store.insert(Fixtures.maintenance("parent " + key, key), Fixtures.AGENT, true);
                } catch (UnderMaintenanceException e) {
                    refused = e;
                }
                String line = out.readLine();
                assertNotNull(line, () -> "child died: " + ChildProcess.err(childErr));
                String[] p = line.split(" ");
                assertEquals(key, p[1], line);
                long childId = Long.parseLong(p[2]);
                if (ours != null) {
                    assertEquals("lost", p[0], "round " + i + ": both won");
                    assertEquals(ours.dagId(), childId, "the child names our DAG as holder");
                    ourWins++;
                } else {
                    assertEquals("won", p[0], "round " + i + ": nobody won");
                    assertEquals(childId, refused.holder().dagId(), "we are refused naming the child's DAG");
                    childWins++;
                }
                Dag holder = store.lockHolder(key).orElseThrow();
                assertEquals(ours != null ? ours.dagId() : childId, holder.dagId());
            }
            in.write("end\n");
            in.flush();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, child.exitValue(), () -> ChildProcess.err(childErr));
            assertEquals(rounds, store.dags(10_000).size(), "exactly one DAG per round");
            assertEquals(rounds, ourWins + childWins);
            System.out.println("process race: parent won " + ourWins + ", child won " + childWins);
        } finally {
            child.destroyForcibly();
        }
        assertTrue(Files.exists(tmp.resolve(SqliteStore.FILE_NAME)));
    }
}
