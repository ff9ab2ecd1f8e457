package io.obplay.run.transport;

import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import io.obplay.run.Connection;
import io.obplay.run.ExecResult;
import io.obplay.run.HostUnreachableException;
import io.obplay.run.OutputSink;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One SSH session to one host, shared by every step of the run: each {@link #run} is an {@code exec}
 * channel, at most {@code channelsPerSession} at a time (sshd's MaxSessions is 10 by default; the spare
 * channels are for ending timed-out scripts).
 *
 * <p>Output is delivered by JSch's session thread straight into line splitters (no thread, no polling per
 * command); the calling thread only waits for the channel to close, the timeout or an interrupt.
 */
final class SshConnection implements Connection {

    private final Session session;
    private final String host;
    private final String label;
    private final Semaphore channels;
    private final int channelsPerSession;
    private final Duration killGrace;
    private final SshConnection bastion;

    SshConnection(Session session, String host, String label, int channelsPerSession, Duration killGrace,
                  SshConnection bastion) {
        this.session = session;
        this.host = host;
        this.label = label;
        this.channels = new Semaphore(channelsPerSession, true);
        this.channelsPerSession = channelsPerSession;
        this.killGrace = killGrace;
        this.bastion = bastion;
    }

    Session session() {
        return session;
    }

    String label() {
        return label;
    }

    SshConnection bastion() {
        return bastion;
    }

    boolean isAlive() {
        return session.isConnected() && (bastion == null || bastion.isAlive());
    }

    void close() {
        session.disconnect();
    }

    /** Commands in flight on this session now (for tests and diagnostics). */
    int channelsInUse() {
        return channelsPerSession - channels.availablePermits();
    }

    private record Opened(ChannelExec channel, RunState state) {
    }

    /** The state of one command: output splitters, the private pgid line, completion. */
    private static final class RunState {
        final String token;
        final OutputSink sink;
        final CountDownLatch closed = new CountDownLatch(1);
        final CountDownLatch marker = new CountDownLatch(1);
        volatile long pid = -1;
        volatile long pgid = -1;
        volatile boolean markerSeen;
        volatile RuntimeException sinkFailure;
        final LineSplitter stdout;
        final LineSplitter stderr;

        RunState(String token, OutputSink sink) {
            this.token = token;
            this.sink = sink;
            this.stdout = new LineSplitter(this::stdoutLine, marker::countDown);
            this.stderr = new LineSplitter(line -> deliver(true, line), closed::countDown);
        }

        /**
         * The wrapper's marker may follow whatever the login printed before it on the same line (a banner from
         * a bashrc or ~/.ssh/rc without a final newline, a terminal-title escape): it is looked for anywhere
         * in the line, once; what came before it is delivered as output.
         */
        private void stdoutLine(String line) {
            if (marker.getCount() > 0) {
                int at = line.indexOf(token + " ");
                if (at >= 0) {
                    if (at > 0) {
                        deliver(false, line.substring(0, at));
                    }
                    String[] f = line.substring(at).split(" ");
                    try {
                        pid = Long.parseLong(f[1]);
                        pgid = "?".equals(f[2]) ? -1 : Long.parseLong(f[2]);
                    } catch (RuntimeException malformed) {
                        // leave unknown
                    }
                    markerSeen = true;
                    marker.countDown();
                    return;
                }
            }
            deliver(false, line);
        }

        private void deliver(boolean err, String line) {
            try {
                sink.line(err, line);
            } catch (RuntimeException e) {
                if (sinkFailure == null) {
                    sinkFailure = e;
                }
            }
        }
    }

    @Override
    public ExecResult run(String script, Duration timeout, OutputSink output)
            throws HostUnreachableException, InterruptedException {
        long start = System.nanoTime();
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        OutputSink sink = output == null ? OutputSink.NONE : output;
        channels.acquire();
        ChannelExec ch = null;
        try {
            if (!isAlive()) {
                throw lost(null);
            }
            Opened opened = openExec(sink, timeout);
            ch = opened.channel();
            RunState st = opened.state();
            try {
                OutputStream in = ch.getOutputStream();
                in.write(script.getBytes(StandardCharsets.UTF_8));
                in.close(); // EOF: the wrapper's `cat` ends, the script's commands see an empty stdin
            } catch (IOException e) {
                // the remote side went away before reading the script; the close/exit status will tell
            }
            Duration opening = Duration.ofNanos(System.nanoTime() - start);

            boolean done;
            try {
                done = await(st.closed, timeout);
            } catch (InterruptedException e) {
                throw new io.obplay.run.ScriptCancelledException(terminate(ch, st));
            }
            if (!done) {
                String left = terminate(ch, st);
                if (!isAlive()) {
                    throw new HostUnreachableException(host, "connection to " + label + " lost while ending a "
                            + "timed-out command" + (left == null ? "" : "; " + left));
                }
                return new ExecResult(-1, true, Duration.ofNanos(System.nanoTime() - start), left).opened(opening);
            }
            int status = ch.getExitStatus();
            if (status == -1 && !stillAliveAfterChannelLoss()) {
                throw new HostUnreachableException(host, "connection to " + label + " lost while running a command"
                        + (st.markerSeen && st.pid > 1 ? "; " + processes(st.pid, st.pgid) + " may still run on "
                        + host : ""));
            }
            if (st.sinkFailure != null) {
                throw st.sinkFailure;
            }
            return new ExecResult(status, false, Duration.ofNanos(System.nanoTime() - start)).opened(opening);
        } finally {
            if (ch != null) {
                ch.disconnect();
            }
            channels.release();
        }
    }

    /**
     * A channel that closed without an exit status: the script died of a signal, or the connection was lost.
     * JSch closes a dying session's channels before it marks the session disconnected, so give it a moment
     * (this path is rare: normal exits always carry a status).
     */
    private boolean stillAliveAfterChannelLoss() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        boolean interrupted = false;
        try {
            while (System.nanoTime() < deadline) {
                if (!isAlive()) {
                    return false;
                }
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return isAlive();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Opens the command's channel. sshd frees a session slot only when it garbage-collects a closed channel,
     * which may come after it has read our next open request: a refusal is retried for a while (2 ms doubling
     * to 100 ms, ~3 s in all) as long as the session is alive.
     */
    private Opened openExec(OutputSink sink, Duration timeout) throws HostUnreachableException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        long backoffMs = 2;
        while (true) {
            ChannelExec ch = null;
            String token = "OBPLAY_PG_" + Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE);
            RunState st = new RunState(token, sink);
            try {
                ch = (ChannelExec) session.openChannel("exec");
                ch.setCommand(Scripts.execCommand(token));
                ch.setOutputStream(st.stdout, false);
                ch.setErrStream(st.stderr, false);
                ch.connect(channelOpenTimeoutMs(timeout));
                return new Opened(ch, st);
            } catch (JSchException e) {
                if (ch != null) {
                    ch.disconnect();
                }
                if (Thread.interrupted()) {
                    throw new InterruptedException(); // nothing was started: the exec request was not sent
                }
                if (!isAlive()) {
                    throw lost(e);
                }
                if (System.nanoTime() > deadline) {
                    throw new HostUnreachableException(host, "sshd on " + label + " refused a new channel ("
                            + e.getMessage() + "); is its MaxSessions below " + (channelsPerSession + 2) + "?", e);
                }
                Thread.sleep(backoffMs);
                backoffMs = Math.min(100, backoffMs * 2);
            }
        }
    }

    private static int channelOpenTimeoutMs(Duration timeout) {
        if (timeout == null || timeout.isZero() || timeout.isNegative()) {
            return 60_000;
        }
        return (int) Math.max(5_000, Math.min(60_000, timeout.toMillis()));
    }

    /** Waits for the latch; false on timeout. A null/zero/negative timeout waits without limit. */
    private static boolean await(CountDownLatch latch, Duration timeout) throws InterruptedException {
        if (timeout == null || timeout.isZero() || timeout.isNegative()) {
            latch.await();
            return true;
        }
        return latch.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private HostUnreachableException lost(Throwable cause) {
        return new HostUnreachableException(host, "connection to " + label + " lost while running a command", cause);
    }

    /**
     * Ends the remote script and its process group through a second channel (TERM, grace, KILL), then closes
     * the script's channel. Not interruptible: a pending interrupt is kept for the caller.
     *
     * @return null when the script's processes were proved gone (the kill script found none of its group left,
     *         or the script never started), else one clause saying what may still run on the host, with its pid
     */
    private String terminate(ChannelExec ch, RunState st) {
        boolean interrupted = Thread.interrupted();
        try {
            // the pid line is the wrapper's first output: wait a little for it if the script was very young
            interrupted |= awaitUninterruptibly(st.marker, 10_000); // long enough for a host under heavy load
            long pid = st.pid;
            String left;
            if (!st.markerSeen) {
                if (st.closed.getCount() == 0) {
                    // the channel ended before the wrapper printed its pid: the script itself never ran
                    left = null;
                } else {
                    left = "obplay could not end it: the host sent no pid line within 10s, so its process is not "
                            + "known and it may still run on " + host;
                }
            } else if (pid <= 1) {
                left = "obplay could not end it: the host's pid line was malformed; it may still run on " + host;
            } else if (!session.isConnected()) {
                left = "obplay could not end it: the connection was lost; " + processes(pid, st.pgid)
                        + " may still run on " + host;
            } else {
                Kill k = runKill(Scripts.killScript(pid, st.pgid, killGrace));
                interrupted |= k.interrupted();
                left = verdict(k.verdict(), pid, st.pgid);
            }
            // sshd closes the channel once the processes holding its output are gone
            interrupted |= awaitUninterruptibly(st.closed, 1_000);
            return left;
        } finally {
            ch.disconnect();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String processes(long pid, long pgid) {
        return pgid == pid ? "process group " + pgid + " (the script, pid " + pid + ")" : "the script (pid " + pid + ")";
    }

    /** What the kill script's verdict line proves: null (all gone) or what may still run. */
    private String verdict(String line, long pid, long pgid) {
        if (line == null) {
            return "obplay could not end it: the kill script did not report (no channel, or it did not finish); "
                    + processes(pid, pgid) + " may still run on " + host;
        }
        String v = line.substring(Scripts.KILL_VERDICT.length()).strip();
        if (v.equals("gone")) {
            return null;
        }
        if (v.equals("direct-gone")) {
            return "obplay ended the script (pid " + pid + ") and its direct children, but the script did not lead "
                    + "its own process group, so processes they started may still run on " + host;
        }
        if (v.startsWith("left")) {
            return "obplay could not end it: after TERM and KILL, processes " + v.substring(4).strip() + " of "
                    + processes(pid, pgid) + " still run on " + host;
        }
        return "obplay could not end it: unexpected kill report '" + line + "'; " + processes(pid, pgid)
                + " may still run on " + host;
    }

    /** The kill script's verdict line (null when it did not report) and whether an interrupt arrived. */
    private record Kill(String verdict, boolean interrupted) {
    }

    /**
     * Runs the kill script on its own channel (outside the channel bound). JSch gives up on a channel open
     * after a single wait, which a stray wake-up ends, and sshd refuses a channel while it still holds a closed
     * one: the open is retried (2 ms doubling to 100 ms, ~5 s in all) as long as the session is alive, since a
     * kill that never runs leaves the script's processes behind.
     */
    private Kill runKill(String killScript) {
        boolean interrupted = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        long backoffMs = 2;
        java.util.concurrent.atomic.AtomicReference<String> verdict = new java.util.concurrent.atomic.AtomicReference<>();
        while (session.isConnected()) {
            ChannelExec k = null;
            try {
                CountDownLatch done = new CountDownLatch(2);
                k = (ChannelExec) session.openChannel("exec");
                k.setCommand(Scripts.execSh(killScript));
                // the verdict may follow a login banner on the same line, like the script's pid line
                k.setOutputStream(new LineSplitter(l -> {
                    int at = l.indexOf(Scripts.KILL_VERDICT + " ");
                    if (at >= 0) {
                        verdict.set(l.substring(at));
                    }
                }, done::countDown), false);
                k.setErrStream(new LineSplitter(l -> { }, done::countDown), false);
                k.connect(10_000);
                interrupted |= awaitUninterruptibly(done, killGrace.toMillis() + 10_000);
                break;
            } catch (JSchException e) {
                if (System.nanoTime() > deadline) {
                    break; // no channel to be had: nothing more can be done from here
                }
            } finally {
                if (k != null) {
                    k.disconnect();
                }
                interrupted |= Thread.interrupted();
            }
            interrupted |= sleepUninterruptibly(backoffMs);
            backoffMs = Math.min(100, backoffMs * 2);
        }
        return new Kill(verdict.get(), interrupted);
    }

    /** Sleeps {@code ms}, not giving up on an interrupt; returns whether one arrived meanwhile. */
    private static boolean sleepUninterruptibly(long ms) {
        CountDownLatch never = new CountDownLatch(1);
        return awaitUninterruptibly(never, ms);
    }

    /**
     * Waits up to {@code ms} for the latch, not giving up on an interrupt; leaves the interrupt flag clear and
     * returns whether an interrupt arrived meanwhile.
     */
    private static boolean awaitUninterruptibly(CountDownLatch latch, long ms) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        boolean interrupted = false;
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return interrupted;
            }
            try {
                if (latch.await(left, TimeUnit.NANOSECONDS)) {
                    return interrupted;
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
    }
}
