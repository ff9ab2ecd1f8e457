package io.obplay.inventory;

/**
 * One effective setting of a server and where its value came from, so that {@code obplay inventory} can
 * explain every value (e.g. {@code "zone zone1 (inventories/demo.yaml:14:7)"} or {@code "default"}).
 */
public record Setting(Object value, String origin) {

    /** Whether the value is a default (obplay's or OBD's), which an ssh config file may override. */
    public boolean isDefault() {
        return origin.startsWith("built-in default") || origin.startsWith("obplay default") || origin.startsWith("OBD default");
    }
}
