package io.obplay.run.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.obplay.inventory.HostKeyChecking;
import io.obplay.inventory.SshSettings;
import io.obplay.run.Connection;
import io.obplay.run.ExecResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Many hosts at once, the handshake bound, and the figures (printed to this test's output). */
@Timeout(300)
class SshScaleTest {

    @TempDir
    Path home;

    @Test
    void fiftyHostsConnectConcurrentlyWithinTheHandshakeBound() throws Exception {
        try (SshdFixture fx = new SshdFixture()) {
            List<SshdFixture.Host> hosts = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                hosts.add(fx.start("127.0.1." + (10 + i)));
            }
            // every host's key is new: accept-new writes them all to one fresh file, concurrently
            Path kh = home.resolve("ssh/known_hosts");
            ExecutorService pool = Executors.newFixedThreadPool(50);
            try (SshTransport t = new SshTransport(T.options(home).withMaxHandshakes(10))) {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<String>> fs = new ArrayList<>();
                for (SshdFixture.Host h : hosts) {
                    SshSettings s = T.with(T.ssh(fx, h), fx.keyFile().toString(), kh.toString(),
                            HostKeyChecking.ACCEPT_NEW);
                    fs.add(pool.submit(() -> {
                        go.await();
                        T.Lines l = new T.Lines();
                        ExecResult r = t.connect(T.server(h.address, s)).run("echo $SSH_CONNECTION",
                                Duration.ofSeconds(30), l);
                        assertEquals(0, r.exitCode());
                        return l.out.get(0);
                    }));
                }
                long t0 = System.nanoTime();
                go.countDown();
                for (int i = 0; i < hosts.size(); i++) {
                    String[] conn = fs.get(i).get().split(" ");
                    assertEquals(hosts.get(i).address, conn[2]);
                    assertEquals(String.valueOf(hosts.get(i).port), conn[3]);
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertEquals(50, t.sessionsOpened());
                assertEquals(50, t.handshakes(), "no retries were needed");
                assertTrue(t.peakHandshakesInFlight() <= 10, "bound: " + t.peakHandshakesInFlight());
                assertTrue(t.peakHandshakesInFlight() >= 2, "but concurrent: " + t.peakHandshakesInFlight());
                List<String> lines = Files.readAllLines(kh);
                assertEquals(50, lines.size());
                Set<String> expected = new HashSet<>();
                for (SshdFixture.Host h : hosts) {
                    expected.add(KnownHostsFile.lookupName(h.address, h.port) + " " + h.hostKeyLine());
                }
                assertEquals(expected, new HashSet<>(lines), "one intact line per host");
                System.out.printf(Locale.ROOT, "FIGURE 50 hosts: connect (max 10 handshakes in flight, peak %d) + "
                        + "first command, 50 threads: %d ms%n", t.peakHandshakesInFlight(), ms);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /**
     * Issue 16, section 9: a small jump box driving many hosts. 100 sshds on loopback, the controller's cores
     * kept busy by spinning threads (four times as many as it has cores), all 100 handshakes in flight at once
     * with the connect_timeout of 5s: every host is reached, none is called unreachable, none an
     * authentication failure. (Before connect_timeout meant TCP and banner only, this failed.)
     */
    @Test
    void aHundredHostsAreAllReachedWhileTheControllersCpuIsBusy() throws Exception {
        try (SshdFixture fx = new SshdFixture()) {
            int n = 100;
            List<SshdFixture.Host> hosts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                hosts.add(fx.start("127.0.3." + (10 + i)));
            }
            java.util.concurrent.atomic.AtomicBoolean spin = new java.util.concurrent.atomic.AtomicBoolean(true);
            List<Thread> spinners = new ArrayList<>();
            for (int i = 0; i < 4 * Runtime.getRuntime().availableProcessors(); i++) {
                Thread s = new Thread(() -> {
                    long x = 0;
                    while (spin.get()) {
                        x += Long.numberOfTrailingZeros(x * 31 + 7);
                    }
                    if (x == 42) {
                        System.out.print(""); // keep the loop from being optimised away
                    }
                }, "cpu-spinner");
                s.setDaemon(true);
                s.start();
                spinners.add(s);
            }
            ExecutorService pool = Executors.newFixedThreadPool(n);
            // every handshake in flight at once, and the tighter connect_timeout (5s)
            try (SshTransport t = new SshTransport(T.options(home).withMaxHandshakes(n))) {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<String>> fs = new ArrayList<>();
                for (SshdFixture.Host h : hosts) {
                    SshSettings s = T.ssh(fx, h);
                    SshSettings tight = new SshSettings(s.user(), s.port(), s.key(), s.knownHosts(),
                            s.hostKeyChecking(), Duration.ofSeconds(5), null);
                    fs.add(pool.submit(() -> {
                        go.await();
                        T.Lines l = new T.Lines();
                        try {
                            ExecResult r = t.connect(T.server(h.address, tight)).run("echo $SSH_CONNECTION",
                                    Duration.ofSeconds(60), l);
                            return r.exitCode() == 0 ? l.out.get(0) : "exit " + r.exitCode();
                        } catch (io.obplay.run.HostUnreachableException e) {
                            return "unreachable: " + e.getMessage();
                        } catch (RuntimeException e) {
                            return "error: " + e;
                        }
                    }));
                }
                long t0 = System.nanoTime();
                go.countDown();
                List<String> failed = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    String got = fs.get(i).get();
                    String[] conn = got.split(" ");
                    if (conn.length != 4 || !conn[2].equals(hosts.get(i).address)) {
                        failed.add(hosts.get(i).address + ": " + got);
                    }
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertEquals(List.of(), failed, "every host reached");
                assertEquals(n, t.sessionsOpened());
                System.out.printf(Locale.ROOT, "FIGURE %d hosts at once, %d spinning threads on %d cores: all "
                                + "reached in %d ms, %d handshakes (%d retried), peak %d in flight%n", n,
                        spinners.size(), Runtime.getRuntime().availableProcessors(), ms, t.handshakes(),
                        t.handshakes() - n, t.peakHandshakesInFlight());
            } finally {
                spin.set(false);
                pool.shutdownNow();
            }
        }
    }

    @Test
    void figuresHandshakeAndCommandCost() throws Exception {
        try (SshdFixture fx = new SshdFixture()) {
            SshdFixture.Host h = fx.start("127.0.0.5");
            // warm the JVM (class loading, JIT) before measuring
            for (int i = 0; i < 5; i++) {
                try (SshTransport t = new SshTransport(T.options(home))) {
                    t.connect(T.server(fx, h)).run("true", Duration.ofSeconds(10), null);
                }
            }
            int sessions = 30;
            long handshakeNs = 0;
            long firstCommandNs = 0;
            for (int i = 0; i < sessions; i++) {
                try (SshTransport t = new SshTransport(T.options(home))) {
                    long a = System.nanoTime();
                    Connection c = t.connect(T.server(fx, h));
                    long b = System.nanoTime();
                    assertEquals(0, c.run("true", Duration.ofSeconds(10), null).exitCode());
                    long d = System.nanoTime();
                    handshakeNs += b - a;
                    firstCommandNs += d - b;
                }
            }
            int commands = 300;
            long perCommandNs;
            long parallelNs;
            try (SshTransport t = new SshTransport(T.options(home))) {
                Connection c = t.connect(T.server(fx, h));
                for (int i = 0; i < 20; i++) {
                    c.run("true", Duration.ofSeconds(10), null);
                }
                long a = System.nanoTime();
                for (int i = 0; i < commands; i++) {
                    assertEquals(0, c.run("echo x", Duration.ofSeconds(10), null).exitCode());
                }
                perCommandNs = (System.nanoTime() - a) / commands;
                ExecutorService pool = Executors.newFixedThreadPool(8);
                try {
                    long p0 = System.nanoTime();
                    List<Future<ExecResult>> fs = new ArrayList<>();
                    for (int i = 0; i < commands; i++) {
                        fs.add(pool.submit(() -> c.run("echo x", Duration.ofSeconds(30), null)));
                    }
                    for (Future<ExecResult> f : fs) {
                        assertEquals(0, f.get().exitCode());
                    }
                    parallelNs = (System.nanoTime() - p0) / commands;
                } finally {
                    pool.shutdownNow();
                }
                assertEquals(1, t.handshakes());
            }
            double hs = handshakeNs / 1e6 / sessions;
            double first = firstCommandNs / 1e6 / sessions;
            double cmd = perCommandNs / 1e6;
            double par = parallelNs / 1e6;
            System.out.printf(Locale.ROOT, "FIGURE handshake+auth (new session, loopback sshd): %.1f ms avg of %d%n",
                    hs, sessions);
            System.out.printf(Locale.ROOT, "FIGURE first command on a new session: %.1f ms%n", first);
            System.out.printf(Locale.ROOT, "FIGURE further command on the reused session (sequential): %.1f ms%n", cmd);
            System.out.printf(Locale.ROOT, "FIGURE further command, 8 in parallel on one session: %.1f ms each "
                    + "(throughput)%n", par);
            assertTrue(hs < 1000, "handshake " + hs);
            assertTrue(cmd < 200, "command " + cmd);
        }
    }
}
