package io.obplay.shim;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.ObproxyCluster;
import io.obplay.plan.Times;
import io.obplay.store.Store;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.PrintStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code obplay serve}: an obshell-compatible (and, for stopping OBProxy servers, OCP-compatible) HTTP server on
 * Jetty (its core server, no servlets), whose stop and delete requests become obplay DAGs.
 *
 * <p>Every request: routed (an unknown one is 404 {@code Common.NotFound}), its body read without holding a
 * thread (a {@code Content-Length} over {@value #MAX_BODY} bytes is 413 at once, before any of the body is read;
 * a body that turns out longer is 400 {@code Common.BadRequest}), authenticated ({@link RequestAuth}: none for
 * info and secret, auth v2 for obshell's routes, the agent password for {@code /api/v1/obproxy*} and obproxy DAG
 * ids, HTTP Basic for OCP's), handled ({@link Api}), answered in obshell's envelope (OCP's adds {@code server}),
 * and logged on one access-log line with its traceId. Whatever goes wrong in a handler is an envelope (500
 * {@code Common.Unexpected} naming the traceId for a bug), never a stack trace to the client; what Jetty
 * refuses itself (a request that is not HTTP, headers over {@value #MAX_HEADER_BYTES} bytes) is answered in the
 * same envelope by {@link #errorPage}, naming neither Jetty nor Java.
 *
 * <p>Against slow, idle and abusive clients ({@link Limits}): headers are parsed without blocking, so a slow
 * client holds a descriptor, never a handler thread; a request's headers must arrive within the header timeout
 * and its body at the minimum rate ({@link ConnectionDeadlines}); a connection with nothing to do is closed after
 * the idle timeout; at most {@code maxConnections} are open (past that Jetty stops accepting and shortens idle
 * timeouts) and at most {@code maxConnectionsPerAddress} from one client address (more are closed as they are
 * accepted, {@link AddressLimitedConnector}). Accepting runs on the selector thread and never runs a handler.
 *
 * <p>{@link #stop()} (the shutdown hook on SIGTERM) closes the listening socket at once, lets in-flight requests
 * finish (up to the drain time), lets running DAGs finish until then too, cancels what still runs (FAILED,
 * operator CANCEL, to RETRY later), and returns.
 */
public final class ShimServer implements AutoCloseable {
    /** The largest request body taken: 1 MiB. */
    public static final int MAX_BODY = 1 << 20;
    /** The largest request line and headers taken together: 8 KiB (an SDK's auth v2 header is under 1 KiB). */
    public static final int MAX_HEADER_BYTES = 8 << 10;

    /** How much abuse the server takes; see README "obplay serve: limits". */
    public record Limits(
            int maxConnections,
            int maxConnectionsPerAddress,
            Duration headerTimeout,
            Duration idleTimeout,
            int minBodyRate) {
        /** 4,096 connections, 128 from one address, 10 s for the headers, 30 s idle, 16 KiB/s of body. */
        public static final Limits DEFAULTS = new Limits(4096, 128, Duration.ofSeconds(10), Duration.ofSeconds(30), 16 << 10);

        public Limits {
            if (maxConnections < 1 || maxConnectionsPerAddress < 1 || headerTimeout.toMillis() < 1
                    || idleTimeout.toMillis() < 1 || minBodyRate < 1) {
                throw new IllegalArgumentException("connection limits and timeouts must be positive");
            }
        }
    }

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
            String homePath,
            Limits limits) {

        /** With the default settle period of stop and kill steps and the default {@link Limits}. */
        public Options(String listenHost, int listenPort, String agentIp, Integer agentPort, Integer obproxyCluster,
                       boolean dryRun, Duration grace, Duration killWait, int threads, Duration drain, SSLContext tls,
                       String homePath) {
            this(listenHost, listenPort, agentIp, agentPort, obproxyCluster, dryRun, grace, killWait,
                    io.obplay.playbook.Step.DEFAULT_SETTLE, threads, drain, tls, homePath, Limits.DEFAULTS);
        }

        /** With the default {@link Limits}. */
        public Options(String listenHost, int listenPort, String agentIp, Integer agentPort, Integer obproxyCluster,
                       boolean dryRun, Duration grace, Duration killWait, Duration settle, int threads, Duration drain,
                       SSLContext tls, String homePath) {
            this(listenHost, listenPort, agentIp, agentPort, obproxyCluster, dryRun, grace, killWait, settle, threads, drain,
                    tls, homePath, Limits.DEFAULTS);
        }
    }

    private enum AuthKind { NONE, V2, V2_AGENT, V2_BY_ID, BASIC }

    @FunctionalInterface
    private interface Handler {
        Api.Response handle(Api.Call c) throws ApiException;
    }

    private record Route(String method, Pattern path, AuthKind auth, Handler handler) {
    }

    private final Server http;
    private final AddressLimitedConnector connector;
    private final ConnectionDeadlines deadlines;
    private final Executor handlers;
    private final DagService dags;
    private final Api api;
    private final PageDags pages;
    private final RequestAuth auth;
    private final PrintStream log;
    private final Duration drain;
    private final List<Route> routes = new ArrayList<>();
    private final AtomicInteger inflight = new AtomicInteger();
    private final Object idle = new Object();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final String agentAddress;
    private final InetAddress listen;
    private final boolean tls;

    private ShimServer(Inventory inv, Store store, RequestAuth auth, Options o, PrintStream log) throws IOException {
        this.auth = auth;
        this.log = log;
        this.drain = o.drain();
        this.tls = o.tls() != null;
        Limits limits = o.limits();
        ObproxyCluster managed = managedObproxy(inv, o.obproxyCluster());
        this.listen = InetAddress.getByName(o.listenHost());
        String agentIp = o.agentIp() != null ? o.agentIp() : agentIpFor(listen);
        int threads = Math.max(2, o.threads());

        // a fixed pool: the handler threads, plus the one selector thread (which also accepts) and one spare
        QueuedThreadPool pool = new QueuedThreadPool(threads + 2, threads + 2, 60_000);
        pool.setName("obplay-serve-http");
        pool.setDaemon(true);
        http = new Server(pool);
        http.setStopTimeout(1000);
        http.setErrorHandler(this::errorPage);
        handlers = pool;

        HttpConfiguration hc = new HttpConfiguration();
        hc.setSendServerVersion(false);
        hc.setSendXPoweredBy(false);
        hc.setRequestHeaderSize(MAX_HEADER_BYTES);
        hc.setDelayDispatchUntilContent(false); // a 413 goes out on the headers alone
        hc.setIdleTimeout(limits.idleTimeout().toMillis());
        HttpConnectionFactory h1 = new HttpConnectionFactory(hc);
        if (o.tls() != null) {
            SslContextFactory.Server ssl = new SslContextFactory.Server();
            ssl.setSslContext(o.tls());
            connector = new AddressLimitedConnector(http, limits.maxConnectionsPerAddress(),
                    new SslConnectionFactory(ssl, h1.getProtocol()), h1);
        } else {
            connector = new AddressLimitedConnector(http, limits.maxConnectionsPerAddress(), h1);
        }
        connector.setHost(listen.getHostAddress());
        connector.setPort(o.listenPort());
        connector.setAcceptQueueSize(128);
        connector.setIdleTimeout(limits.idleTimeout().toMillis());
        deadlines = new ConnectionDeadlines(limits.headerTimeout(), limits.minBodyRate(), MAX_BODY);
        connector.addBean(deadlines);
        http.addConnector(connector);
        NetworkConnectionLimit cap = new NetworkConnectionLimit(limits.maxConnections(), connector);
        cap.setEndPointIdleTimeout(Math.min(2000, limits.idleTimeout().toMillis())); // when full, idle ones go first
        http.addBean(cap);
        try {
            connector.open();
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e.getMessage(), e);
        }

        int boundPort = connector.getLocalPort();
        int agentPort = o.agentPort() != null ? o.agentPort() : boundPort;
        this.agentAddress = agentIp + ":" + agentPort;
        dags = new DagService(store, inv, agentIp, agentPort, o.dryRun(), Math.max(2, threads / 2), log);
        api = new Api(inv, dags, auth, managed, new ShimPlaybooks.Timing(o.grace(), o.killWait(), o.settle()), agentIp, agentPort, o.homePath());
        pages = new PageDags(dags, tls);
        routes();
        http.setHandler(new org.eclipse.jetty.server.Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                return ShimServer.this.handle(request, response, callback);
            }
        });
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
        try {
            s.http.start();
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e.getMessage(), e);
        }
        s.deadlines.start();
        return s;
    }

    /** The port the server listens on (the one chosen when started with port 0). */
    public int port() {
        return connector.getLocalPort();
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
        route("POST", "/api/v1/ob/start", AuthKind.V2, api::startOb);
        route("POST", "/api/v1/obproxy/stop", AuthKind.V2_AGENT, api::stopObproxy);
        route("POST", "/api/v1/obproxy/start", AuthKind.V2_AGENT, api::startObproxy);
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
        // the DAG page (io.obplay.shim.ui): HTML, behind the OCP endpoints' Basic auth
        route("GET", io.obplay.shim.ui.DagPages.PATHS, AuthKind.BASIC, c -> pages.handle(c, "GET"));
        route("POST", io.obplay.shim.ui.DagPages.PATHS, AuthKind.BASIC, c -> pages.handle(c, "POST"));
    }

    private void route(String method, String path, AuthKind auth, Handler h) {
        routes.add(new Route(method, Pattern.compile(path.replace(".", "\\.")), auth, h));
    }

    // ---------------------------------------------------------------------------------------------------- requests

    /** An answer on its way out: the handler's, or an error. */
    private record Out(int status, Object data, ApiException error) {
    }

    /** One request from its headers to the end of its answer. */
    private final class Exchange {
        final Request request;
        final Response response;
        final Callback callback;
        final long t0 = System.nanoTime();
        final String traceId;
        final String method;
        final String rawPath;
        final String rawQuery;
        final boolean ocp;
        final Connection connection;
        Out out;

        Exchange(Request request, Response response, Callback callback) {
            this.request = request;
            this.response = response;
            this.callback = callback;
            this.traceId = traceId(request.getHeaders().get("X-OBSHELL-Trace-ID"));
            this.method = request.getMethod().toUpperCase(Locale.ROOT);
            HttpURI u = request.getHttpURI();
            this.rawPath = u.getPath() == null ? "/" : u.getPath();
            this.rawQuery = u.getQuery();
            this.ocp = rawPath.startsWith("/api/v2/");
            this.connection = request.getConnectionMetaData().getConnection();
        }

        String client() {
            return addressOf(request.getConnectionMetaData().getRemoteSocketAddress());
        }
    }

    private boolean handle(Request request, Response response, Callback callback) {
        inflight.incrementAndGet();
        Exchange ex;
        try {
            ex = new Exchange(request, response, callback);
        } catch (RuntimeException e) {
            done();
            throw e;
        }
        deadlines.requestStarted(ex.connection);
        try {
            Route route = null;
            List<String> params = new ArrayList<>();
            for (Route r : routes) {
                if (!r.method().equals(ex.method)) {
                    continue;
                }
                Matcher m = r.path().matcher(ex.rawPath);
                if (m.matches()) {
                    route = r;
                    for (int i = 1; i <= m.groupCount(); i++) {
                        params.add(decode(m.group(i)));
                    }
                    break;
                }
            }
            if (route == null) {
                answer(ex, new Out(404, null, Errors.notFound()));
                return true;
            }
            long declared = request.getLength();
            if (declared > MAX_BODY) {
                answer(ex, new Out(413, null, new BodyTooLargeApi(413, "Content-Length is " + declared
                        + " bytes; at most " + MAX_BODY + " bytes (1 MiB) are taken")));
                return true;
            }
            Route chosen = route;
            if (declared == 0 || (declared < 0 && !request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING))) {
                run(ex, chosen, params, new byte[0]);
                return true;
            }
            // the body arrives without a thread waiting for it; the deadline watches its rate
            deadlines.readingBody(ex.connection, declared);
            Content.Source.asByteArrayAsync(request, MAX_BODY).whenComplete((body, failure) -> handlers.execute(() -> {
                if (failure == null) {
                    deadlines.requestStarted(ex.connection);
                    run(ex, chosen, params, body);
                } else if (Request.getContentBytesRead(request) > MAX_BODY || failure instanceof IllegalArgumentException) {
                    answer(ex, new Out(400, null, new BodyTooLargeApi(400, "the body has more than " + MAX_BODY
                            + " bytes; at most " + MAX_BODY + " bytes (1 MiB) are taken")));
                } else {
                    // the client went away, or its body came too slowly (the connection was closed): Jetty answers
                    // what it still can through errorPage, which logs it
                    deadlines.requestDone(ex.connection);
                    try {
                        callback.failed(failure);
                    } finally {
                        done();
                    }
                }
            }));
            return true;
        } catch (RuntimeException | Error e) {
            answer(ex, internalError(ex, e));
            return true;
        }
    }

    private void run(Exchange ex, Route route, List<String> params, byte[] raw) {
        Out out;
        try {
            Api.Response r = dispatch(ex, route, params, raw);
            out = new Out(r.status(), r.data(), null);
        } catch (ApiException e) {
            out = new Out(e.status(), null, e);
        } catch (RuntimeException | Error e) {
            out = internalError(ex, e);
        }
        answer(ex, out);
    }

    private Out internalError(Exchange ex, Throwable e) {
        log.println("obplay serve: internal error, traceId " + ex.traceId + ", " + ex.method + " " + ex.rawPath + ":");
        e.printStackTrace(log);
        ApiException err = Errors.unexpected("an internal error while handling the request (traceId " + ex.traceId
                + "; the server log has the details)");
        return new Out(err.status(), null, err);
    }

    private Api.Response dispatch(Exchange ex, Route route, List<String> params, byte[] raw) throws ApiException {
        String requestUri = ex.rawQuery == null ? ex.rawPath : ex.rawPath + "?" + ex.rawQuery;
        byte[] body = raw;
        String user = null;
        Map<String, List<String>> headers = route.auth() != AuthKind.NONE ? headers(ex.request.getHeaders()) : Map.of();
        if (route.auth() == AuthKind.BASIC && ex.ocp && !ex.method.equals("GET")) {
            refuseCrossSite(headers, ex.request.getHeaders().get(HttpHeader.HOST));
        }
        if (route.auth() != AuthKind.NONE) {
            String client = ex.client();
            switch (route.auth()) {
                case V2 -> body = auth.verify(client, ex.method, requestUri, headers, raw, false);
                case V2_AGENT -> body = auth.verify(client, ex.method, requestUri, headers, raw, true);
                case V2_BY_ID -> body = auth.verify(client, ex.method, requestUri, headers, raw, GenericIds.isObproxy(params.get(0)));
                case BASIC -> user = auth.verifyBasic(client, headers);
                default -> throw new IllegalStateException(route.auth().name());
            }
        }
        return route.handler().handle(new Api.Call(params, body, query(ex.rawQuery), user, ex.traceId, headers));
    }

    /**
     * The OCP-style endpoints take Basic credentials, which a browser that has them sends with any request, also
     * with one that a page of another site makes it send (a form POST to {@code .../retry}): a change asked for by a
     * browser from another site ({@code Sec-Fetch-Site} other than {@code same-origin} or {@code none}, or an
     * {@code Origin} that is not this server's) is 403 before its credentials are looked at. Clients that are not
     * browsers send neither header. The DAG page's own forms have their own, stricter check ({@code shim.ui.Csrf}).
     */
    private void refuseCrossSite(Map<String, List<String>> headers, String host) throws ApiException {
        String site = first(headers, "Sec-Fetch-Site");
        if (site != null && !site.equalsIgnoreCase("same-origin") && !site.equalsIgnoreCase("none")) {
            throw Errors.crossSite("Sec-Fetch-Site: " + site);
        }
        String origin = first(headers, "Origin");
        if (origin != null) {
            String expected = (tls ? "https://" : "http://") + host;
            if (host == null || !origin.equalsIgnoreCase(expected)) {
                throw Errors.crossSite("Origin: " + origin);
            }
        }
    }

    private static String first(Map<String, List<String>> headers, String name) {
        List<String> v = headers.get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    /** The request headers as the auth layer takes them: names case-insensitive, every value kept. */
    private static Map<String, List<String>> headers(HttpFields fields) {
        Map<String, List<String>> m = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (HttpField f : fields) {
            m.computeIfAbsent(f.getName(), k -> new ArrayList<>(1)).add(f.getValue());
        }
        return m;
    }

    /** Marks the body-too-large error so that the connection is closed after the answer. */
    private static final class BodyTooLargeApi extends ApiException {
        private static final long serialVersionUID = 1L;

        BodyTooLargeApi(int status, String why) {
            super(status, "Common.BadRequest", Errors.BAD_REQUEST, "Bad request: " + why);
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

    private static String addressOf(SocketAddress a) {
        if (a instanceof InetSocketAddress i && i.getAddress() != null) {
            return i.getAddress().getHostAddress();
        }
        return "-";
    }

    /** obshell's: the request's {@code X-OBSHELL-Trace-ID}, else 16 random hex characters. */
    private String traceId(String given) {
        if (given != null && !given.isBlank() && given.length() <= 128 && given.chars().allMatch(ch -> ch > 32 && ch < 127)) {
            return given;
        }
        // only unique, not secret (it is sent back in the answer): no SecureRandom, whose one lock every request
        // would queue on
        return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
    }

    /** Writes the answer in obshell's envelope, then logs it and ends the exchange. */
    private void answer(Exchange ex, Out out) {
        ex.out = out;
        Response resp = ex.response;
        try {
            HttpFields.Mutable h = resp.getHeaders();
            if (out.error() instanceof BodyTooLargeApi) { // the rest of an oversized body is not read
                h.put(HttpHeader.CONNECTION, "close");
            }
            resp.setStatus(out.status());
            if (out.data() instanceof io.obplay.shim.ui.Page page) { // the DAG page's answers go out as they are
                page.headers().forEach(h::put);
                h.put(HttpHeader.CONTENT_TYPE, page.contentType());
                h.put(HttpHeader.CONTENT_LENGTH, Integer.toString(page.body().length));
                resp.setStatus(page.status());
                resp.write(true, ByteBuffer.wrap(page.body()), Callback.from(() -> finish(ex, null), x -> finish(ex, x)));
                return;
            }
            if (out.status() == 401 && PageDags.isPage(ex.rawPath)) { // a browser asks for the user and password
                h.put(HttpHeader.WWW_AUTHENTICATE, io.obplay.shim.auth.BasicAuth.CHALLENGE);
            }
            if (out.status() == 204) {
                finish(ex, null);
                return;
            }
            byte[] bytes = envelope(out, ex.t0, ex.traceId, ex.ocp, h);
            h.put(HttpHeader.CONTENT_TYPE, "application/json");
            h.put(HttpHeader.CONTENT_LENGTH, Integer.toString(bytes.length));
            if (ex.method.equals("HEAD")) {
                finish(ex, null);
                return;
            }
            resp.write(true, ByteBuffer.wrap(bytes), Callback.from(() -> finish(ex, null), x -> finish(ex, x)));
        } catch (IOException | RuntimeException e) {
            finish(ex, e);
        }
    }

    private byte[] envelope(Out out, long t0, String traceId, boolean ocp, HttpFields.Mutable h) throws IOException {
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
                h.put(HttpHeader.RETRY_AFTER, Long.toString(out.error().retryAfterSeconds()));
            }
            if (ocp && out.status() == 401) {
                h.put(HttpHeader.WWW_AUTHENTICATE, io.obplay.shim.auth.BasicAuth.CHALLENGE);
            }
        }
        return JsonBody.MAPPER.writeValueAsBytes(env);
    }

    /** The end of an exchange, once: the access-log line, the callback, the in-flight count. */
    private void finish(Exchange ex, Throwable failure) {
        try {
            accessLog(ex.client(), ex.method, ex.rawQuery == null ? ex.rawPath : ex.rawPath + "?" + ex.rawQuery,
                    ex.out, ex.t0, ex.traceId);
        } finally {
            deadlines.requestDone(ex.connection);
            try {
                if (failure == null) {
                    ex.callback.succeeded();
                } else {
                    ex.callback.failed(failure);
                }
            } finally {
                done();
            }
        }
    }

    private void done() {
        if (inflight.decrementAndGet() == 0) {
            synchronized (idle) {
                idle.notifyAll();
            }
        }
    }

    /**
     * What Jetty answers itself (a request that is not HTTP/1.1, headers over {@value #MAX_HEADER_BYTES} bytes, a
     * request target it cannot parse, a body that failed): obshell's envelope, in words that name neither Jetty nor
     * Java, and an access-log line.
     */
    private boolean errorPage(Request request, Response response, Callback callback) {
        long t0 = System.nanoTime();
        int status = response.getStatus() >= 400 ? response.getStatus() : 400;
        Object s = request.getAttribute(org.eclipse.jetty.server.handler.ErrorHandler.ERROR_STATUS);
        if (s instanceof Integer i && i >= 400) {
            status = i;
        }
        String why = switch (status) {
            case 408 -> "the request did not arrive in time";
            case 413 -> "the body is larger than " + MAX_BODY + " bytes (1 MiB)";
            case 414 -> "the request target is too long";
            case 431 -> "the request line and headers are larger than " + MAX_HEADER_BYTES + " bytes";
            case 501 -> "this request is not implemented";
            case 505 -> "the HTTP version is not supported; use HTTP/1.1";
            default -> "the request is not valid HTTP/1.1";
        };
        ApiException err = status >= 500 && status != 501 && status != 505
                ? Errors.unexpected("the request could not be handled")
                : new ApiException(status, "Common.BadRequest", Errors.BAD_REQUEST, "Bad request: " + why);
        String traceId = traceId(null);
        String method = "-";
        String target = "-";
        try {
            method = request.getMethod();
            target = request.getHttpURI().getPathQuery();
        } catch (RuntimeException e) {
            // a request too broken to have them
        }
        try {
            HttpFields.Mutable h = response.getHeaders();
            h.put(HttpHeader.CONNECTION, "close");
            response.setStatus(status);
            byte[] bytes = envelope(new Out(status, null, err), t0, traceId, false, h);
            h.put(HttpHeader.CONTENT_TYPE, "application/json");
            h.put(HttpHeader.CONTENT_LENGTH, Integer.toString(bytes.length));
            response.write(true, ByteBuffer.wrap(bytes), callback);
        } catch (IOException | RuntimeException e) {
            callback.failed(e);
        }
        accessLog(addressOf(request.getConnectionMetaData().getRemoteSocketAddress()), method, target,
                new Out(status, null, err), t0, traceId);
        return true;
    }

    /** One line per request on the log (stderr): time, client, request, status, duration, traceId, errCode. */
    private void accessLog(String client, String method, String target, Out out, long t0, String traceId) {
        log.println(Times.format(OffsetDateTime.now()) + " " + client + " \"" + method + " " + target + "\" "
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
            // the listening socket (open connections go on): first off the selector, which would otherwise keep
            // the socket open until its next wake-up, then closed
            connector.setAccepting(false);
            connector.close();
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
            deadlines.stop();
            try {
                http.stop();
            } catch (Exception e) {
                log.println("obplay serve: closing connections: " + e.getMessage());
            }
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
        return (tls ? "https" : "http") + "://" + listen.getHostAddress() + ":" + port()
                + " (generic ids and /api/v1/secret: " + agentAddress + "; authentication: " + auth.describe() + ")";
    }
}
