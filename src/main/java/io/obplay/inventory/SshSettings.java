package io.obplay.inventory;

import java.time.Duration;

/**
 * How to reach one host over SSH, after precedence (server > zone > top level > built-in default) was applied.
 *
 * @param key        private key file, {@code ~} not yet expanded; null means "use ssh-agent"
 * @param knownHosts known_hosts file, {@code ~} not yet expanded
 * @param jump       jump hosts as {@code [user@]host[:port]}, several separated by commas (the first is connected
 *                   to first), or null for a direct connection
 * @param config     OpenSSH client config file read for this host ({@code ~} not yet expanded), or {@code none}
 */
public record SshSettings(
        String user,
        int port,
        String key,
        String knownHosts,
        HostKeyChecking hostKeyChecking,
        Duration connectTimeout,
        String jump,
        String config) {

    public static final String DEFAULT_CONFIG = "~/.ssh/config";

    public static final SshSettings DEFAULTS = new SshSettings(
            System.getProperty("user.name", "root"), 22, null, "~/.ssh/known_hosts",
            HostKeyChecking.STRICT, Duration.ofSeconds(10), null, DEFAULT_CONFIG);

    /** Settings that read the default ssh config file. */
    public SshSettings(String user, int port, String key, String knownHosts, HostKeyChecking hostKeyChecking,
                       Duration connectTimeout, String jump) {
        this(user, port, key, knownHosts, hostKeyChecking, connectTimeout, jump, DEFAULT_CONFIG);
    }
}
