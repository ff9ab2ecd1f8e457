package io.obplay.inventory;

import java.util.List;

/** A zone of the cluster and its observers, in inventory order. */
public record Zone(String name, List<Server> servers) {
    public Zone {
        servers = List.copyOf(servers);
    }
}
