package io.obplay.inventory;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A resolved inventory: the cluster's zones and observers, its obproxy clusters, and how to reach each host.
 *
 * @param source  the file it was read from, as given by the user (used in messages)
 * @param sha256  hex digest of the file's bytes, so a saved plan can tell whether it changed
 */
public record Inventory(
        String source,
        String sha256,
        String cluster,
        TransportKind transport,
        List<Zone> zones,
        List<ObproxyCluster> obproxyClusters) {

    public Inventory {
        zones = List.copyOf(zones);
        obproxyClusters = List.copyOf(obproxyClusters);
    }

    /** Every observer, zone by zone, in inventory order. */
    public List<Server> observers() {
        List<Server> all = new ArrayList<>();
        zones.forEach(z -> all.addAll(z.servers()));
        return all;
    }

    /** Every obproxy server, cluster by cluster. */
    public List<Server> obproxies() {
        List<Server> all = new ArrayList<>();
        obproxyClusters.forEach(c -> all.addAll(c.servers()));
        return all;
    }

    /** Every server, observers first. */
    public List<Server> servers() {
        List<Server> all = observers();
        all.addAll(obproxies());
        return all;
    }

    public Optional<Zone> zone(String name) {
        return zones.stream().filter(z -> z.name().equals(name)).findFirst();
    }

    public Optional<ObproxyCluster> obproxyCluster(int id) {
        return obproxyClusters.stream().filter(c -> c.id() == id).findFirst();
    }

    public List<String> zoneNames() {
        return zones.stream().map(Zone::name).toList();
    }
}
