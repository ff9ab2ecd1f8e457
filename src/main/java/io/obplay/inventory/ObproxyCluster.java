package io.obplay.inventory;

import java.util.List;

/** An OBProxy cluster with OCP's numeric id, and its servers. */
public record ObproxyCluster(int id, String name, List<Server> servers) {
    public ObproxyCluster {
        servers = List.copyOf(servers);
    }
}
