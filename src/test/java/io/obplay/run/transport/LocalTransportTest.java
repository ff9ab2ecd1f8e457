package io.obplay.run.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.obplay.inventory.SshSettings;
import io.obplay.inventory.TransportKind;
import io.obplay.run.Connection;
import io.obplay.run.ExecResult;
import io.obplay.run.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class LocalTransportTest {

    @Test
    void runsScriptsWithOutputAndExitCodesOnOneSharedConnection() throws Exception {
        try (Transport t = Transports.forKind(TransportKind.LOCAL)) {
            assertTrue(t instanceof LocalTransport);
            Connection a = t.connect(T.server("10.0.0.1", SshSettings.DEFAULTS));
            Connection b = t.connect(T.server("10.0.0.2", SshSettings.DEFAULTS));
            assertSame(a, b, "one connection for every host");
            T.Lines l = new T.Lines();
            ExecResult r = a.run("echo one; echo 'it'\"'\"'s $HOME' | tr a-z A-Z; echo oops >&2; "
                    + "cat; printf last; exit 5", Duration.ofSeconds(10), l);
            assertEquals(5, r.exitCode());
            assertFalse(r.timedOut());
            assertEquals(List.of("one", "IT'S $HOME", "last"), l.out);
            assertEquals(List.of("oops"), l.err);
            assertTrue(a.run("true", null, null).ok(), "no timeout, no sink");
        }
    }

    @Test
    void factoryPicksTheTransportForTheKind() {
        try (Transport ssh = Transports.forKind(TransportKind.SSH);
             Transport byDefault = Transports.forKind(null);
             Transport local = Transports.forKind(TransportKind.LOCAL)) {
            assertTrue(ssh instanceof SshTransport);
            assertEquals(SshTransport.Options.DEFAULT_MAX_HANDSHAKES, ((SshTransport) ssh).options().maxHandshakes());
            assertTrue(byDefault instanceof SshTransport);
            assertTrue(local instanceof LocalTransport);
        }
    }

    @Test
    void timeoutEndsTheWholeProcessTree() throws Exception {
        int n = T.uniqueSeconds();
        String pattern = "^sleep (" + n + "|" + (n + 1) + "|" + (n + 2) + ")$";
        try (LocalTransport t = new LocalTransport(Duration.ofSeconds(1))) {
            T.Lines l = new T.Lines();
            // one child ignores TERM: it needs the KILL after the grace period
            ExecResult r = t.connect(T.server("h", SshSettings.DEFAULTS)).run("echo started; sleep " + n + " & "
                    + "sh -c 'trap \"\" TERM; sleep " + (n + 2) + "' & sleep " + (n + 1) + "; echo never",
                    Duration.ofSeconds(1), l);
            assertTrue(r.timedOut());
            assertEquals(List.of("started"), l.out);
            assertTrue(r.elapsed().toMillis() >= 1000 && r.elapsed().toMillis() < 6000, r.elapsed().toString());
            List<String> left = T.pgrep(pattern);
            T.run("pkill", "-KILL", "-f", pattern);
            assertEquals(List.of(), left, "every process of the script is gone");
        }
    }

    @Test
    void interruptEndsTheTreeAndThrows() throws Exception {
        int n = T.uniqueSeconds();
        String pattern = "^sleep (" + n + "|" + (n + 1) + ")$";
        try (LocalTransport t = new LocalTransport()) {
            Connection c = t.connect(T.server("h", SshSettings.DEFAULTS));
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread runner = new Thread(() -> {
                try {
                    c.run("sleep " + n + " & sleep " + (n + 1), Duration.ofMinutes(5), null);
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            runner.start();
            try {
                assertTrue(T.await(() -> T.pgrep(pattern).size() == 2, Duration.ofSeconds(10)));
                runner.interrupt();
                runner.join(10_000);
                assertTrue(thrown.get() instanceof InterruptedException, String.valueOf(thrown.get()));
                assertEquals(List.of(), T.pgrep(pattern));
            } finally {
                runner.interrupt();
                T.run("pkill", "-f", pattern); // leave nothing behind even when an assertion failed
            }
        }
    }

    @Test
    void concurrentRuns() throws Exception {
        try (LocalTransport t = new LocalTransport()) {
            Connection c = t.connect(T.server("h", SshSettings.DEFAULTS));
            ExecutorService pool = Executors.newFixedThreadPool(16);
            try {
                List<Future<List<String>>> fs = new ArrayList<>();
                for (int i = 0; i < 32; i++) {
                    int k = i;
                    fs.add(pool.submit(() -> {
                        T.Lines l = new T.Lines();
                        assertEquals(0, c.run("sleep 0.1; echo " + k, Duration.ofSeconds(10), l).exitCode());
                        return l.out;
                    }));
                }
                for (int i = 0; i < 32; i++) {
                    assertEquals(List.of(String.valueOf(i)), fs.get(i).get());
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
