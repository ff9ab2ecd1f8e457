package io.obplay.store;

import io.obplay.plan.GenericId;

/**
 * How a store turns local ids into obshell generic ids: the kind ('2' for cluster/observer DAGs, '4' for
 * obproxy DAGs) and the agent's IPv4 and port.
 */
public record IdScheme(char kind, String agentIp, int agentPort) {

    public String generic(long localId) {
        return new GenericId(kind, GenericId.ipv4(agentIp), agentPort, localId).toString();
    }
}
