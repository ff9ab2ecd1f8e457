package io.obplay.inventory;

import java.time.Duration;

/**
 * How to reach one host over SSH, after precedence (server > zone > top level > built-in default) was applied.
 *
 * @param key              private key file, {@code ~} not yet expanded; null means "use ssh-agent"
 * @param knownHosts       known_hosts file, {@code ~} not yet expanded
 * @param connectTimeout   OpenSSH's ConnectTimeout: the TCP connection and the server's SSH banner
 * @param jump             bastion as {@code [user@]host[:port]}, or null for a direct connection
 * @param handshakeTimeout the rest of the handshake, from the banner: key exchange and user authentication
 */
public record SshSettings(
        String user,
        int port,
        String key,
        String knownHosts,
        HostKeyChecking hostKeyChecking,
        Duration connectTimeout,
        String jump,
        Duration handshakeTimeout) {

    /** sshd's own LoginGraceTime default: obplay waits for a slow server as long as the server waits for it. */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(120);

    public static final SshSettings DEFAULTS = new SshSettings(
            System.getProperty("user.name", "root"), 22, null, "~/.ssh/known_hosts",
            HostKeyChecking.STRICT, Duration.ofSeconds(10), null, DEFAULT_HANDSHAKE_TIMEOUT);

    /** With the default handshake timeout. */
    public SshSettings(String user, int port, String key, String knownHosts, HostKeyChecking hostKeyChecking,
                       Duration connectTimeout, String jump) {
        this(user, port, key, knownHosts, hostKeyChecking, connectTimeout, jump, DEFAULT_HANDSHAKE_TIMEOUT);
    }

    public SshSettings withHandshakeTimeout(Duration d) {
        return new SshSettings(user, port, key, knownHosts, hostKeyChecking, connectTimeout, jump, d);
    }
}
