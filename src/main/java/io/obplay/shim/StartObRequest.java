package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.Server;

import java.util.List;
import java.util.Map;

/**
 * {@code POST /api/v1/ob/start}: the body, checked in obshell's order against the inventory, before anything is
 * created (the Python SDK sends a request again when it got a 4xx, so a refused request leaves nothing behind).
 *
 * <pre>
 * {"scope": {"type": "ZONE", "target": ["zone1"]}, "forcePassDag": {"id": []}}
 * </pre>
 *
 * <p>The order, as obshell's {@code obStartHandler} ({@code ob/agent/api/obcluster_handler.go:339-368},
 * {@code param.StartObParam} in {@code ob/param/ob.go:100}): the body binds (400 {@code Common.BindJsonFailed});
 * then the scope, as {@link ObScope} checks it. A start has no mode (no {@code force}, no {@code terminate}).
 * obshell then refuses, on its own host, an observer that was never started ({@code OB.Cluster.NotInitialized}:
 * no {@code etc/observer.config.bin}); obplay serves a cluster from elsewhere and cannot see that before the DAG
 * runs: the start step itself refuses such a server on its host, and the DAG fails with that reason.
 *
 * @param scope        the observers to start
 * @param forcePassDag generic ids of earlier DAGs the client allows to be passed to free the maintenance lock
 */
record StartObRequest(ObScope scope, List<String> forcePassDag) {

    static StartObRequest parse(byte[] body, Inventory inv) throws ApiException {
        ObjectNode o = JsonBody.object(body);
        Map<String, JsonNode> f = JsonBody.fields(o, "the body", List.of("scope", "forcePassDag"));
        ObScope.Given given = ObScope.bind(f.get("scope"));
        List<String> pass = StopObRequest.forcePassDag(f.get("forcePassDag"));
        return new StartObRequest(given.check(inv), pass);
    }

    List<Server> servers() {
        return scope.servers();
    }
}
