package io.obplay.shim;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.ObproxyCluster;
import io.obplay.plan.Times;
import io.obplay.store.Store;

import javax.net.ssl.SSLContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code obplay serve}: an obshell-compatible (and, for stopping OBProxy servers, OCP-compatible) HTTP server on
 * the JDK's {@code com.sun.net.httpserver}, whose stop and delete requests become obplay DAGs.
 *
 * <p>Every request: routed (an unknown one is 404 {@code Common.NotFound}), its body read (more than
 * {@value #MAX_BODY} bytes is 400 {@code Common.BadRequest}), authenticated ({@link RequestAuth}: none for info
 * and secret, auth v2 for obshell's routes, the agent password for {@code /api/v1/obproxy*} and obproxy DAG ids,
 * HTTP Basic for OCP's), handled ({@link Api}), answered in obshell's envelope (OCP's adds {@code server}), and
 * logged on one access-log line with its traceId. Whatever goes wrong in a handler is an envelope (500
 * {@code Common.Unexpected} naming the traceId for a bug), never a stack trace to the client; the server stays
 * up.
 *
 * <p>Handlers run on a bounded pool; when it and its queue are full, the accepting thread runs the request
 * itself, which slows accepting down instead of dropping requests. {@link #stop()} (the shutdown hook on
 * SIGTERM) closes the listening socket at once, lets in-flight requests finish (up to the drain time), lets
 * running DAGs finish until then too, cancels what still runs (FAILED, operator CANCEL, to RETRY later), and
 * returns.
 */
public final class ShimServer implements AutoCloseable {
    /** The largest request body taken: 1 MiB. */
    public static final int MAX_BODY = 1 << 20;
    /** An oversized body is read and dropped up to this much, so the client gets its 400 on a clean connection. */
    static final long DISCARD_LIMIT = 16L << 20;

    /** The server's settings. */
    public record Options(
            String listenHost,
            int listenPort,
            String agentIp,
            Integer agentPort,
            Integer obproxyCluster,
            boolean dryRun,
            Duration grace,
            Duration killWait,
            Duration settle,
            int threads,
            Duration drain,
            SSLContext tls,
            String homePath) {

        /** With the default settle period of stop and kill steps. */
        public Options(String listenHost, int listenPort, String agentIp, Integer agentPort, Integer obproxyCluster,
                       boolean dryRun, Duration grace, Duration killWait, int threads, Duration drain, SSLContext tls,
                       String homePath) {
            this(listenHost, listenPort, agentIp, agentPort, obproxyCluster, dryRun, grace, killWait,
                    io.obplay.playbook.Step.DEFAULT_SETTLE, threads, drain, tls, homePath);
        }
    }

    private enum AuthKind { NONE, V2, V2_AGENT, V2_BY_ID, BASIC }

    @FunctionalInterface
    private interface Handler {
        Api.Response handle(Api.Call c) throws ApiException;
    }

    private record Route(String method, Pattern path, AuthKind auth, Handler handler) {
    }

    private final HttpServer http;
    private final ThreadPoolExecutor handlers;
    private final DagService dags;
    private final Api api;
    private final RequestAuth auth;
    private final PrintStream log;
    private final Duration drain;
    private final List<Route> routes = new ArrayList<>();
    private final AtomicInteger inflight = new AtomicInteger();
    private final Object idle = new Object();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final SecureRandom random = new SecureRandom();
    private final String agentAddress;
    private final boolean tls;

    private ShimServer(Inventory inv, Store store, RequestAuth auth, Options o, PrintStream log) throws IOException {
        this.auth = auth;
        this.log = log;
        this.drain = o.drain();
        this.tls = o.tls() != null;
        ObproxyCluster managed = managedObproxy(inv, o.obproxyCluster());
        InetAddress listen = InetAddress.getByName(o.listenHost());
        InetSocketAddress addr = new InetSocketAddress(listen, o.listenPort());
        String agentIp = o.agentIp() != null ? o.agentIp() : agentIpFor(listen);
        if (o.tls() != null) {
            HttpsServer s = HttpsServer.create(addr, 128);
            s.setHttpsConfigurator(new HttpsConfigurator(o.tls()));
            http = s;
        } else {
            http = HttpServer.create(addr, 128);
        }
        int boundPort = http.getAddress().getPort();
        int agentPort = o.agentPort() != null ? o.agentPort() : boundPort;
        this.agentAddress = agentIp + ":" + agentPort;
        int threads = Math.max(2, o.threads());
        AtomicInteger n = new AtomicInteger();
        handlers = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(threads * 4), r -> {
            Thread t = new Thread(r, "obplay-serve-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        }, new ThreadPoolExecutor.CallerRunsPolicy());
        dags = new DagService(store, inv, agentIp, agentPort, o.dryRun(), Math.max(2, threads / 2), log);
        api = new Api(inv, dags, auth, managed, new ShimPlaybooks.Timing(o.grace(), o.killWait(), o.settle()), agentIp, agentPort, o.homePath());
        routes();
        http.setExecutor(handlers);
        http.createContext("/", this::handle);
    }

    /**
     * Binds, marks DAGs left running by a dead process FAILED, and starts serving.
     *
     * @throws IllegalArgumentException for settings that cannot work (several obproxy clusters and none chosen, an
     *                                  unknown one, a listen address whose generic ids cannot be made)
     */
    public static ShimServer start(Inventory inv, Store store, RequestAuth auth, Options o, PrintStream log) throws IOException {
        ShimServer s = new ShimServer(inv, store, auth, o, log);
        s.dags.reconcileAll();
        s.http.start();
        return s;
    }

    /** The port the server listens on (the one chosen when started with port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    /** The address generic ids and {@code /api/v1/secret} name: {@code ip:port}. */
    public String agentAddress() {
        return agentAddress;
    }

    public boolean dryRun() {
        return dags.dryRun();
    }

    /** Which obproxy cluster the obshell obproxy endpoints act on; null for none. */
    static ObproxyCluster managedObproxy(Inventory inv, Integer chosen) {
        if (chosen != null) {
            return inv.obproxyCluster(chosen).orElseThrow(() -> new IllegalArgumentException("--obproxy-cluster " + chosen
                    + ": the inventory has no obproxy cluster with that id; it has "
                    + (inv.obproxyClusters().isEmpty() ? "none" : inv.obproxyClusters().stream().map(c -> c.id() + " (" + c.name() + ")").toList())));
        }
        if (inv.obproxyClusters().size() > 1) {
            throw new IllegalArgumentException("the inventory has " + inv.obproxyClusters().size() + " obproxy clusters "
                    + inv.obproxyClusters().stream().map(c -> c.id() + " (" + c.name() + ")").toList()
                    + ": choose the one /api/v1/obproxy acts on with --obproxy-cluster ID");
        }
        return inv.obproxyClusters().isEmpty() ? null : inv.obproxyClusters().get(0);
    }

    /** The IPv4 address generic ids are made of: the listen address, or for a wildcard this host's first one. */
    private static String agentIpFor(InetAddress listen) {
        if (listen instanceof Inet4Address && !listen.isAnyLocalAddress()) {
            return listen.getHostAddress();
        }
        if (listen.isAnyLocalAddress()) {
            try {
                for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                    if (!ni.isUp() || ni.isLoopback()) {
                        continue;
                    }
                    for (InetAddress a : Collections.list(ni.getInetAddresses())) {
                        if (a instanceof Inet4Address) {
                            return a.getHostAddress();
                        }
                    }
                }
            } catch (IOException e) {
                // fall through
            }
            return "127.0.0.1";
        }
        throw new IllegalArgumentException("listening on " + listen.getHostAddress() + ": generic ids need an IPv4"
                + " address; give --agent IPV4:PORT");
    }

    // ---------------------------------------------------------------------------------------------------- routes

    private void routes() {
        String id = "([^/]+)";
        route("GET", "/api/v1/info", AuthKind.NONE, api::info);
        route("GET", "/api/v1/secret", AuthKind.NONE, api::secret);
        route("POST", "/api/v1/ob/stop", AuthKind.V2, api::stopOb);
        route("POST", "/api/v1/obproxy/stop", AuthKind.V2_AGENT, api::stopObproxy);
        route("DELETE", "/api/v1/obproxy", AuthKind.V2_AGENT, api::deleteObproxy);
        route("GET", "/api/v1/task/dag/unfinish", AuthKind.V2, c -> api.unfinished(c, false));
        route("GET", "/api/v1/task/dag/agent/unfinish", AuthKind.V2, c -> api.unfinished(c, false));
        route("GET", "/api/v1/task/dag/ob/unfinish", AuthKind.V2, c -> api.unfinished(c, true));
        route("GET", "/api/v1/task/dag/maintain/ob", AuthKind.V2, api::maintainOb);
        route("GET", "/api/v1/task/dag/maintain/agent", AuthKind.V2, api::maintainAgent);
        route("GET", "/api/v1/task/dag/maintain/agents", AuthKind.V2, api::maintainAgents);
        route("GET", "/api/v1/task/dag/" + id, AuthKind.V2_BY_ID, api::getDag);
        route("POST", "/api/v1/task/dag/" + id, AuthKind.V2_BY_ID, api::operateDag);
        route("GET", "/api/v1/task/node/" + id, AuthKind.V2_BY_ID, api::getNode);
        route("POST", "/api/v1/task/node/" + id, AuthKind.V2_BY_ID, api::operateNode);
        route("GET", "/api/v1/task/sub_task/" + id + "/logs", AuthKind.V2_BY_ID, api::subTaskLogs);
        route("GET", "/api/v1/task/sub_task/" + id, AuthKind.V2_BY_ID, api::getSubTask);
        route("POST", "/api/v2/obproxy/clusters/" + id + "/servers/stop", AuthKind.BASIC, api::ocpStop);
        route("GET", "/api/v2/tasks/instances/" + id, AuthKind.BASIC, api::ocpTask);
        route("POST", "/api/v2/tasks/instances/" + id + "/retry", AuthKind.BASIC, api::ocpRetry);
        route("POST", "/api/v2/tasks/instances/" + id + "/rollback", AuthKind.BASIC, api::ocpRollback);
    }

    private void route(String method, String path, AuthKind auth, Handler h) {
        routes.add(new Route(method, Pattern.compile(path.replace(".", "\\.")), auth, h));
    }

    // ---------------------------------------------------------------------------------------------------- requests

    /** An answer on its way out: the handler's, or an error. */
    private record Out(int status, Object data, ApiException error) {
    }

    private void handle(HttpExchange ex) {
        inflight.incrementAndGet();
        long t0 = System.nanoTime();
        String traceId = traceId(ex.getRequestHeaders());
        Out out = null;
        boolean ocp = ex.getRequestURI().getRawPath().startsWith("/api/v2/");
        try {
            try {
                Api.Response r = dispatch(ex, traceId);
                out = new Out(r.status(), r.data(), null);
            } catch (ApiException e) {
                out = new Out(e.status(), null, e);
            } catch (IOException e) {
                throw e;
            } catch (RuntimeException | Error e) {
                log.println("obplay serve: internal error, traceId " + traceId + ", " + ex.getRequestMethod() + " "
                        + ex.getRequestURI().getRawPath() + ":");
                e.printStackTrace(log);
                ApiException err = Errors.unexpected(e.getClass().getSimpleName() + " while handling the request"
                        + " (traceId " + traceId + "; the server log has the details)");
                out = new Out(err.status(), null, err);
            }
            write(ex, out, t0, traceId, ocp);
        } catch (IOException e) {
            // the client went away; nothing to answer
        } finally {
            accessLog(ex, out, t0, traceId);
            ex.close();
            if (inflight.decrementAndGet() == 0) {
                synchronized (idle) {
                    idle.notifyAll();
                }
            }
        }
    }

    private Api.Response dispatch(HttpExchange ex, String traceId) throws ApiException, IOException {
        String method = ex.getRequestMethod().toUpperCase(Locale.ROOT);
        URI u = ex.getRequestURI();
        String rawPath = u.getRawPath();
        String rawQuery = u.getRawQuery();
        String requestUri = rawQuery == null ? rawPath : rawPath + "?" + rawQuery;
        for (Route route : routes) {
            if (!route.method().equals(method)) {
                continue;
            }
            Matcher m = route.path().matcher(rawPath);
            if (!m.matches()) {
                continue;
            }
            List<String> params = new ArrayList<>();
            for (int i = 1; i <= m.groupCount(); i++) {
                params.add(decode(m.group(i)));
            }
            byte[] raw = readBody(ex);
            String client = ex.getRemoteAddress().getAddress().getHostAddress();
            Headers headers = ex.getRequestHeaders();
            byte[] body = raw;
            String user = null;
            switch (route.auth()) {
                case NONE -> {
                }
                case V2 -> body = auth.verify(client, method, requestUri, headers, raw, false);
                case V2_AGENT -> body = auth.verify(client, method, requestUri, headers, raw, true);
                case V2_BY_ID -> body = auth.verify(client, method, requestUri, headers, raw, GenericIds.isObproxy(params.get(0)));
                case BASIC -> user = auth.verifyBasic(client, headers);
            }
            return route.handler().handle(new Api.Call(params, body, query(rawQuery), user, traceId));
        }
        throw Errors.notFound();
    }

    private static byte[] readBody(HttpExchange ex) throws IOException, ApiException {
        InputStream in = ex.getRequestBody();
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            long n;
            try {
                n = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n > MAX_BODY) {
                discard(in, 0);
                throw tooLarge("Content-Length is " + n + " bytes");
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16 * 1024];
        long total = 0;
        int r;
        while ((r = in.read(buf)) > 0) {
            total += r;
            if (total > MAX_BODY) {
                discard(in, total);
                throw tooLarge("the body has more than " + MAX_BODY + " bytes");
            }
            out.write(buf, 0, r);
        }
        return out.toByteArray();
    }

    private static ApiException tooLarge(String what) {
        return new BodyTooLargeApi(Errors.badRequestBody(what + "; at most " + MAX_BODY + " bytes (1 MiB) are taken"));
    }

    /** Marks the body-too-large error so that the connection is closed after the answer. */
    private static final class BodyTooLargeApi extends ApiException {
        private static final long serialVersionUID = 1L;

        BodyTooLargeApi(ApiException e) {
            super(e.status(), e.errCode(), e.legacyCode(), e.getMessage());
        }
    }

    /** Reads and drops the rest of an oversized body (up to {@link #DISCARD_LIMIT}), so the 400 reaches the client. */
    private static void discard(InputStream in, long already) {
        byte[] buf = new byte[64 * 1024];
        long total = already;
        try {
            int r;
            while (total < DISCARD_LIMIT && (r = in.read(buf)) > 0) {
                total += r;
            }
        } catch (IOException e) {
            // the client gave up; the answer may still reach it
        }
    }

    private static Map<String, String> query(String rawQuery) {
        Map<String, String> q = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return q;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k = decode(eq < 0 ? pair : pair.substring(0, eq));
            String v = eq < 0 ? "" : decode(pair.substring(eq + 1));
            q.putIfAbsent(k, v);
        }
        return q;
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }

    /** obshell's: the request's {@code X-OBSHELL-Trace-ID}, else 16 random hex characters. */
    private String traceId(Headers h) {
        String given = h.getFirst("X-OBSHELL-Trace-ID");
        if (given != null && !given.isBlank() && given.length() <= 128 && given.chars().allMatch(ch -> ch > 32 && ch < 127)) {
            return given;
        }
        byte[] b = new byte[8];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private void write(HttpExchange ex, Out out, long t0, String traceId, boolean ocp) throws IOException {
        Headers h = ex.getResponseHeaders();
        if (out.error() instanceof BodyTooLargeApi) { // the rest of an oversized body may be unread
            h.set("Connection", "close");
        }
        if (out.status() == 204) {
            ex.sendResponseHeaders(204, -1);
            return;
        }
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("successful", out.error() == null);
        env.put("timestamp", Times.format(OffsetDateTime.now()));
        env.put("duration", (System.nanoTime() - t0) / 1_000_000);
        env.put("status", out.status());
        env.put("traceId", traceId);
        if (ocp) {
            env.put("server", agentAddress);
        }
        if (out.data() != null) {
            env.put("data", out.data());
        }
        if (out.error() != null) {
            env.put("error", out.error().errorObject());
            if (out.error().retryAfterSeconds() > 0) {
                h.set("Retry-After", Long.toString(out.error().retryAfterSeconds()));
            }
            if (ocp && out.status() == 401) {
                h.set("WWW-Authenticate", io.obplay.shim.auth.BasicAuth.CHALLENGE);
            }
        }
        byte[] bytes = JsonBody.MAPPER.writeValueAsBytes(env);
        h.set("Content-Type", "application/json");
        boolean head = ex.getRequestMethod().equalsIgnoreCase("HEAD");
        ex.sendResponseHeaders(out.status(), head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream os = ex.getResponseBody()) {
                os.write(bytes);
            }
        }
    }

    /** One line per request on the log (stderr): time, client, request, status, duration, traceId, errCode. */
    private void accessLog(HttpExchange ex, Out out, long t0, String traceId) {
        URI u = ex.getRequestURI();
        String target = u.getRawQuery() == null ? u.getRawPath() : u.getRawPath() + "?" + u.getRawQuery();
        String client = ex.getRemoteAddress() == null ? "-" : ex.getRemoteAddress().getAddress().getHostAddress();
        log.println(Times.format(OffsetDateTime.now()) + " " + client + " \"" + ex.getRequestMethod() + " " + target + "\" "
                + (out == null ? "-" : out.status()) + " " + (System.nanoTime() - t0) / 1_000_000 + "ms traceId=" + traceId
                + (out != null && out.error() != null ? " " + out.error().errCode() : ""));
    }

    // ---------------------------------------------------------------------------------------------------- stop

    /**
     * Stops cleanly: closes the listening socket, waits for in-flight requests and running DAGs (together up to the
     * drain time), cancels DAGs still running, and returns. Idempotent; a second caller waits for the first.
     */
    public void stop() {
        if (!stopping.compareAndSet(false, true)) {
            awaitStopped();
            return;
        }
        try {
            long deadline = System.nanoTime() + drain.toNanos();
            api.stopping();
            log.println("obplay serve: stopping: no new connections; draining " + inflight.get() + " in-flight request(s)"
                    + " (up to " + drain.toSeconds() + "s)");
            // HttpServer.stop closes the listening socket at once, then waits for exchanges to end; on JDK 17 it
            // waits out the whole delay even when none is left (JDK-8304065), so it runs aside while we wait on
            // our own count of requests in flight.
            Thread closer = new Thread(() -> http.stop((int) Math.max(1, drain.toSeconds())), "obplay-serve-close");
            closer.setDaemon(true);
            closer.start();
            synchronized (idle) {
                while (inflight.get() > 0) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    try {
                        idle.wait(Math.max(1, left / 1_000_000));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
            }
            if (inflight.get() > 0) {
                log.println("obplay serve: " + inflight.get() + " request(s) still in flight after " + drain.toSeconds() + "s; closing them");
            }
            dags.shutdown(deadline);
            handlers.shutdown();
            log.println("obplay serve: stopped");
        } finally {
            stopped.countDown();
        }
    }

    /** Blocks until {@link #stop()} has finished. */
    public void awaitStopped() {
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
    }

    /** For the start-up lines. */
    public String describe() {
        return (tls ? "https" : "http") + "://" + http.getAddress().getAddress().getHostAddress() + ":" + port()
                + " (generic ids and /api/v1/secret: " + agentAddress + "; authentication: " + auth.describe() + ")";
    }
}
