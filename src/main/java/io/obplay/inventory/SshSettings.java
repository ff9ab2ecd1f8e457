package io.obplay.inventory;

import java.time.Duration;

/**
 * How to reach one host over SSH, after precedence (server > zone > top level > built-in default) was applied.
 *
 * @param key              private key file, {@code ~} not yet expanded; null means "use ssh-agent"
 * @param knownHosts       known_hosts file, {@code ~} not yet expanded
 * @param connectTimeout   OpenSSH's ConnectTimeout: the TCP connection and the server's SSH banner
 * @param jump             jump hosts as {@code [user@]host[:port]}, several separated by commas (the first is
 *                         connected to first), or null for a direct connection
 * @param handshakeTimeout the rest of the handshake, from the banner: key exchange and user authentication
 * @param config           OpenSSH client config file read for this host ({@code ~} not yet expanded), or {@code none}
 */
public record SshSettings(
        String user,
        int port,
        String key,
        String knownHosts,
        HostKeyChecking hostKeyChecking,
        Duration connectTimeout,
        String jump,
        Duration handshakeTimeout,
        String config) {

    /** sshd's own LoginGraceTime default: obplay waits for a slow server as long as the server waits for it. */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(120);

    public static final String DEFAULT_CONFIG = "~/.ssh/config";

    public static final SshSettings DEFAULTS = new SshSettings(
            System.getProperty("user.name", "root"), 22, null, "~/.ssh/known_hosts",
            HostKeyChecking.STRICT, Duration.ofSeconds(10), null, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_CONFIG);

    /** With the default handshake timeout, reading the default ssh config file. */
    public SshSettings(String user, int port, String key, String knownHosts, HostKeyChecking hostKeyChecking,
                       Duration connectTimeout, String jump) {
        this(user, port, key, knownHosts, hostKeyChecking, connectTimeout, jump, DEFAULT_HANDSHAKE_TIMEOUT);
    }

    /** Reading the default ssh config file. */
    public SshSettings(String user, int port, String key, String knownHosts, HostKeyChecking hostKeyChecking,
                       Duration connectTimeout, String jump, Duration handshakeTimeout) {
        this(user, port, key, knownHosts, hostKeyChecking, connectTimeout, jump, handshakeTimeout, DEFAULT_CONFIG);
    }

    public SshSettings withHandshakeTimeout(Duration d) {
        return new SshSettings(user, port, key, knownHosts, hostKeyChecking, connectTimeout, jump, d, config);
    }
}
