package io.obplay.shim;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.ssl.SslConnection;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The two deadlines Jetty's idle timeout does not give (it restarts on every byte, so a byte now and then keeps
 * a connection forever): a request's line and headers must all arrive within {@code headerTimeout} of their
 * first byte, and its body within {@code headerTimeout} plus its length at {@code minBodyRate} bytes a second
 * (the most a body may have, when its length is not declared). A connection past either is closed. Once a
 * request's body is in, the handler may take as long as it needs: that is not the client's time.
 *
 * <p>A once-a-second sweep over the open HTTP connections, from Jetty's counters ({@link Connection#getBytesIn()}),
 * plus what {@link ShimServer} says of each request (started, reading its body, done). Costs nothing per byte.
 */
final class ConnectionDeadlines implements Connection.Listener {
    private static final int IDLE = 0;
    private static final int BODY = 1;
    private static final int HANDLING = 2;

    private static final class Watch {
        volatile int phase = IDLE;
        volatile long baseline;   // bytes in when the last request ended
        volatile long since;      // when bytes past the baseline were first seen; 0: none yet
        volatile long bodyDeadline;
    }

    private final long headerMillis;
    private final long minBodyRate;
    private final long maxBody;
    private final Map<Connection, Watch> watched = new ConcurrentHashMap<>();
    private ScheduledExecutorService sweeper;

    ConnectionDeadlines(Duration headerTimeout, int minBodyRate, long maxBody) {
        this.headerMillis = headerTimeout.toMillis();
        this.minBodyRate = minBodyRate;
        this.maxBody = maxBody;
    }

    synchronized void start() {
        if (sweeper == null) {
            sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "obplay-serve-deadlines");
                t.setDaemon(true);
                return t;
            });
            sweeper.scheduleWithFixedDelay(this::sweep, 1, 1, TimeUnit.SECONDS);
        }
    }

    synchronized void stop() {
        if (sweeper != null) {
            sweeper.shutdownNow();
            sweeper = null;
        }
    }

    @Override
    public void onOpened(Connection connection) {
        if (!(connection instanceof SslConnection)) { // over TLS, the HTTP connection inside is watched
            watched.put(connection, new Watch());
        }
    }

    @Override
    public void onClosed(Connection connection) {
        watched.remove(connection);
    }

    /** A request's headers are in: nothing to watch until its body is read or it is answered. */
    void requestStarted(Connection c) {
        Watch w = c == null ? null : watched.get(c);
        if (w != null) {
            w.phase = HANDLING;
        }
    }

    /** The body of a request of {@code declared} bytes (-1: not declared) is being read. */
    void readingBody(Connection c, long declared) {
        Watch w = c == null ? null : watched.get(c);
        if (w != null) {
            long bytes = declared < 0 ? maxBody : declared;
            w.bodyDeadline = System.currentTimeMillis() + headerMillis + bytes * 1000 / minBodyRate;
            w.phase = BODY;
        }
    }

    /** The answer is out: the next request's headers are timed from their first byte. */
    void requestDone(Connection c) {
        Watch w = c == null ? null : watched.get(c);
        if (w != null) {
            w.baseline = c.getBytesIn();
            w.since = 0;
            w.phase = IDLE;
        }
    }

    /** How many connections are watched now (open HTTP connections). */
    int watched() {
        return watched.size();
    }

    private void sweep() {
        long now = System.currentTimeMillis();
        for (Map.Entry<Connection, Watch> e : watched.entrySet()) {
            Connection c = e.getKey();
            Watch w = e.getValue();
            try {
                switch (w.phase) {
                    case IDLE -> {
                        if (c.getBytesIn() <= w.baseline) {
                            w.since = 0;
                        } else if (w.since == 0) {
                            w.since = now;
                        } else if (now - w.since >= headerMillis) {
                            c.getEndPoint().close();
                        }
                    }
                    case BODY -> {
                        if (now > w.bodyDeadline) {
                            c.getEndPoint().close();
                        }
                    }
                    default -> {
                        // the handler runs: the server's time, not the client's
                    }
                }
            } catch (RuntimeException x) {
                // a connection closing under us; the next sweep will not see it
            }
        }
    }
}
