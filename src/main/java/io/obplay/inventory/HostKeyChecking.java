package io.obplay.inventory;

/** How a host's SSH key is checked against known_hosts. */
public enum HostKeyChecking {
    /** The key must be in known_hosts already; an unknown or changed key fails the host. */
    STRICT,
    /** An unknown key is added to known_hosts; a changed key fails the host. */
    ACCEPT_NEW,
    /** No check at all (not recommended). */
    OFF;

    public String yamlName() {
        return name().toLowerCase().replace('_', '-');
    }
}
