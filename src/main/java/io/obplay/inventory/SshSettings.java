package io.obplay.inventory;

import java.time.Duration;

/**
 * How to reach one host over SSH, after precedence (server > zone > top level > built-in default) was applied.
 *
 * @param key        private key file, {@code ~} not yet expanded; null means "use ssh-agent"
 * @param knownHosts known_hosts file, {@code ~} not yet expanded
 * @param jump       bastion as {@code [user@]host[:port]}, or null for a direct connection
 */
public record SshSettings(
        String user,
        int port,
        String key,
        String knownHosts,
        HostKeyChecking hostKeyChecking,
        Duration connectTimeout,
        String jump) {

    public static final SshSettings DEFAULTS = new SshSettings(
            System.getProperty("user.name", "root"), 22, null, "~/.ssh/known_hosts",
            HostKeyChecking.STRICT, Duration.ofSeconds(10), null);
}
