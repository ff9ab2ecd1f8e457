package io.obplay.run.transport;

import com.jcraft.jsch.ConfigRepository;
import io.obplay.inventory.HostKeyChecking;
import io.obplay.inventory.Server;
import io.obplay.inventory.Setting;
import io.obplay.inventory.SshSettings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How one server is reached once the user's OpenSSH client configuration ({@code ssh.config}, default
 * {@code ~/.ssh/config}; {@code none} to ignore it) is applied: the target and its chain of jump hosts, each
 * setting with where it came from, the lines obplay does not honour, or why the server cannot be reached.
 *
 * <p>Precedence, highest first: a value the inventory sets, then the ssh config file, then obplay's defaults.
 * The inventory's {@code host} is the name looked up in the file (its {@code HostName} applies). Honoured:
 * {@code HostName}, {@code User}, {@code Port}, {@code IdentityFile} (the first one), {@code IdentitiesOnly},
 * {@code ProxyJump} (chains of several jumps; each jump host's own settings, and its own ProxyJump, come from
 * the same file), {@code StrictHostKeyChecking}, {@code UserKnownHostsFile} (the first file),
 * {@code ConnectTimeout}, {@code ServerAliveInterval}. Lines that would change where or how obplay connects but
 * that it cannot honour ({@code Match}, {@code ProxyCommand}, {@code HostKeyAlias}, ...) make the host fail with
 * the line; any other line (an {@code Include} too: JSch does not read included files) is reported as ignored.
 */
public final class SshResolution {
    static final Set<String> HONOURED = Set.of("hostname", "user", "port", "identityfile", "identitiesonly", "proxyjump",
            "stricthostkeychecking", "userknownhostsfile", "connecttimeout", "serveraliveinterval");
    /** Lines that change where or how to connect, which obplay cannot do: refused rather than dropped. */
    static final Set<String> REFUSED = Set.of("proxycommand", "hostkeyalias", "certificatefile",
            "knownhostscommand", "canonicalizehostname", "proxyusefdpass");
    private static final int MAX_JUMPS = 8;

    /** One setting of the target: its value and where it came from. */
    public record Origin(String setting, String value, String origin) {
    }

    /**
     * One SSH endpoint.
     *
     * @param alias          the name looked up in the ssh config (the inventory's host, or a ProxyJump entry)
     * @param keepAlive      ServerAliveInterval from the file, or null for the transport's default
     * @param identitiesOnly IdentitiesOnly yes: no ssh-agent keys
     */
    public record Hop(String alias, String host, int port, SshSettings settings, Duration keepAlive, boolean identitiesOnly) {
        String label() {
            return settings.user() + "@" + host + ":" + port;
        }
    }

    private final String configFile;
    private final List<Hop> jumps;
    private final Hop target;
    private final List<Origin> origins;
    private final List<String> ignored;
    private final String error;

    private SshResolution(String configFile, List<Hop> jumps, Hop target, List<Origin> origins, List<String> ignored, String error) {
        this.configFile = configFile;
        this.jumps = List.copyOf(jumps);
        this.target = target;
        this.origins = List.copyOf(origins);
        this.ignored = List.copyOf(ignored);
        this.error = error;
    }

    /** The ssh config file read, or null (none, or the default file is absent). */
    public String configFile() {
        return configFile;
    }

    /** The jump hosts, the first one connected to first. */
    public List<Hop> jumps() {
        return jumps;
    }

    public Hop target() {
        return target;
    }

    public List<Origin> origins() {
        return origins;
    }

    /** {@code FILE:LINE: text (why)} for each line of the file that applies to this host and that obplay ignores. */
    public List<String> ignored() {
        return ignored;
    }

    /** Why the server cannot be reached as configured, or null. */
    public String error() {
        return error;
    }

    /**
     * Parsed config files by path, and resolutions by what they depend on (host, ssh settings, which of them are
     * defaults), shared by the servers of one run; an unreadable file is an IOException.
     */
    public static final class Files {
        private final Map<String, Object> cache = new ConcurrentHashMap<>();
        private final Map<String, SshResolution> resolved = new ConcurrentHashMap<>();

        /** The resolution for a server, made once per distinct (host, settings) in this run. */
        public SshResolution resolve(Server server, String home) {
            StringBuilder key = new StringBuilder(server.host()).append('\0').append(server.ssh());
            for (String k : List.of("user", "port", "key", "known_hosts", "host_key_checking", "connect_timeout", "jump")) {
                Setting st = server.settings().get("ssh." + k);
                key.append(st == null || !st.isDefault() ? 'i' : 'd');
            }
            return resolved.computeIfAbsent(key.toString(), x -> SshResolution.resolve(server, home, this));
        }

        Object get(Path p) {
            return cache.computeIfAbsent(p.toString(), k -> {
                try {
                    return SshConfigFile.read(p);
                } catch (IOException e) {
                    return e;
                }
            });
        }
    }

    public static SshResolution resolve(Server server, String home) {
        return resolve(server, home, new Files());
    }

    public static SshResolution resolve(Server server, String home, Files files) {
        SshSettings s = server.ssh() != null ? server.ssh() : SshSettings.DEFAULTS;
        List<Origin> origins = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        String configSetting = s.config() == null ? SshSettings.DEFAULT_CONFIG : s.config();
        SshConfigFile file = null;
        if (!configSetting.equalsIgnoreCase("none")) {
            Path p = Path.of(Identities.expand(configSetting, home));
            if (java.nio.file.Files.exists(p)) {
                Object f = files.get(p);
                if (f instanceof IOException e) {
                    return failed(s, server, "cannot read ssh config " + p + ": " + e.getMessage());
                }
                file = (SshConfigFile) f;
                if (file.match() != null) {
                    return failed(s, server, "ssh config " + file.where(file.match()) + ": '" + file.match().text()
                            + "': Match blocks are not supported (JSch reads Host blocks only); expected Host blocks,"
                            + " or ssh: { config: none } in the inventory");
                }
            } else if (!configSetting.equals(SshSettings.DEFAULT_CONFIG)) {
                return failed(s, server, "ssh config " + p + " does not exist (ssh.config in the inventory)");
            }
        }
        Set<String> explicit = new LinkedHashSet<>();
        for (String k : List.of("user", "port", "key", "known_hosts", "host_key_checking", "connect_timeout", "jump")) {
            Setting st = server.settings().get("ssh." + k);
            if (st == null || !st.isDefault()) {
                explicit.add(k);
            }
        }
        try {
            Hop target = hop(file, server.host(), null, null, s, explicit, origins, server, home);
            if (file != null) {
                for (SshConfigFile.Line l : file.linesFor(server.host())) {
                    String k = l.keyword().toLowerCase(Locale.ROOT);
                    if (REFUSED.contains(k)) {
                        throw new Refused("ssh config " + file.where(l) + ": '" + l.text() + "' is not supported by obplay"
                                + (k.equals("proxycommand") ? "; expected ProxyJump" : "") + " (it would change how "
                                + server.host() + " is reached); remove it for this host, or set ssh: { config: none }");
                    }
                    if (k.equals("include")) {
                        ignored.add(file.where(l) + ": '" + l.text() + "' (JSch does not read included files: their"
                                + " settings do not apply)");
                    } else if (!HONOURED.contains(k)) {
                        ignored.add(file.where(l) + ": '" + l.text() + "' (not used by obplay)");
                    } else if (k.equals("identityfile") || k.equals("userknownhostsfile")) {
                        SshConfigFile.Line first = file.lineOf(server.host(), l.keyword());
                        boolean extraValue = l.text().strip().split("[\\s=]+").length > 2;
                        if ((first != null && first.number() != l.number()) || (k.equals("userknownhostsfile") && extraValue)) {
                            ignored.add(file.where(l) + ": '" + l.text() + "' (obplay uses only the first "
                                    + (k.equals("identityfile") ? "IdentityFile" : "known hosts file") + ")");
                        }
                    }
                }
            }
            List<Hop> jumps = new ArrayList<>();
            String chain = target.settings().jump();
            List<String> seen = new ArrayList<>();
            seen.add(server.host());
            jumpChain(file, chain, s, explicit, jumps, seen, server, home);
            SshSettings t = target.settings();
            Hop withJump = new Hop(target.alias(), target.host(), target.port(), t, target.keepAlive(), target.identitiesOnly());
            return new SshResolution(file == null ? null : file.name(), jumps, withJump, origins, ignored, null);
        } catch (Refused r) {
            return new SshResolution(file == null ? null : file.name(), List.of(), null, origins, ignored, r.getMessage());
        }
    }

    private static SshResolution failed(SshSettings s, Server server, String why) {
        return new SshResolution(null, List.of(), null, List.of(), List.of(), why);
    }

    /** Adds the hops of a ProxyJump chain (first hop first), each resolved through the file. */
    private static void jumpChain(SshConfigFile file, String chain, SshSettings s, Set<String> explicit, List<Hop> jumps,
                                  List<String> seen, Server server, String home) throws Refused {
        if (chain == null || chain.isBlank() || chain.equalsIgnoreCase("none")) {
            return;
        }
        List<Hop> these = new ArrayList<>();
        for (String spec : chain.split(",")) {
            String rest = spec.strip();
            if (rest.startsWith("ssh://")) {
                rest = rest.substring(6);
            }
            String user = null;
            int at = rest.lastIndexOf('@');
            if (at >= 0) {
                user = rest.substring(0, at);
                rest = rest.substring(at + 1);
            }
            String host = rest;
            Integer port = null;
            try {
                if (rest.startsWith("[")) {
                    int close = rest.indexOf(']');
                    host = rest.substring(1, close);
                    if (close + 1 < rest.length() && rest.charAt(close + 1) == ':') {
                        port = Integer.parseInt(rest.substring(close + 2));
                    }
                } else if (rest.indexOf(':') >= 0 && rest.indexOf(':') == rest.lastIndexOf(':')) {
                    host = rest.substring(0, rest.indexOf(':'));
                    port = Integer.parseInt(rest.substring(rest.indexOf(':') + 1));
                }
            } catch (RuntimeException e) {
                throw new Refused("bad jump host '" + spec.strip() + "': expected [user@]host[:port]");
            }
            if (host.isEmpty() || (user != null && user.isEmpty())) {
                throw new Refused("bad jump host '" + spec.strip() + "': expected [user@]host[:port]");
            }
            if (seen.contains(host) || seen.size() > MAX_JUMPS) {
                throw new Refused("ProxyJump loops or is longer than " + MAX_JUMPS + " hops: " + String.join(" -> ", seen) + " -> " + host);
            }
            seen.add(host);
            Set<String> ex = new LinkedHashSet<>(explicit);
            ex.remove("jump");
            ex.remove("user");
            ex.remove("port");
            these.add(hop(file, host, user, port, without(s), ex, null, server, home));
        }
        // OpenSSH: the first jump host is itself reached as its own config says (its ProxyJump too)
        Hop first = these.get(0);
        if (first.settings().jump() != null) {
            jumpChain(file, first.settings().jump(), s, explicit, jumps, seen, server, home);
        }
        for (Hop h : these) {
            jumps.add(new Hop(h.alias(), h.host(), h.port(), without(h.settings()), h.keepAlive(), h.identitiesOnly()));
        }
    }

    private static SshSettings without(SshSettings s) {
        return new SshSettings(s.user(), s.port(), s.key(), s.knownHosts(), s.hostKeyChecking(), s.connectTimeout(), null, s.handshakeTimeout(), s.config());
    }

    /**
     * One endpoint: {@code alias} looked up in the file; {@code specUser}/{@code specPort} from a ProxyJump entry
     * win; then the inventory's explicit values; then the file; then the inventory's defaults.
     */
    private static Hop hop(SshConfigFile file, String alias, String specUser, Integer specPort, SshSettings s,
                           Set<String> explicit, List<Origin> origins, Server server, String home) throws Refused {
        ConfigRepository.Config c = file == null ? null : file.forHost(alias);
        String host = alias;
        String hostOrigin = "inventory";
        if (c != null && c.getHostname() != null) {
            host = c.getHostname();
            hostOrigin = where(file, alias, "HostName");
        }
        String user;
        String userOrigin;
        if (specUser != null) {
            user = specUser;
            userOrigin = "ProxyJump entry";
        } else if (explicit.contains("user")) {
            user = s.user();
            userOrigin = origin(server, "user");
        } else if (c != null && c.getUser() != null) {
            user = c.getUser();
            userOrigin = where(file, alias, "User");
        } else {
            user = s.user() != null ? s.user() : SshSettings.DEFAULTS.user();
            userOrigin = origin(server, "user");
        }
        int port;
        String portOrigin;
        if (specPort != null) {
            port = specPort;
            portOrigin = "ProxyJump entry";
        } else if (explicit.contains("port")) {
            port = s.port();
            portOrigin = origin(server, "port");
        } else if (c != null && c.getPort() > 0) {
            port = c.getPort();
            portOrigin = where(file, alias, "Port");
        } else {
            port = origins == null ? 22 : s.port();
            portOrigin = origins == null ? "default" : origin(server, "port");
        }
        String key = s.key();
        String keyOrigin = origin(server, "key");
        String[] idFiles = c == null ? null : c.getValues("IdentityFile");
        if (!explicit.contains("key") && idFiles != null && idFiles.length > 0) {
            key = idFiles[0];
            keyOrigin = where(file, alias, "IdentityFile");
            String path = Identities.expand(key, home);
            if (!java.nio.file.Files.exists(Path.of(path))) {
                throw new Refused("IdentityFile " + key + " (ssh config " + keyOrigin.substring("ssh config ".length())
                        + ", for " + alias + ") does not exist; expected a private key file there");
            }
        }
        boolean identitiesOnly = c != null && "yes".equalsIgnoreCase(c.getValue("IdentitiesOnly"));
        String known = s.knownHosts() != null ? s.knownHosts() : SshSettings.DEFAULTS.knownHosts();
        String knownOrigin = origin(server, "known_hosts");
        String fileKnown = c == null ? null : c.getValue("UserKnownHostsFile");
        if (!explicit.contains("known_hosts") && fileKnown != null && !fileKnown.isBlank()) {
            known = fileKnown.strip().split("\\s+")[0];
            knownOrigin = where(file, alias, "UserKnownHostsFile");
        }
        HostKeyChecking checking = s.hostKeyChecking() != null ? s.hostKeyChecking() : HostKeyChecking.STRICT;
        String checkingOrigin = origin(server, "host_key_checking");
        String strict = c == null ? null : c.getValue("StrictHostKeyChecking");
        if (!explicit.contains("host_key_checking") && strict != null) {
            checking = switch (strict.strip().toLowerCase(Locale.ROOT)) {
                case "accept-new" -> HostKeyChecking.ACCEPT_NEW;
                case "no", "off" -> HostKeyChecking.OFF;
                case "yes", "ask" -> HostKeyChecking.STRICT;  // obplay cannot ask: ask is strict
                default -> throw new Refused("ssh config " + where(file, alias, "StrictHostKeyChecking").substring(11)
                        + ": StrictHostKeyChecking '" + strict + "'; expected yes, ask, accept-new or no");
            };
            checkingOrigin = where(file, alias, "StrictHostKeyChecking");
        }
        Duration timeout = s.connectTimeout() != null ? s.connectTimeout() : SshSettings.DEFAULTS.connectTimeout();
        String timeoutOrigin = origin(server, "connect_timeout");
        String ct = c == null ? null : c.getValue("ConnectTimeout");
        if (!explicit.contains("connect_timeout") && ct != null) {
            timeout = Duration.ofMillis(number(ct, file, alias, "ConnectTimeout"));  // JSch gives milliseconds
            timeoutOrigin = where(file, alias, "ConnectTimeout");
        }
        Duration keepAlive = null;
        String sai = c == null ? null : c.getValue("ServerAliveInterval");
        if (sai != null) {
            long n = number(sai, file, alias, "ServerAliveInterval");
            keepAlive = Duration.ofSeconds(n >= 1000 && n % 1000 == 0 ? n / 1000 : n);
        }
        String jump = s.jump();
        String jumpOrigin = origin(server, "jump");
        String pj = c == null ? null : c.getValue("ProxyJump");
        if (!explicit.contains("jump") && pj != null) {
            jump = pj.strip().equalsIgnoreCase("none") ? null : pj.strip();
            jumpOrigin = where(file, alias, "ProxyJump");
        }
        if (origins != null) {
            origins.add(new Origin("host", host, hostOrigin));
            origins.add(new Origin("user", user, userOrigin));
            origins.add(new Origin("port", Integer.toString(port), portOrigin));
            origins.add(new Origin("key", key == null ? "(ssh-agent and ~/.ssh/id_*)" : key, keyOrigin));
            if (identitiesOnly) {
                origins.add(new Origin("identities_only", "yes", where(file, alias, "IdentitiesOnly")));
            }
            origins.add(new Origin("known_hosts", known, knownOrigin));
            origins.add(new Origin("host_key_checking", checking.yamlName(), checkingOrigin));
            origins.add(new Origin("connect_timeout", timeout.toMillis() + "ms", timeoutOrigin));
            if (keepAlive != null) {
                origins.add(new Origin("server_alive_interval", keepAlive.toSeconds() + "s", where(file, alias, "ServerAliveInterval")));
            }
            origins.add(new Origin("jump", jump == null ? "(none)" : jump, jumpOrigin));
        }
        SshSettings settings = new SshSettings(user, port, key, known, checking, timeout, jump, s.handshakeTimeout(), s.config());
        return new Hop(alias, host, port, settings, keepAlive, identitiesOnly);
    }

    private static long number(String v, SshConfigFile file, String alias, String keyword) throws Refused {
        try {
            long n = Long.parseLong(v.strip());
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new Refused("ssh config " + where(file, alias, keyword).substring(11) + ": " + keyword + " '" + v
                    + "'; expected a number of seconds");
        }
    }

    private static String origin(Server server, String key) {
        Setting st = server.settings().get("ssh." + key);
        return st == null ? "inventory" : st.isDefault() ? st.origin() : "inventory: " + st.origin();
    }

    private static String where(SshConfigFile file, String alias, String keyword) {
        SshConfigFile.Line l = file.lineOf(alias, keyword);
        return "ssh config " + (l == null ? file.name() : file.where(l) + " (" + l.text() + ")");
    }

    /** A configuration obplay will not connect with. */
    private static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }
}
