package io.obplay.run.transport;

import io.obplay.inventory.Server;
import io.obplay.run.Connection;
import io.obplay.run.ExecResult;
import io.obplay.run.HostUnreachableException;
import io.obplay.run.OutputSink;
import io.obplay.run.ScriptCancelledException;
import io.obplay.run.Transport;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs every "host"'s commands on this machine through {@code /bin/sh}: demos and tests. Each script leads its
 * own process group (through {@code setsid} when available), so a timeout or an interrupt ends the script
 * and everything it started: TERM to the group, a grace period, then KILL.
 */
public final class LocalTransport implements Transport {

    private static final String SETSID = findSetsid();

    private final Duration killGrace;
    private final ExecutorService readers;
    private final LocalConnection connection = new LocalConnection();
    private volatile boolean closed;

    public LocalTransport() {
        this(Duration.ofSeconds(2));
    }

    /** @param killGrace after TERM, how long a timed-out script's processes get before KILL */
    public LocalTransport(Duration killGrace) {
        this.killGrace = killGrace;
        AtomicInteger n = new AtomicInteger();
        this.readers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "obplay-local-output-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    private static String findSetsid() {
        for (String p : List.of("/usr/bin/setsid", "/bin/setsid", "/usr/local/bin/setsid")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        return null;
    }

    /** The same connection for every server. */
    @Override
    public Connection connect(Server server) throws HostUnreachableException {
        if (closed) {
            throw new HostUnreachableException(server.host(), "the local transport is closed");
        }
        return connection;
    }

    @Override
    public void close() {
        closed = true;
        readers.shutdown();
    }

    private final class LocalConnection implements Connection {
        @Override
        public ExecResult run(String script, Duration timeout, OutputSink output)
                throws HostUnreachableException, InterruptedException {
            long start = System.nanoTime();
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            OutputSink sink = output == null ? OutputSink.NONE : output;
            List<String> cmd = new ArrayList<>();
            if (SETSID != null) {
                cmd.add(SETSID);
            }
            cmd.add("/bin/sh");
            cmd.add("-c");
            cmd.add(script);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new HostUnreachableException("localhost", "cannot start /bin/sh: " + e.getMessage(), e);
            }
            Duration opening = Duration.ofNanos(System.nanoTime() - start);  // the process started, the script its argument
            CountDownLatch streams = new CountDownLatch(2);
            AtomicReference<RuntimeException> sinkFailure = new AtomicReference<>();
            OutputSink guarded = (err, line) -> {
                try {
                    sink.line(err, line);
                } catch (RuntimeException e) {
                    sinkFailure.compareAndSet(null, e); // keep draining; rethrown once the script is done
                }
            };
            readers.execute(() -> pump(p.getInputStream(), false, guarded, streams));
            readers.execute(() -> pump(p.getErrorStream(), true, guarded, streams));
            boolean done;
            try {
                done = waitFor(p, streams, timeout);
            } catch (InterruptedException e) {
                throw new ScriptCancelledException(terminate(p, streams));
            }
            if (!done) {
                String left = terminate(p, streams);
                return new ExecResult(-1, true, Duration.ofNanos(System.nanoTime() - start), left).opened(opening);
            }
            if (sinkFailure.get() != null) {
                throw sinkFailure.get();
            }
            return new ExecResult(p.exitValue(), false, Duration.ofNanos(System.nanoTime() - start)).opened(opening);
        }
    }

    /** Done when the script has exited and its output is closed (like sshd: background holders of stdout count). */
    private static boolean waitFor(Process p, CountDownLatch streams, Duration timeout) throws InterruptedException {
        if (timeout == null || timeout.isZero() || timeout.isNegative()) {
            p.waitFor();
            streams.await();
            return true;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        if (!p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            return false;
        }
        return streams.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    private static void pump(InputStream in, boolean stderr, OutputSink sink, CountDownLatch done) {
        try (LineSplitter lines = new LineSplitter(l -> sink.line(stderr, l), null); in) {
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                lines.write(buf, 0, n);
            }
        } catch (IOException closed) {
            // process gone
        } finally {
            done.countDown();
        }
    }

    /**
     * TERM to the group, grace, KILL; not interruptible (a pending interrupt is kept). Returns null when the
     * script's processes were proved gone, else what may still run.
     */
    private String terminate(Process p, CountDownLatch streams) {
        boolean interrupted = Thread.interrupted();
        long pid = p.pid();
        String left;
        try {
            if (SETSID != null) {
                // setsid execs /bin/sh in place: the script's pid is its process group id
                Process k = new ProcessBuilder("/bin/sh", "-c", Scripts.killScript(pid, pid, killGrace))
                        .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .start();
                String out;
                try (InputStream in = k.getInputStream()) {
                    out = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
                }
                interrupted |= waitUninterruptibly(k, killGrace.toMillis() + 5_000);
                String verdict = out.substring(out.lastIndexOf('\n') + 1);
                left = verdict.equals(Scripts.KILL_VERDICT + " gone") ? null
                        : "obplay could not end it: after TERM and KILL, process group " + pid + " still has "
                        + (verdict.startsWith(Scripts.KILL_VERDICT + " left") ? "processes "
                        + verdict.substring((Scripts.KILL_VERDICT + " left").length()).strip() : "processes (" + out + ")");
            } else {
                List<ProcessHandle> tree = new ArrayList<>();
                p.descendants().forEach(tree::add);
                tree.add(p.toHandle());
                tree.forEach(ProcessHandle::destroy);
                long deadline = System.currentTimeMillis() + killGrace.toMillis();
                while (tree.stream().anyMatch(ProcessHandle::isAlive) && System.currentTimeMillis() < deadline) {
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                tree.forEach(ProcessHandle::destroyForcibly);
                left = null;
            }
        } catch (IOException e) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            left = "obplay could not run its kill script (" + e.getMessage() + "); process " + pid
                    + " and its children were sent KILL but may still run";
        } finally {
            interrupted |= waitUninterruptibly(p, 5_000);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (streams.getCount() > 0 && System.nanoTime() < deadline) {
                try {
                    streams.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (left == null && SETSID == null && (p.isAlive() || p.descendants().anyMatch(ProcessHandle::isAlive))) {
            left = "obplay could not end it: process " + pid + " or its children still run";
        }
        return left;
    }

    private static boolean waitUninterruptibly(Process p, long ms) {
        boolean interrupted = false;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (true) {
            try {
                p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                return interrupted;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
    }
}
