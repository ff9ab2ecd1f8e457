package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.ObproxyCluster;
import io.obplay.inventory.Server;
import io.obplay.playbook.Playbook;
import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.ObshellJson;
import io.obplay.plan.OcpJson;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;
import io.obplay.store.Store;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The endpoints: obshell's ({@code /api/v1/...}) and OCP's ({@code /api/v2/...}). Each takes a request already
 * authenticated (body decrypted) and answers data or throws an {@link ApiException}; {@link ShimServer} does
 * HTTP, routing, authentication and the envelope.
 */
final class Api {
    /** What {@code GET /api/v1/info} says it is: obshell's version scheme (the SDKs compare it), and obplay's. */
    static final String VERSION = "4.2.6.0-obplay";
    /** obshell's {@code http.State}: 2 running, 3 stopping. */
    static final int STATE_RUNNING = 2;
    static final int STATE_STOPPING = 3;

    /** A request: path parameters, the (decrypted) body, the query, the OCP user. */
    record Call(List<String> params, byte[] body, Map<String, String> query, String user, String traceId,
                Map<String, List<String>> headers) {
        Call(List<String> params, byte[] body, Map<String, String> query, String user, String traceId) {
            this(params, body, query, user, traceId, Map.of());
        }

        String param(int i) {
            return params.get(i);
        }
    }

    /** An answer: {@code data} (null: none, as obshell leaves it out), or 204 with no body. */
    record Response(int status, Object data) {
        static Response ok(Object data) {
            return new Response(200, data);
        }

        static Response noContent() {
            return new Response(204, null);
        }
    }

    private final Inventory inv;
    private final DagService dags;
    private final Store store;
    private final RequestAuth auth;
    private final ObproxyCluster managedObproxy;
    private final ShimPlaybooks.Timing timing;
    private final String agentIp;
    private final int agentPort;
    private final long startAt;
    private final String homePath;
    private volatile int state = STATE_RUNNING;

    Api(Inventory inv, DagService dags, RequestAuth auth, ObproxyCluster managedObproxy, ShimPlaybooks.Timing timing,
        String agentIp, int agentPort, String homePath) {
        this.inv = inv;
        this.dags = dags;
        this.store = dags.store();
        this.auth = auth;
        this.managedObproxy = managedObproxy;
        this.timing = timing;
        this.agentIp = agentIp;
        this.agentPort = agentPort;
        this.homePath = homePath;
        java.time.Instant now = java.time.Instant.now();
        this.startAt = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    void stopping() {
        state = STATE_STOPPING;
    }

    String agentAddress() {
        return agentIp + ":" + agentPort;
    }

    // ================================================================================================ info, secret

    /** obshell's {@code meta.AgentStatus}; identity CLUSTER AGENT (the SDK takes SINGLE to mean "no password"). */
    Response info(Call c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", ProcessHandle.current().pid());
        m.put("state", state);
        m.put("startAt", startAt);
        m.put("homePath", homePath);
        m.put("obVersion", "");
        m.put("architecture", architecture());
        m.put("ip", agentIp);
        m.put("port", agentPort);
        m.put("zone", "");
        m.put("identity", "CLUSTER AGENT");
        m.put("version", VERSION);
        m.put("isObproxyAgent", managedObproxy != null);
        m.put("security", auth.security());
        m.put("supportedAuth", List.of("v2"));
        return Response.ok(m);
    }

    private static String architecture() {
        String a = System.getProperty("os.arch", "");
        return switch (a) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> a;
        };
    }

    /** obshell's {@code meta.AgentSecret}: {@code ip}, {@code port}, {@code public_key}. */
    Response secret(Call c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ip", agentIp);
        m.put("port", agentPort);
        m.put("public_key", auth.publicKey());
        return Response.ok(m);
    }

    // ================================================================================================ stop, delete

    /** {@code POST /api/v1/ob/stop}: validated in full (see {@link StopObRequest}) before the DAG exists. */
    Response stopOb(Call c) throws ApiException {
        StopObRequest r = StopObRequest.parse(c.body(), inv);
        String source = "POST /api/v1/ob/stop";
        Playbook pb = ShimPlaybooks.stopOb(source, c.body(), r, timing);
        Dag d = dags.create(pb, r.forcePassDag(), shimData(source, c, Map.of()));
        return Response.ok(created(d));
    }

    /**
     * {@code POST /api/v1/ob/start}: the body checked as obshell checks it ({@link StartObRequest}), then the "Start
     * OB" DAG; the maintenance lock and {@code forcePassDag} as for a stop.
     */
    Response startOb(Call c) throws ApiException {
        StartObRequest r = StartObRequest.parse(c.body(), inv);
        String source = "POST /api/v1/ob/start";
        Playbook pb = ShimPlaybooks.startOb(source, c.body(), r, timing);
        Dag d = dags.create(pb, r.forcePassDag(), shimData(source, c, Map.of()));
        return Response.ok(created(d));
    }

    /**
     * {@code POST /api/v1/obproxy/start} (no body): 400 {@code OBProxy.NotBeManaged} when no obproxy is managed (obshell
     * makes the DAG and fails it in its first node; obplay refuses at once, as obshell's stop does).
     */
    Response startObproxy(Call c) throws ApiException {
        if (managedObproxy == null) {
            throw Errors.obproxyNotManaged();
        }
        String source = "POST /api/v1/obproxy/start";
        Playbook pb = ShimPlaybooks.startObproxy(source, c.body(), describe(managedObproxy), managedObproxy.servers(), timing);
        return Response.ok(created(dags.create(pb, List.of(), shimData(source, c, Map.of()))));
    }

    /** {@code POST /api/v1/obproxy/stop}: 400 {@code OBProxy.NotBeManaged} when no obproxy is managed. */
    Response stopObproxy(Call c) throws ApiException {
        if (managedObproxy == null) {
            throw Errors.obproxyNotManaged();
        }
        String source = "POST /api/v1/obproxy/stop";
        Playbook pb = ShimPlaybooks.stopObproxy(source, c.body(), describe(managedObproxy), managedObproxy.servers(), timing);
        return Response.ok(created(dags.create(pb, List.of(), shimData(source, c, Map.of()))));
    }

    /** {@code DELETE /api/v1/obproxy}: 204 with no body when no obproxy is managed, as obshell. */
    Response deleteObproxy(Call c) throws ApiException {
        if (managedObproxy == null) {
            return Response.noContent();
        }
        String source = "DELETE /api/v1/obproxy";
        Playbook pb = ShimPlaybooks.deleteObproxy(source, c.body(), describe(managedObproxy), managedObproxy.servers(), timing);
        return Response.ok(created(dags.create(pb, List.of(), shimData(source, c, Map.of()))));
    }

    private static String describe(ObproxyCluster cl) {
        return "obproxy cluster " + cl.id() + " (" + cl.name() + ")";
    }

    private Map<String, Object> shimData(String source, Call c, Map<String, Object> more) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("request", source);
        m.put("trace_id", c.traceId());
        try {
            JsonNode body = JsonBody.object(c.body());
            m.put("body", JsonBody.MAPPER.convertValue(body, Map.class));
        } catch (ApiException e) {
            // the OCP and obproxy endpoints take no body: it was not JSON and is not kept
        }
        m.putAll(more);
        return m;
    }

    /** A DAG as a create answers it: {@code nodes} and {@code additional_data} null, as obshell. */
    static Map<String, Object> created(Dag d) {
        Map<String, Object> m = ObshellJson.dag(d.withNodes(List.of()), false);
        m.put("additional_data", null);
        return m;
    }

    /** A DAG with its nodes, sub-tasks and data ({@code show_details}), or without, as obshell. */
    static Map<String, Object> dagJson(Dag d, boolean details) {
        return details ? ObshellJson.dag(d, true) : created(d);
    }

    // ================================================================================================ tasks

    /** {@code show_details}: default true; Go's ParseBool spellings, so Python's {@code True} works. */
    static boolean showDetails(Call c) throws ApiException {
        String v = c.query().get("show_details");
        if (v == null) {
            return true;
        }
        return switch (v) {
            case "1", "t", "T", "true", "TRUE", "True" -> true;
            case "0", "f", "F", "false", "FALSE", "False" -> false;
            default -> throw Errors.illegalArgument("show_details", "'" + v + "' is not a boolean (true, True, false, False, 1, 0)");
        };
    }

    private Dag dagById(String id) throws ApiException {
        long local = GenericIds.localId(id);
        if (id.charAt(0) == '1') {
            throw Errors.taskNotFound("obplay serve has no cluster DAGs ('1...' ids); its DAGs are agent ('2...') and obproxy ('4...') DAGs");
        }
        Dag d = dags.dag(local).orElseThrow(() -> Errors.taskNotFound("no DAG " + id));
        if (!d.id().equals(id)) {
            throw Errors.taskNotFound("dag id not match");
        }
        return d;
    }

    Response getDag(Call c) throws ApiException {
        String id = c.param(0);
        GenericIds.localId(id);
        boolean details = showDetails(c);
        return Response.ok(dagJson(dagById(id), details));
    }

    /** {@code POST /api/v1/task/dag/{id}} {@code {"operator": "RETRY"}}; the answer has no data. */
    Response operateDag(Call c) throws ApiException {
        String id = c.param(0);
        GenericIds.localId(id);
        String operator = operator(c);
        Dag d = dagById(id);
        dags.operate(d.dagId(), operator);
        return Response.ok(null);
    }

    private static String operator(Call c) throws ApiException {
        Map<String, JsonNode> f = JsonBody.fields(JsonBody.object(c.body()), "the body", List.of("operator"));
        String op = JsonBody.string(f, "operator");
        if (op == null || op.isEmpty()) {
            throw Errors.bindJsonFailed("field 'operator' is required (RETRY, ROLLBACK, CANCEL or PASS)");
        }
        return op;
    }

    private Node nodeById(String id) throws ApiException {
        long local = GenericIds.localId(id);
        if (id.charAt(0) == '1') {
            throw Errors.taskNotFound("obplay serve has no cluster DAGs ('1...' ids)");
        }
        Node n = store.node(local).orElseThrow(() -> Errors.taskNotFound("no node " + id));
        if (!n.id().equals(id)) {
            throw Errors.taskNotFound("node type not match");
        }
        return n;
    }

    Response getNode(Call c) throws ApiException {
        String id = c.param(0);
        GenericIds.localId(id);
        showDetails(c);
        Node n = nodeById(id);
        // a node read after its DAG's process died shows the reconciled states
        store.dagOfNode(n.nodeId()).ifPresent(dags::dag);
        return Response.ok(ObshellJson.node(store.node(n.nodeId()).orElse(n)));
    }

    /** {@code POST /api/v1/task/node/{id}} {@code {"operator": "PASS"}}: only PASS, as obshell. */
    Response operateNode(Call c) throws ApiException {
        String id = c.param(0);
        GenericIds.localId(id);
        String operator = operator(c);
        if (!operator.toUpperCase(Locale.ROOT).equals("PASS")) {
            throw Errors.nodeOperatorNotSupport(operator);
        }
        Node n = nodeById(id);
        dags.passNode(n.nodeId());
        return Response.ok(null);
    }

    private SubTask subTaskById(String id) throws ApiException {
        long local = GenericIds.localId(id);
        if (id.charAt(0) == '1') {
            throw Errors.taskNotFound("obplay serve has no cluster DAGs ('1...' ids)");
        }
        store.nodeOfSubTask(local).flatMap(store::dagOfNode).ifPresent(dags::dag);
        SubTask t = store.subTask(local).orElseThrow(() -> Errors.taskNotFound("no sub-task " + id));
        if (!t.id().equals(id)) {
            throw Errors.taskNotFound("sub task type not match");
        }
        return t;
    }

    Response getSubTask(Call c) throws ApiException {
        return Response.ok(ObshellJson.subTask(subTaskById(c.param(0))));
    }

    /**
     * {@code GET /api/v1/task/sub_task/{id}/logs}: obshell's {@code bo.SubTaskLog} rows as {@code {"contents": [...]}}.
     * obplay records log lines without a time of their own: {@code create_time}/{@code update_time} are the
     * sub-task's start and end, {@code execute_times} its attempts so far.
     */
    Response subTaskLogs(Call c) throws ApiException {
        SubTask t = subTaskById(c.param(0));
        List<Object> rows = new ArrayList<>();
        for (int i = 0; i < t.taskLogs().size(); i++) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("id", i + 1);
            r.put("sub_task_id", t.taskId());
            r.put("execute_times", t.executeTimes());
            r.put("log_content", t.taskLogs().get(i));
            r.put("is_sync", true);
            r.put("create_time", Times.format(t.startTime()));
            r.put("update_time", Times.format(t.endTime().equals(Times.UNSET) ? t.startTime() : t.endTime()));
            rows.add(r);
        }
        return Response.ok(contents(rows));
    }

    static Map<String, Object> contents(List<?> list) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("contents", list);
        return m;
    }

    /** {@code GET /api/v1/task/dag/maintain/ob}: the newest maintenance DAG of the cluster, finished or not. */
    Response maintainOb(Call c) throws ApiException {
        boolean details = showDetails(c);
        Dag d = latest(List.of(inv.cluster())).orElseThrow(() -> Errors.taskNotFound("Cluster is not under maintenance"));
        return Response.ok(dagJson(d, details));
    }

    /** {@code GET /api/v1/task/dag/maintain/agent}: the newest maintenance DAG of this server (cluster or obproxy). */
    Response maintainAgent(Call c) throws ApiException {
        boolean details = showDetails(c);
        Dag d = latest(keys()).orElseThrow(() -> Errors.taskNotFound("Agent is not under maintenance"));
        return Response.ok(dagJson(d, details));
    }

    /** {@code GET /api/v1/task/dag/maintain/agents}: the same for every agent, here one: a list. */
    Response maintainAgents(Call c) throws ApiException {
        boolean details = showDetails(c);
        List<Object> out = new ArrayList<>();
        latest(keys()).ifPresent(d -> out.add(dagJson(d, details)));
        return Response.ok(contents(out));
    }

    private List<String> keys() {
        return List.of(inv.cluster(), "obproxy");
    }

    private Optional<Dag> latest(List<String> keys) {
        Dag best = null;
        for (String k : keys) {
            Optional<Dag> d = store.latestMaintenance(k);
            if (d.isPresent() && (best == null || d.get().dagId() > best.dagId())) {
                best = d.get();
            }
        }
        return best == null ? Optional.empty() : dags.dag(best.dagId());
    }

    /**
     * {@code GET /api/v1/task/dag/unfinish} (and {@code .../ob/unfinish}, {@code .../agent/unfinish}): unfinished
     * DAGs, a FAILED maintenance DAG not passed among them, as {@code {"contents": [...]}}, oldest first.
     */
    Response unfinished(Call c, boolean clusterOnly) throws ApiException {
        boolean details = showDetails(c);
        List<Object> out = new ArrayList<>();
        for (Dag head : store.unfinished()) {
            if (clusterOnly && !inv.cluster().equals(head.maintenanceKey())) {
                continue;
            }
            // read through reconcile: a DAG whose process died shows FAILED, not RUNNING
            dags.dag(head.dagId()).ifPresent(x -> out.add(dagJson(x, details)));
        }
        return Response.ok(contents(out));
    }

    // ================================================================================================ OCP

    /**
     * {@code POST /api/v2/obproxy/clusters/{id}/servers/stop} {@code {"obproxyServerIds": [1, 2]}}: the "Stop
     * obproxy" DAG on those servers of that OBProxy cluster, answered as an OCP task.
     */
    Response ocpStop(Call c) throws ApiException {
        String idText = c.param(0);
        int clusterId = ocpId(idText, "id", "an OBProxy cluster id");
        Map<String, JsonNode> f = JsonBody.fields(JsonBody.object(c.body()), "the body", List.of("obproxyServerIds"));
        List<Long> ids = JsonBody.longs(f, "obproxyServerIds");
        ObproxyCluster cl = inv.obproxyCluster(clusterId).orElseThrow(() -> Errors.ocpNotFound("OBProxy cluster " + clusterId));
        if (ids.isEmpty()) {
            throw Errors.illegalArgument("obproxyServerIds", "list at least one OBProxy server id of cluster " + clusterId);
        }
        LinkedHashSet<Server> chosen = new LinkedHashSet<>();
        for (long sid : new LinkedHashSet<>(ids)) {
            Server s = cl.servers().stream().filter(x -> x.serverId() == sid).findFirst()
                    .orElseThrow(() -> Errors.ocpNotFound("OBProxy server " + sid + " in OBProxy cluster " + clusterId));
            chosen.add(s);
        }
        List<Server> servers = new ArrayList<>(cl.servers());
        servers.retainAll(chosen);
        String source = "POST /api/v2/obproxy/clusters/" + clusterId + "/servers/stop";
        String description = describe(cl) + " servers " + String.join(", ", servers.stream().map(s -> String.valueOf(s.serverId())).toList());
        Playbook pb = ShimPlaybooks.stopObproxy(source, c.body(), description, servers, timing);
        Dag d = dags.create(pb, List.of(), shimData(source, c, Map.of("ocp_creator", c.user())));
        return Response.ok(OcpJson.task(d, c.user(), agentAddress()));
    }

    /** {@code GET /api/v2/tasks/instances/{id}}: a DAG as an OCP task, to follow one made by {@link #ocpStop}. */
    Response ocpTask(Call c) throws ApiException {
        Dag d = ocpDag(c.param(0));
        return Response.ok(OcpJson.task(d, creator(d), agentAddress()));
    }

    /** {@code POST /api/v2/tasks/instances/{id}/retry}: RETRY; answers the task. */
    Response ocpRetry(Call c) throws ApiException {
        Dag d = ocpDag(c.param(0));
        dags.operate(d.dagId(), "RETRY");
        Dag now = dags.dag(d.dagId()).orElse(d);
        return Response.ok(OcpJson.task(now, creator(now), agentAddress()));
    }

    /** {@code POST /api/v2/tasks/instances/{id}/rollback}: refused, as for obshell's ROLLBACK. */
    Response ocpRollback(Call c) throws ApiException {
        Dag d = ocpDag(c.param(0));
        dags.operate(d.dagId(), "ROLLBACK");
        return Response.ok(OcpJson.task(d, creator(d), agentAddress()));
    }

    private Dag ocpDag(String idText) throws ApiException {
        long id;
        try {
            id = Long.parseLong(idText);
        } catch (NumberFormatException e) {
            throw Errors.illegalArgument("id", "'" + idText + "' is not a task id (a number)");
        }
        return dags.dag(id).orElseThrow(() -> Errors.ocpNotFound("task " + id));
    }

    private static int ocpId(String text, String name, String what) throws ApiException {
        try {
            int v = Integer.parseInt(text);
            if (v >= 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw Errors.illegalArgument(name, "'" + text + "' is not " + what + " (a number)");
    }

    @SuppressWarnings("unchecked")
    private static String creator(Dag d) {
        Object shim = io.obplay.plan.DagData.of(d.additionalData()).extra(io.obplay.plan.DagData.SHIM);
        if (shim instanceof Map<?, ?> m && m.get("ocp_creator") instanceof String s) {
            return s;
        }
        return "obplay";
    }
}
