package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.Server;

import java.util.List;
import java.util.Map;

/**
 * {@code POST /api/v1/ob/stop}: the body, checked in obshell's order against the inventory, before anything is
 * created (the Python SDK sends a request again when it got a 4xx, so a refused request must leave nothing
 * behind).
 *
 * <pre>
 * {"scope": {"type": "ZONE", "target": ["zone1"]}, "force": false, "terminate": false, "forcePassDag": {"id": []}}
 * </pre>
 *
 * <p>The order, as obshell's {@code obStopHandler} → {@code IsValidScope} → {@code CheckStopObParam}
 * ({@code ob/agent/api/obcluster_handler.go}, {@code ob/agent/executor/ob/info.go}, {@code .../ob/stop.go}):
 * <ol>
 *   <li>the body binds (400 {@code Common.BindJsonFailed});</li>
 *   <li>the scope, as {@link ObScope} checks it;</li>
 *   <li>GLOBAL without force or terminate: 400 {@code OB.Cluster.ForceStopOrTerminateRequired};</li>
 *   <li>force with terminate: 400 {@code OB.Cluster.StopModeConflict};</li>
 *   <li>(obplay) ZONE or SERVER with neither: obshell would stop them over SQL, which obplay cannot: 400
 *       {@code OB.Cluster.ForceStopRequired} with a message that says so (see {@link Errors#sqlStopNotSupported}).</li>
 * </ol>
 *
 * @param type         GLOBAL, ZONE or SERVER
 * @param targets      the targets as given, de-duplicated, in order
 * @param servers      the observers to stop, in inventory order
 * @param forcePassDag generic ids of earlier DAGs the client allows to be passed to free the maintenance lock
 */
record StopObRequest(String type, List<String> targets, boolean force, boolean terminate, List<String> forcePassDag,
                     List<Server> servers) {

    static final String GLOBAL = ObScope.GLOBAL;

    static StopObRequest parse(byte[] body, Inventory inv) throws ApiException {
        ObjectNode o = JsonBody.object(body);
        Map<String, JsonNode> f = JsonBody.fields(o, "the body", List.of("scope", "force", "terminate", "forcePassDag"));
        ObScope.Given given = ObScope.bind(f.get("scope"));
        boolean force = JsonBody.bool(f, "force");
        boolean terminate = JsonBody.bool(f, "terminate");
        List<String> pass = forcePassDag(f.get("forcePassDag"));
        ObScope scope = given.check(inv);
        String type = scope.type();

        if (type.equals(GLOBAL) && !force && !terminate) {
            throw Errors.forceStopOrTerminateRequired();
        }
        if (force && terminate) {
            throw Errors.stopModeConflict();
        }
        if (!force && !terminate) {
            throw Errors.sqlStopNotSupported(type);
        }
        return new StopObRequest(type, scope.targets(), force, terminate, pass, scope.servers());
    }

    /**
     * {@code forcePassDag}: obshell binds {@code {"id": [...]}} (the Go SDK sends {@code "id": null}); the
     * documented page calls it {@code []string}, so a bare list of ids is taken too.
     */
    static List<String> forcePassDag(JsonNode n) throws ApiException {
        if (n == null || n.isNull()) {
            return List.of();
        }
        if (n.isArray()) {
            return JsonBody.strings(Map.of("forcePassDag", n), "forcePassDag");
        }
        if (!n.isObject()) {
            throw JsonBody.wrongType("forcePassDag", "an object {\"id\": [generic ids]}", n);
        }
        Map<String, JsonNode> p = JsonBody.fields(n, "'forcePassDag'", List.of("id"));
        List<String> ids = JsonBody.strings(p, "id");
        return ids.stream().map(String::trim).toList();
    }

}
