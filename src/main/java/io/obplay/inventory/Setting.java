package io.obplay.inventory;

/**
 * One effective setting of a server and where its value came from, so that {@code obplay inventory} can
 * explain every value (e.g. {@code "zone zone1 (inventories/demo.yaml:14:7)"} or {@code "default"}).
 */
public record Setting(Object value, String origin) {
}
