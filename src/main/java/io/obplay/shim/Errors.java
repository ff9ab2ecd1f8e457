package io.obplay.shim;

import io.obplay.store.Refused;

/**
 * The errors the shim answers with: obshell's codes, statuses and English messages (obshell 4.5.0.0,
 * {@code ob/agent/errors/errorcode.go} and {@code ob/agent/assets/i18n/error/en.json}).
 *
 * <p>The legacy int {@code code} follows obshell 4.2.x, which answered by kind: 1000 bad request, 1001 illegal
 * argument, 1002 unexpected, 1010 known (e.g. under maintenance), 2300 task not found, 10008 unauthorized.
 */
public final class Errors {
    public static final int BAD_REQUEST = 1000;
    public static final int ILLEGAL_ARGUMENT = 1001;
    public static final int UNEXPECTED = 1002;
    public static final int KNOWN = 1010;
    public static final int TASK_NOT_FOUND = 2300;

    private Errors() {
    }

    private static ApiException badRequest(String code, String message) {
        return new ApiException(400, code, BAD_REQUEST, message);
    }

    private static ApiException illegal(String code, String message) {
        return new ApiException(400, code, ILLEGAL_ARGUMENT, message);
    }

    // ------------------------------------------------------------------------------------------------ common

    /** An unknown route (obshell's NoRoute handler). */
    public static ApiException notFound() {
        return new ApiException(404, "Common.NotFound", BAD_REQUEST, "Element not found: 404 not found");
    }

    /** A body that is not the JSON the endpoint expects. */
    public static ApiException bindJsonFailed(String why) {
        return badRequest("Common.BindJsonFailed", "Bind JSON failed: " + why);
    }

    public static ApiException badRequestBody(String why) {
        return badRequest("Common.BadRequest", "Bad request: " + why);
    }

    /** A change that a browser was made to ask for by a page of another site (see ShimServer's cross-site check). */
    public static ApiException crossSite(String evidence) {
        return new ApiException(403, "Common.CrossSiteRequest", BAD_REQUEST, "A request from a page of another site"
                + " is not taken (" + evidence + "): the OCP endpoints take changes from API clients and this server's own"
                + " pages only");
    }

    /** "The input parameter '%s' is illegal: %s". */
    public static ApiException illegalArgument(String parameter, String why) {
        return illegal("Common.IllegalArgument", "The input parameter '" + parameter + "' is illegal: " + why);
    }

    public static ApiException invalidAddress(String address) {
        return illegal("Common.InvalidAddress", "'" + address + "' is not a valid address");
    }

    public static ApiException invalidPort(String port) {
        return illegal("Common.InvalidPort", "The port '" + port + "' is invalid, must be in [1024, 65535]");
    }

    public static ApiException invalidIp(String ip) {
        return illegal("Common.InvalidIp", "'" + ip + "' is not a valid IP address");
    }

    /** A bug or an environment failure; the message says what, never a stack trace. */
    public static ApiException unexpected(String what) {
        return new ApiException(500, "Common.Unexpected", UNEXPECTED, "Unexpected error: " + what);
    }

    // ------------------------------------------------------------------------------------------------ ob stop

    public static ApiException scopeInvalid(String type) {
        return illegal("OB.Cluster.Scope.Invalid", "Scope '" + type + "' is invalid");
    }

    public static ApiException zoneNotExist(String zone) {
        return badRequest("OB.Zone.NotExist", "Zone '" + zone + "' does not exist");
    }

    public static ApiException agentNotExist(String server) {
        return badRequest("Agent.NotExist", "Server '" + server + "' does not exist");
    }

    public static ApiException forceStopOrTerminateRequired() {
        return illegal("OB.Cluster.ForceStopOrTerminateRequired", "Cannot stop all observers without 'force' and 'terminate'");
    }

    public static ApiException stopModeConflict() {
        return illegal("OB.Cluster.StopModeConflict", "Cannot stop observer with 'force' and 'terminate' at the same time");
    }

    /**
     * A ZONE or SERVER stop with neither {@code force} nor {@code terminate}: obshell would run
     * {@code ALTER SYSTEM STOP ZONE/SERVER} over SQL, which obplay cannot (it reaches hosts over SSH only and has
     * no SQL connection). obshell answers its own "no SQL connection" case with this code
     * ({@code OB.Cluster.ForceStopRequired}); the message says what to send instead.
     */
    public static ApiException sqlStopNotSupported(String scope) {
        return illegal("OB.Cluster.ForceStopRequired", "obplay cannot stop observers over SQL (ALTER SYSTEM STOP "
                + scope + "): it reaches hosts over SSH only and has no SQL connection to the cluster; send"
                + " 'force': true (kill -9 at once) or 'terminate': true (SIGTERM, then SIGKILL after the grace period)");
    }

    // ------------------------------------------------------------------------------------------------ obproxy

    public static ApiException obproxyNotManaged() {
        return illegal("OBProxy.NotBeManaged", "This is not an OBProxy agent");
    }

    // ------------------------------------------------------------------------------------------------ maintenance

    /** "%s is under maintenance by DAG [%s:%s]": the agent, the holding DAG's generic id and name. */
    public static ApiException underMaintenanceDag(String agent, String holderId, String holderName) {
        return new ApiException(500, "Agent.UnderMaintenanceDag", KNOWN,
                agent + " is under maintenance by DAG [" + holderId + ":" + holderName + "]");
    }

    // ------------------------------------------------------------------------------------------------ tasks

    public static ApiException genericIdInvalid(String id) {
        return illegal("Task.GenericID.Invalid", "Invalid ID: " + id);
    }

    public static ApiException taskNotFound() {
        return new ApiException(404, "Task.NotFound", TASK_NOT_FOUND, "Task not found");
    }

    public static ApiException taskNotFound(String reason) {
        return new ApiException(404, "Task.NotFound", TASK_NOT_FOUND, "Task not found: " + reason);
    }

    public static ApiException dagOperatorNotSupport(String operator) {
        return illegal("Task.Dag.Operator.NotSupport", "Operator " + operator + " is not supported");
    }

    public static ApiException nodeOperatorNotSupport(String operator) {
        return illegal("Task.Node.Operator.NotSupport", "Operator " + operator + " is not supported");
    }

    /**
     * A refusal of a DAG change ({@link io.obplay.run.DagControl}), as obshell answers it: its code, and obshell's
     * message first (clients match on it), obplay's explanation after it.
     */
    public static ApiException refused(Refused r) {
        String why = r.getMessage();
        return switch (r.refusal()) {
            case NO_SUCH_DAG, NO_SUCH_NODE -> taskNotFound(why);
            case RETRY_NOT_FAILED -> illegal("Task.Dag.Operator.RetryNotFailedDag", "Failed to set DAG retry: DAG state is not failed (" + why + ")");
            case ROLLBACK_NOT_FAILED -> illegal("Task.Dag.Operator.RollbackNotFailedDag", "Failed to set DAG rollback: DAG state is not failed (" + why + ")");
            case ROLLBACK_NOT_SUPPORTED -> illegal("Task.Dag.Operator.NotSupport", why);
            case PASS_NOT_FAILED -> illegal("Task.Dag.Operator.PassNotFailedDag", "Failed to pass DAG: DAG is not failed (" + why + ")");
            case CANCEL_FINISHED -> illegal("Task.Dag.Operator.CancelFinishedDag", "Failed to cancel DAG: DAG is finished (" + why + ")");
            case NODE_PASS_NOT_FAILED_DAG -> illegal("Task.Node.Operator.PassNotFailedDag", "Failed to pass node: assigned DAG is not failed (" + why + ")");
            case NODE_PASS_NOT_FAILED_NODE -> illegal("Task.Node.Operator.PassNotFailedNode", "Failed to pass node: " + why);
            // obshell has no code for "not READY to start": a DAG changed by another process meanwhile
            case NOT_READY -> illegal("Task.Dag.Operator.NotSupport", why);
        };
    }

    // ------------------------------------------------------------------------------------------------ OCP

    public static ApiException ocpNotFound(String what) {
        return new ApiException(404, "Common.NotFound", BAD_REQUEST, "Element not found: " + what);
    }
}
