package io.obplay.cli;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.YamlMap;
import io.obplay.shim.RequestAuth;
import io.obplay.shim.ShimServer;
import io.obplay.shim.auth.RsaKeys;
import io.obplay.shim.auth.Secrets;
import io.obplay.store.Store;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code obplay serve}: the obshell/OCP-compatible HTTP shim. Stop and delete requests become DAGs run over the
 * inventory's transport, recorded in the state directory that {@code obplay dag} reads.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Serve obshell's HTTP API for stopping observers and OBProxy (and OCP's for stopping OBProxy servers):",
                "each request becomes a DAG run on the inventory's hosts and recorded in the state directory, so",
                "obshell's SDKs and OCP-style clients can drive obplay. Runs until SIGTERM or Ctrl-C, then drains.",
                "Passwords: OBPLAY_ROOT_PASSWORD (X-OCS-Header), OBPLAY_AGENT_PASSWORD (X-OCS-Agent-Header, needed for",
                "/api/v1/obproxy*), OBPLAY_OCP_USER and OBPLAY_OCP_PASSWORD (HTTP Basic on /api/v2), or --secrets FILE."},
        footer = {"", "Exit codes: 0 stopped cleanly; 1 usage or input errors (the server did not start)."})
public final class ServeCommand implements Callable<Integer> {
    @Option(names = {"-i", "--inventory"}, paramLabel = "FILE", required = true, description = "The inventory (YAML).")
    Path inventory;

    @Mixin
    StateDir state;

    @Option(names = "--listen", paramLabel = "IP:PORT", defaultValue = "127.0.0.1:2886",
            description = "Where to listen (default: ${DEFAULT-VALUE}; port 0 picks a free one).")
    String listen;

    @Option(names = "--agent", paramLabel = "IP:PORT",
            description = "The address generic ids and /api/v1/secret name (default: the listen address; for 0.0.0.0, this host's first IPv4).")
    String agent;

    @Option(names = "--obproxy-cluster", paramLabel = "ID",
            description = "The OBProxy cluster /api/v1/obproxy* acts on (default: the inventory's only one; none when it has none).")
    Integer obproxyCluster;

    @Option(names = "--dry-run", description = "Validate requests and create and record DAGs with their full plan, but touch no host: DAGs stay READY.")
    boolean dryRun;

    @Option(names = "--secrets", paramLabel = "FILE",
            description = "A private (mode 600) YAML file with root_password, agent_password, ocp_user, ocp_password; the environment wins.")
    Path secretsFile;

    @Option(names = "--insecure-no-auth", description = "Serve without any password (plain JSON bodies, no auth headers); only on a loopback address.")
    boolean insecureNoAuth;

    @Option(names = "--tls-keystore", paramLabel = "FILE", description = "Serve HTTPS with this PKCS#12 keystore; its password from OBPLAY_TLS_PASSWORD.")
    Path tlsKeystore;

    @Option(names = "--rsa-key", paramLabel = "FILE",
            description = "The RSA private key of auth v2 (created if missing, mode 600; default: STATE_DIR/serve-rsa-key.pem).")
    Path rsaKey;

    @Option(names = "--grace", paramLabel = "DURATION", defaultValue = "60s",
            description = "terminate: time between SIGTERM and SIGKILL (default: ${DEFAULT-VALUE}).")
    String grace;

    @Option(names = "--kill-wait", paramLabel = "DURATION", defaultValue = "30s",
            description = "How long to wait for a process to exit after SIGKILL (default: ${DEFAULT-VALUE}).")
    String killWait;

    @Option(names = "--settle", paramLabel = "DURATION", defaultValue = "3s",
            description = "After a stop or kill, how long nothing of the server may run or listen again (default: ${DEFAULT-VALUE}).")
    String settle;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "16", description = "Request handler threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--drain", paramLabel = "DURATION", defaultValue = "30s",
            description = "On SIGTERM, how long in-flight requests and running DAGs get to finish (default: ${DEFAULT-VALUE}).")
    String drain;

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "4096",
            description = "Open connections at most; past that new ones wait in the listen backlog (default: ${DEFAULT-VALUE})."
                    + " The descriptor limit (ulimit -n) must exceed it by a few hundred.")
    int maxConnections;

    @Option(names = "--max-connections-per-address", paramLabel = "N", defaultValue = "128",
            description = "Open connections from one client address at most; more are closed as they are accepted (default: ${DEFAULT-VALUE}).")
    int maxConnectionsPerAddress;

    @Option(names = "--header-timeout", paramLabel = "DURATION", defaultValue = "10s",
            description = "A request line and its headers must arrive within this of their first byte (default: ${DEFAULT-VALUE}).")
    String headerTimeout;

    @Option(names = "--idle-timeout", paramLabel = "DURATION", defaultValue = "30s",
            description = "A connection that sends nothing and has nothing to receive for this long is closed (default: ${DEFAULT-VALUE}).")
    String idleTimeout;

    @Option(names = "--min-body-rate", paramLabel = "BYTES_PER_S", defaultValue = "16384",
            description = "A request body must arrive within --header-timeout plus its length at this rate (default: ${DEFAULT-VALUE}).")
    int minBodyRate;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static final String ENV_TLS_PASSWORD = "OBPLAY_TLS_PASSWORD";

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        String[] hostPort = hostPort(listen, "--listen");
        String[] agentHostPort = agent == null ? null : hostPort(agent, "--agent");
        if (agentHostPort != null) {
            // the same host rules as the inventory's, and a port from 1 to 65535
            io.obplay.inventory.HostName.Parsed h = io.obplay.inventory.HostName.parse(agentHostPort[0]);
            if (!h.ok() || io.obplay.inventory.HostName.port(agentHostPort[1]) == 0) {
                throw new CliException(ExitCodes.INVALID, "--agent must be IP:PORT (or [IPv6]:PORT), got '"
                        + io.obplay.inventory.Show.escaped(agent) + "': "
                        + (h.ok() ? "'" + agentHostPort[1] + "' is not a port number from 1 to 65535" : h.error()));
            }
            agentHostPort[0] = h.host();
        }
        Duration graceD = duration(grace, "--grace");
        Duration killWaitD = duration(killWait, "--kill-wait");
        Duration settleD = duration(settle, "--settle");
        Duration drainD = duration(drain, "--drain");
        if (threads < 2 || threads > 1024) {
            throw new CliException(ExitCodes.INVALID, "--threads must be between 2 and 1024, got " + threads);
        }
        Inventory inv = Inputs.loadInventory(inventory, err);

        Secrets secrets;
        try {
            secrets = Secrets.load(System.getenv(), secretsFile);
        } catch (IOException | IllegalArgumentException e) {
            throw new CliException(ExitCodes.INVALID, "cannot read the secrets: " + e.getMessage());
        }
        InetAddress listenAddress;
        try {
            listenAddress = InetAddress.getByName(hostPort[0]);
        } catch (UnknownHostException e) {
            throw new CliException(ExitCodes.INVALID, "--listen " + listen + ": unknown address " + hostPort[0]);
        }
        if (insecureNoAuth) {
            if (secrets.anySet()) {
                throw new CliException(ExitCodes.INVALID, "--insecure-no-auth, but passwords are set (" + secrets.describe()
                        + "): drop one or the other");
            }
            if (!listenAddress.isLoopbackAddress()) {
                throw new CliException(ExitCodes.INVALID, "--insecure-no-auth serves only on a loopback address (127.0.0.1, ::1),"
                        + " not on " + hostPort[0] + ": anyone who can reach it could stop the cluster");
            }
        } else if (secrets.rootPassword().isEmpty() && secrets.agentPassword().isEmpty()) {
            throw new CliException(ExitCodes.INVALID, "no password is set, so nobody could be authenticated: set OBPLAY_ROOT_PASSWORD"
                    + " and/or OBPLAY_AGENT_PASSWORD (or give --secrets FILE); to try it out on this machine only,"
                    + " use --insecure-no-auth (loopback only)");
        }
        SSLContext tls = tlsKeystore == null ? null : tls(tlsKeystore);

        Path stateDir = state.path();
        RsaKeys keys;
        try {
            Files.createDirectories(stateDir);
            keys = RsaKeys.loadOrCreate(rsaKey != null ? rsaKey : stateDir.resolve("serve-rsa-key.pem"), RsaKeys.DEFAULT_BITS);
        } catch (IOException e) {
            throw new CliException(ExitCodes.INVALID, "cannot load or create the RSA key: " + e.getMessage());
        }
        RequestAuth auth = insecureNoAuth ? RequestAuth.insecure(keys) : RequestAuth.secure(keys, secrets);

        ShimServer.Limits limits;
        try {
            limits = new ShimServer.Limits(maxConnections, maxConnectionsPerAddress, duration(headerTimeout, "--header-timeout"),
                    duration(idleTimeout, "--idle-timeout"), minBodyRate);
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.INVALID, "--max-connections, --max-connections-per-address, --header-timeout,"
                    + " --idle-timeout and --min-body-rate must be positive");
        }
        Store store = state.open();
        PrintStream log = System.err;
        ShimServer server;
        try {
            server = ShimServer.start(inv, store, auth, new ShimServer.Options(hostPort[0], port(hostPort[1], "--listen"),
                    agentHostPort == null ? null : agentHostPort[0], agentHostPort == null ? null : port(agentHostPort[1], "--agent"),
                    obproxyCluster, dryRun, graceD, killWaitD, settleD, threads, drainD, tls, stateDir.toAbsolutePath().toString(), limits), log);
        } catch (IllegalArgumentException e) {
            store.close();
            throw new CliException(ExitCodes.INVALID, e.getMessage());
        } catch (IOException e) {
            store.close();
            throw new CliException(ExitCodes.INVALID, "cannot listen on " + listen + ": " + e.getMessage());
        }
        Thread hook = new Thread(() -> {
            server.stop();
            try {
                store.close();
            } catch (RuntimeException e) {
                log.println("obplay serve: closing the state directory: " + e.getMessage());
            }
            log.flush();
        }, "obplay-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        log.println("obplay serve: listening on " + server.describe());
        log.println("obplay serve: inventory " + inventory + " (cluster " + inv.cluster() + ", " + inv.observers().size()
                + " observer(s) in " + inv.zones().size() + " zone(s), " + inv.obproxies().size() + " obproxy server(s)); transport "
                + inv.transport().name().toLowerCase() + "; state directory " + stateDir + (dryRun ? "; DRY RUN: no host is touched" : ""));
        String pageHost = listenAddress.getHostAddress().contains(":") ? "[" + listenAddress.getHostAddress() + "]" : listenAddress.getHostAddress();
        log.println("obplay serve: the DAG page: " + (tls == null ? "http" : "https") + "://" + pageHost + ":" + server.port() + "/ "
                + (insecureNoAuth ? "(no authentication)" : secrets.ocpUser().isPresent() && secrets.ocpPassword().isPresent()
                ? "(log in with the OCP user and password)"
                : "(no OCP user is set, so nobody can log in to it: set OBPLAY_OCP_USER and OBPLAY_OCP_PASSWORD)"));
        if (!listenAddress.isLoopbackAddress() && tls == null) {
            log.println("obplay serve: warning: plain HTTP on " + hostPort[0] + ": auth v2 encrypts passwords and bodies, but"
                    + " answers and OCP's HTTP Basic credentials travel in clear; consider --tls-keystore");
        }
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean os
                && os.getMaxFileDescriptorCount() < (long) maxConnections + 256) {
            log.println("obplay serve: warning: the descriptor limit is " + os.getMaxFileDescriptorCount() + " (ulimit -n), under"
                    + " --max-connections " + maxConnections + " plus 256 for the state directory, SSH and the JVM: past it,"
                    + " new connections fail; raise ulimit -n or lower --max-connections");
        }
        log.flush();
        server.awaitStopped();
        return ExitCodes.OK;
    }

    private static String[] hostPort(String s, String option) {
        String host;
        String port;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                throw new CliException(ExitCodes.INVALID, option + " must be IP:PORT or [IPv6]:PORT, got '" + s + "'");
            }
            host = s.substring(1, close);
            port = s.substring(close + 2);
        } else {
            int colon = s.lastIndexOf(':');
            if (colon <= 0) {
                throw new CliException(ExitCodes.INVALID, option + " must be IP:PORT, got '" + s + "'");
            }
            host = s.substring(0, colon);
            port = s.substring(colon + 1);
        }
        return new String[]{host, port};
    }

    private static int port(String s, String option) {
        try {
            int p = Integer.parseInt(s);
            if (p >= 0 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new CliException(ExitCodes.INVALID, option + ": '" + s + "' is not a port (0 to 65535)");
    }

    private static Duration duration(String s, String option) {
        Duration d = YamlMap.parseDuration(s);
        if (d == null) {
            throw new CliException(ExitCodes.INVALID, option + " '" + s + "': expected a duration such as 500ms, 30s, 5m or 1m30s");
        }
        return d;
    }

    private static SSLContext tls(Path file) {
        String pw = System.getenv(ENV_TLS_PASSWORD);
        char[] password = pw == null ? new char[0] : pw.toCharArray();
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, password);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw new CliException(ExitCodes.INVALID, "--tls-keystore " + file + ": cannot load it as PKCS#12 with the password in "
                    + ENV_TLS_PASSWORD + (pw == null ? " (not set)" : "") + ": " + e.getMessage());
        }
    }
}
