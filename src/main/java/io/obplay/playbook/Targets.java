package io.obplay.playbook;

import io.obplay.inventory.Server;

import java.util.List;

/**
 * The servers a playbook or a step acts on, resolved against the inventory, in inventory order.
 *
 * @param description how the user wrote it, e.g. {@code zones: zone1, zone2}
 * @param all         {@code all: true}: the whole cluster, explicitly
 * @param where       file:line:column of the definition, for later messages
 */
public record Targets(String description, boolean all, List<Server> servers, String where) {
    public Targets {
        servers = List.copyOf(servers);
    }
}
