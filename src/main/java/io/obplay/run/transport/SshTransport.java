package io.obplay.run.transport;

import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.JSchHostKeyException;
import com.jcraft.jsch.Logger;
import com.jcraft.jsch.Session;
import io.obplay.inventory.HostKeyChecking;
import io.obplay.inventory.Server;
import io.obplay.inventory.SshSettings;
import io.obplay.run.Connection;
import io.obplay.run.HostUnreachableException;
import io.obplay.run.Transport;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * SSH through JSch: one session per host ({@code user@host:port}, plus the bastion when jumping), opened on
 * first use and shared by every step of the run; one {@code exec} channel per command.
 *
 * <ul>
 *   <li>Public-key authentication only: the inventory's key, else ssh-agent ({@code SSH_AUTH_SOCK}, over the
 *       JDK's unix sockets) together with ~/.ssh/id_ed25519, id_ecdsa, id_rsa, else those files alone.</li>
 *   <li>Host keys checked against known_hosts (strict by default; accept-new appends; off accepts all).</li>
 *   <li>At most {@link Options#maxHandshakes} handshakes in flight (sshd's MaxStartups), with retries and
 *       exponential backoff plus jitter for transient connect failures (never for auth or host keys).</li>
 *   <li>Two deadlines per handshake ({@link Handshake}): {@code connect_timeout} for the TCP connection and
 *       the banner, {@code handshake_timeout} from the banner for key exchange and authentication. A
 *       handshake a deadline cut is a timeout naming its phase (and is retried), whatever JSch says.</li>
 * </ul>
 */
public final class SshTransport implements Transport {

    /**
     * Tuning and environment.
     *
     * @param maxHandshakes      SSH handshakes in flight at once, over all hosts
     * @param connectAttempts    attempts per host for transient failures (refused, reset, closed, timed out)
     * @param retryBackoff       first backoff; doubled per attempt, with jitter (x0.5 .. x1.5)
     * @param channelsPerSession commands at once on one host (sshd's MaxSessions defaults to 10)
     * @param killGrace          after TERM, how long a timed-out script's processes get before KILL
     * @param keepAlive          SSH keepalive interval on idle sessions (zero: none)
     * @param home               home directory for {@code ~} and the default keys
     * @param agentSocket        ssh-agent socket, or null for none
     * @param debug              JSch's log to stderr
     */
    public record Options(int maxHandshakes, int connectAttempts, Duration retryBackoff, int channelsPerSession,
                          Duration killGrace, Duration keepAlive, String home, String agentSocket,
                          boolean debug) {
        public static final int DEFAULT_MAX_HANDSHAKES = 32;
        public static final int DEFAULT_CONNECT_ATTEMPTS = 3;
        public static final int DEFAULT_CHANNELS_PER_SESSION = 8;

        public Options {
            if (maxHandshakes < 1 || connectAttempts < 1 || channelsPerSession < 1) {
                throw new IllegalArgumentException("maxHandshakes, connectAttempts, channelsPerSession must be >= 1");
            }
            Objects.requireNonNull(retryBackoff);
            Objects.requireNonNull(killGrace);
            Objects.requireNonNull(keepAlive);
            Objects.requireNonNull(home);
        }

        /** Defaults, with the home directory, SSH_AUTH_SOCK and OBPLAY_SSH_DEBUG of this process. */
        public static Options defaults() {
            String debug = System.getenv("OBPLAY_SSH_DEBUG");
            return new Options(DEFAULT_MAX_HANDSHAKES, DEFAULT_CONNECT_ATTEMPTS, Duration.ofMillis(300),
                    DEFAULT_CHANNELS_PER_SESSION, Duration.ofSeconds(2), Duration.ofSeconds(15),
                    System.getProperty("user.home"), System.getenv("SSH_AUTH_SOCK"),
                    (debug != null && !debug.isEmpty() && !debug.equals("0"))
                            || Boolean.getBoolean("obplay.ssh.debug"));
        }

        public Options withMaxHandshakes(int n) {
            return new Options(n, connectAttempts, retryBackoff, channelsPerSession, killGrace, keepAlive, home,
                    agentSocket, debug);
        }

        public Options withConnectAttempts(int n, Duration backoff) {
            return new Options(maxHandshakes, n, backoff, channelsPerSession, killGrace, keepAlive, home,
                    agentSocket, debug);
        }

        public Options withChannelsPerSession(int n) {
            return new Options(maxHandshakes, connectAttempts, retryBackoff, n, killGrace, keepAlive, home,
                    agentSocket, debug);
        }

        public Options withKillGrace(Duration grace) {
            return new Options(maxHandshakes, connectAttempts, retryBackoff, channelsPerSession, grace, keepAlive,
                    home, agentSocket, debug);
        }

        public Options withHome(String dir) {
            return new Options(maxHandshakes, connectAttempts, retryBackoff, channelsPerSession, killGrace,
                    keepAlive, dir, agentSocket, debug);
        }

        public Options withAgentSocket(String socket) {
            return new Options(maxHandshakes, connectAttempts, retryBackoff, channelsPerSession, killGrace,
                    keepAlive, home, socket, debug);
        }
    }

    /**
     * Where to connect: one SSH endpoint, maybe behind a bastion (itself maybe behind another: ProxyJump chains).
     *
     * @param keepAlive      the ssh config's ServerAliveInterval, or null for {@link Options#keepAlive}
     * @param identitiesOnly the ssh config's IdentitiesOnly: no ssh-agent keys
     */
    private record Target(String user, String host, int port, SshSettings settings, Target jump, Duration keepAlive,
                          boolean identitiesOnly) {
        String key() {
            return user + "@" + hostPort() + (jump == null ? "" : " via " + jump.key());
        }

        String hostPort() {
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
        }

        String label() {
            return user + "@" + hostPort() + (jump == null ? "" : " (via " + jump.user + "@" + jump.hostPort() + ")");
        }
    }

    /** A failed attempt: why, in one line, and whether another attempt may help. */
    private record Failure(String reason, boolean transientFailure, Throwable cause) {
    }

    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "obplay-ssh-watchdog");
        t.setDaemon(true);
        return t;
    });
    /** Runs the watchdog's disconnects, which may block (JSch locks the proxy while it connects). */
    private static final java.util.concurrent.ExecutorService DISCONNECTS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "obplay-ssh-abort");
        t.setDaemon(true);
        return t;
    });

    private final Options options;
    private final JSch jsch = new JSch();
    private final Semaphore handshakePermits;
    private final Identities identities;
    private final SshResolution.Files sshConfigs = new SshResolution.Files();
    private final ConcurrentHashMap<String, CompletableFuture<SshConnection>> sessions = new ConcurrentHashMap<>();
    private final AtomicInteger handshakes = new AtomicInteger();
    private final AtomicInteger sessionsOpened = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger peakInFlight = new AtomicInteger();
    private volatile boolean closed;

    public SshTransport() {
        this(Options.defaults());
    }

    /** @param maxHandshakes SSH handshakes in flight at once (default 32) */
    public SshTransport(int maxHandshakes) {
        this(Options.defaults().withMaxHandshakes(maxHandshakes));
    }

    public SshTransport(Options options) {
        this.options = options;
        this.handshakePermits = new Semaphore(options.maxHandshakes(), true);
        this.identities = new Identities(options.home(), options.agentSocket());
        if (options.debug()) {
            jsch.setInstanceLogger(new StderrLogger());
        }
    }

    public Options options() {
        return options;
    }

    /** SSH handshakes started (every attempt, bastions included). */
    public int handshakes() {
        return handshakes.get();
    }

    /** Sessions successfully opened. */
    public int sessionsOpened() {
        return sessionsOpened.get();
    }

    /** The most handshakes that were in flight at once. */
    public int peakHandshakesInFlight() {
        return peakInFlight.get();
    }

    @Override
    public Connection connect(Server server) throws HostUnreachableException, InterruptedException {
        SshResolution r = sshConfigs.resolve(server, options.home());
        if (r.error() != null) {
            throw new HostUnreachableException(server.host(), r.error());
        }
        Target jump = null;
        for (SshResolution.Hop h : r.jumps()) {
            jump = target(h, jump);
        }
        return session(target(r.target(), jump), server.host());
    }

    private static Target target(SshResolution.Hop h, Target jump) {
        SshSettings s = h.settings();
        String user = s.user() != null ? s.user() : SshSettings.DEFAULTS.user();
        int port = h.port() > 0 ? h.port() : 22;
        return new Target(user, h.host(), port, s, jump, h.keepAlive(), h.identitiesOnly());
    }

    private SshConnection session(Target t, String reportHost) throws HostUnreachableException, InterruptedException {
        String key = t.key();
        while (true) {
            if (closed) {
                throw new HostUnreachableException(reportHost, "the SSH transport is closed");
            }
            CompletableFuture<SshConnection> mine = new CompletableFuture<>();
            CompletableFuture<SshConnection> existing = sessions.putIfAbsent(key, mine);
            if (existing == null) {
                try {
                    SshConnection c = open(t, reportHost);
                    mine.complete(c);
                    if (closed) {
                        c.close();
                    }
                    return c;
                } catch (HostUnreachableException e) {
                    sessions.remove(key, mine);
                    mine.completeExceptionally(e);
                    throw e;
                } catch (InterruptedException | RuntimeException | Error e) {
                    sessions.remove(key, mine);
                    mine.cancel(false); // waiters try again themselves
                    throw e;
                }
            }
            try {
                SshConnection c = existing.get();
                if (c.isAlive()) {
                    return c;
                }
                sessions.remove(key, existing); // lost since: open a new one
            } catch (CancellationException retry) {
                // the opener was interrupted: try again
            } catch (ExecutionException e) {
                if (e.getCause() instanceof HostUnreachableException h) {
                    throw new HostUnreachableException(reportHost, h.getMessage(), h.getCause());
                }
                throw new IllegalStateException(e.getCause());
            }
        }
    }

    private SshConnection open(Target t, String reportHost) throws HostUnreachableException, InterruptedException {
        SshConnection bastion = t.jump() == null ? null : bastion(t, reportHost);
        Identities.Source ids = identities.forKey(t.settings().key(), reportHost, t.identitiesOnly());
        int attempts = options.connectAttempts();
        Failure last = null;
        for (int attempt = 1; attempt <= attempts; attempt++) {
            if (attempt > 1) {
                long base = options.retryBackoff().toMillis() << Math.min(attempt - 2, 10);
                long sleep = (long) (base * (0.5 + ThreadLocalRandom.current().nextDouble()));
                Thread.sleep(sleep);
            }
            if (bastion != null && !bastion.isAlive()) {
                bastion = bastion(t, reportHost);
            }
            handshakePermits.acquire();
            Object result;
            try {
                result = attempt(t, bastion, ids);
            } finally {
                handshakePermits.release();
            }
            if (result instanceof SshConnection c) {
                sessionsOpened.incrementAndGet();
                return c;
            }
            last = (Failure) result;
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            if (!last.transientFailure()) {
                break;
            }
        }
        String reason = last.reason().replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
        if (last.transientFailure() && attempts > 1) {
            reason += " (" + attempts + " attempts)";
        }
        throw new HostUnreachableException(reportHost, reason, last.cause());
    }

    /** The bastion's (shared) session; its failure is reported for the host behind it. */
    private SshConnection bastion(Target t, String reportHost) throws HostUnreachableException, InterruptedException {
        try {
            return session(t.jump(), t.jump().host());
        } catch (HostUnreachableException e) {
            throw new HostUnreachableException(reportHost, "bastion " + t.jump().user() + "@" + t.jump().hostPort()
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * The key exchanges offered: JSch's defaults but for the post-quantum hybrids (mlkem*, sntrup*), which JSch
     * implements with Bouncy Castle, not on the class path. JSch would otherwise find that out anew for each
     * session by making a key pair for each algorithm of its {@code CheckKexes} list (X25519, X448 and the
     * hybrids): 200 hosts paid for 1,000 key pairs before a byte was sent.
     */
    static final String KEX = kex(com.jcraft.jsch.JSch.getConfig("kex"));

    static String kex(String defaults) {
        boolean bouncyCastle;
        try {
            Class.forName("org.bouncycastle.jce.provider.BouncyCastleProvider", false, SshTransport.class.getClassLoader());
            bouncyCastle = true;
        } catch (ClassNotFoundException e) {
            bouncyCastle = false;
        }
        StringBuilder kept = new StringBuilder();
        for (String k : defaults.split(",")) {
            if (bouncyCastle || !(k.startsWith("mlkem") || k.startsWith("sntrup"))) {
                kept.append(kept.length() == 0 ? "" : ",").append(k);
            }
        }
        return kept.toString();
    }

    /** One handshake: the connection, or the {@link Failure}. */
    private Object attempt(Target t, SshConnection bastion, Identities.Source ids) {
        SshSettings s = t.settings();
        int timeoutMs = connectTimeoutMs(s);
        Path knownHostsPath = Path.of(Identities.expand(
                s.knownHosts() != null ? s.knownHosts() : SshSettings.DEFAULTS.knownHosts(), options.home()));
        HostKeyChecking mode = s.hostKeyChecking() != null ? s.hostKeyChecking() : HostKeyChecking.STRICT;
        HostKeyVerifier verifier = new HostKeyVerifier(KnownHostsFile.of(knownHostsPath), mode, t.host(), t.port(),
                t.jump() == null ? null : bastionSsh(t.jump()));
        Session session;
        try {
            session = jsch.getSession(t.user(), t.host(), t.port());
        } catch (JSchException e) {
            return new Failure(e.getMessage(), false, e);
        }
        session.setHostKeyRepository(verifier);
        session.setIdentityRepository(ids.repository());
        session.setConfig("StrictHostKeyChecking", "yes");
        session.setConfig("PreferredAuthentications", "publickey");
        session.setConfig("enable_auth_none", "no");
        session.setConfig("enable_pubkey_auth_query", ids.single() ? "no" : "yes");
        session.setConfig("kex", KEX);
        session.setConfig("CheckKexes", "");  // KEX holds only what this JVM has: see there
        session.setDaemonThread(true);
        try {
            Duration keepAlive = t.keepAlive() != null ? t.keepAlive() : options.keepAlive();
            if (!keepAlive.isZero()) {
                session.setServerAliveInterval((int) keepAlive.toMillis());
                session.setServerAliveCountMax(4);
            }
        } catch (JSchException e) {
            return new Failure(e.getMessage(), false, e);
        }
        int handshakeMs = handshakeTimeoutMs(s);
        Handshake hs = new Handshake(timeoutMs, handshakeMs, verifier);
        JumpProxy proxy = bastion == null ? null : new JumpProxy(bastion.session());
        if (proxy != null) {
            session.setProxy(hs.proxy(proxy));
        } else {
            session.setSocketFactory(hs.sockets());
        }
        handshakes.incrementAndGet();
        int now = inFlight.incrementAndGet();
        peakInFlight.accumulateAndGet(now, Math::max);
        // whichever comes first, the end of the handshake or a deadline, decides (no late disconnects)
        hs.start(WATCHDOG, () -> DISCONNECTS.execute(() -> {
            if (proxy != null) {
                proxy.close(); // a jumped handshake has no socket timeout: end its stream
            }
            session.disconnect();
        }));
        try {
            // JSch's read timeout during the handshake: past both deadlines, which end it first
            session.connect((int) Math.min(Integer.MAX_VALUE, (long) timeoutMs + handshakeMs + 5_000L));
            if (!hs.settle() || !session.isConnected()) { // a deadline came first
                session.disconnect();
                return timedOut(hs, hs.timedOutIn() != null ? hs.timedOutIn() : hs.phase(), null);
            }
            return new SshConnection(session, t.host(), t.label(), options.channelsPerSession(),
                    options.killGrace(), bastion);
        } catch (JSchException e) {
            hs.settle();
            session.disconnect();
            return classify(e, verifier, hs, t, ids);
        } catch (RuntimeException e) {
            // JSch's connect can fail so when the deadline's disconnect races its reads (its io is gone)
            hs.settle();
            session.disconnect();
            if (hs.timedOutIn() != null) {
                return timedOut(hs, hs.timedOutIn(), e);
            }
            return new Failure("the SSH handshake failed " + hs.phase().words + ": " + e, false, e);
        } finally {
            inFlight.decrementAndGet();
        }
    }

    private static Failure timedOut(Handshake hs, Handshake.Phase p, Throwable cause) {
        return new Failure("timed out after " + seconds(hs.deadlineMs(p)) + " " + p.words + " (" + p.setting + ")",
                true, cause);
    }

    /** {@code ssh} arguments that reach a jump host, through the hops before it: {@code -J u@a:22,u@b:22 -p P u@c}. */
    static String bastionSsh(Target jump) {
        List<String> before = new ArrayList<>();
        for (Target j = jump.jump(); j != null; j = j.jump()) {
            before.add(0, j.user() + "@" + j.hostPort());
        }
        return (before.isEmpty() ? "" : "-J " + String.join(",", before) + " ") + "-p " + jump.port() + " " + jump.user() + "@" + jump.host();
    }

    private static int connectTimeoutMs(SshSettings s) {
        return millis(s.connectTimeout(), SshSettings.DEFAULTS.connectTimeout());
    }

    private static int handshakeTimeoutMs(SshSettings s) {
        return millis(s.handshakeTimeout(), SshSettings.DEFAULT_HANDSHAKE_TIMEOUT);
    }

    private static int millis(Duration d, Duration def) {
        if (d == null || d.isZero() || d.isNegative()) {
            d = def;
        }
        return (int) Math.min(Integer.MAX_VALUE, d.toMillis());
    }

    private static String seconds(int ms) {
        return ms % 1000 == 0 ? (ms / 1000) + "s" : String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
    }

    private Failure classify(JSchException e, HostKeyVerifier verifier, Handshake hs, Target t,
                             Identities.Source ids) {
        if (e instanceof JSchHostKeyException) {
            String why = verifier.failure();
            return new Failure(why != null ? why : e.getMessage(), false, e);
        }
        if (verifier.failure() != null) {
            return new Failure(verifier.failure(), false, e);
        }
        // obplay's own deadline first: cutting a handshake makes JSch report anything, "Auth fail" included
        Handshake.Phase cut = hs.timedOutIn();
        if (cut != null) {
            if (cut == Handshake.Phase.TCP && t.jump() != null) {
                return new Failure("timed out after " + seconds(hs.deadlineMs(cut)) + " connecting through bastion "
                        + t.jump().hostPort() + " (connect_timeout)", true, e);
            }
            return timedOut(hs, cut, e);
        }
        Handshake.Phase phase = hs.phase();
        if (e instanceof JumpProxy.ForwardFailure f || e.getCause() instanceof JumpProxy.ForwardFailure) {
            JumpProxy.ForwardFailure ff = e instanceof JumpProxy.ForwardFailure x ? x
                    : (JumpProxy.ForwardFailure) e.getCause();
            String via = t.jump() == null ? "the bastion" : "bastion " + t.jump().hostPort();
            if (ff.reasonCode == JumpProxy.ADMINISTRATIVELY_PROHIBITED) {
                return new Failure(via + " refused to forward to " + t.hostPort()
                        + " (AllowTcpForwarding/PermitOpen on the bastion?)", false, e);
            }
            return new Failure(via + " could not connect to " + t.hostPort() + " (connection refused or host "
                    + "unreachable from the bastion)", true, e);
        }
        String msg = e.getMessage() == null ? "" : e.getMessage();
        if (msg.startsWith("Auth fail") || msg.startsWith("Auth cancel")) {
            // JSch also ends in "Auth fail" when the connection broke during authentication: that is no refusal
            if (hs.lost() != null) {
                return new Failure("connection closed by the host during user authentication (" + hs.lost()
                        + "; sshd's MaxStartups or LoginGraceTime?)", true, e);
            }
            return new Failure("authentication failed for user " + t.user() + " with " + ids.description(), false, e);
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof UnknownHostException) {
                return new Failure("unknown host name " + t.host(), false, e);
            }
            if (c instanceof NoRouteToHostException) {
                return new Failure("no route to host", true, e);
            }
            if (c instanceof ConnectException) {
                String m = c.getMessage() == null ? "" : c.getMessage().toLowerCase(Locale.ROOT);
                if (m.contains("timed out")) {
                    return timedOut(hs, phase, e);
                }
                return new Failure(m.contains("refused") || m.isEmpty() ? "connection refused" : m, true, e);
            }
            if (c instanceof SocketTimeoutException) {
                return timedOut(hs, phase, e);
            }
            if (c instanceof SocketException) {
                String m = c.getMessage() == null ? "" : c.getMessage().toLowerCase(Locale.ROOT);
                return new Failure(m.contains("reset") ? "connection reset during the SSH handshake (" + phase.words
                        + ")" : "connection lost during the SSH handshake (" + phase.words + ": " + c.getMessage() + ")",
                        true, e);
            }
        }
        if (msg.startsWith("timeout")) {
            return timedOut(hs, phase, e);
        }
        if (msg.contains("connection is closed by foreign host") || msg.contains("End of IO Stream Read")
                || msg.contains("session is down") || msg.contains("Packet corrupt")) {
            return new Failure("connection closed by the host during the SSH handshake (" + phase.words
                    + "; sshd MaxStartups?)", true, e);
        }
        if (msg.contains("Algorithm negotiation fail")) {
            return new Failure("no SSH algorithm in common with the host (" + msg + ")", false, e);
        }
        return new Failure(msg.isEmpty() ? e.toString() : msg, false, e);
    }

    @Override
    public void close() {
        closed = true;
        List<SshConnection> all = new ArrayList<>();
        for (Map.Entry<String, CompletableFuture<SshConnection>> e : sessions.entrySet()) {
            SshConnection c = e.getValue().getNow(null);
            if (c != null) {
                all.add(c);
            }
        }
        sessions.clear();
        // jumped sessions first, then their bastions
        for (SshConnection c : all) {
            if (c.bastion() != null) {
                c.close();
            }
        }
        for (SshConnection c : all) {
            if (c.bastion() == null) {
                c.close();
            }
        }
    }

    /** JSch's log on stderr, for OBPLAY_SSH_DEBUG=1. */
    private static final class StderrLogger implements Logger {
        @Override
        public boolean isEnabled(int level) {
            return true;
        }

        @Override
        public void log(int level, String message) {
            System.err.println("jsch: " + message);
        }
    }
}
