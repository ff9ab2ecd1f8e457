package io.obplay.inventory;

/** How obplay reaches the inventory's hosts. */
public enum TransportKind {
    /** OpenSSH-compatible SSH through JSch: the default. */
    SSH,
    /** Run every command on this machine through /bin/sh: demos and tests. */
    LOCAL
}
