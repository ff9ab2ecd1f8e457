package io.obplay.plan;

import io.obplay.inventory.HostName;
import io.obplay.inventory.Server;
import io.obplay.inventory.Show;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code --limit} patterns, as Ansible users know them: items separated by commas or colons; each is a zone,
 * a server name ({@code ip:agent_port} or {@code obproxy:<cluster>/<id>}), a host, an obproxy cluster's name,
 * or a glob over any of these; {@code !pattern} excludes and {@code &pattern} intersects.
 */
public final class Limit {
    private Limit() {
    }

    /** Splits {@code --limit} values into items; {@code ip:port} stays whole. */
    public static List<String> items(List<String> values) {
        List<String> out = new ArrayList<>();
        for (String v : values) {
            for (String part : v.split(",")) {
                String p = part.trim();
                if (!p.isEmpty()) {
                    out.add(p);
                }
            }
        }
        return out;
    }

    /**
     * The servers the patterns keep, in the given order.
     *
     * @throws IllegalArgumentException naming a pattern that matches no server
     */
    public static List<Server> apply(List<String> patterns, List<Server> candidates, List<Server> inventoryServers) {
        List<String> items = items(patterns);
        if (items.isEmpty()) {
            return candidates;
        }
        Set<Server> keep = new LinkedHashSet<>();
        boolean anyPositive = false;
        for (String item : items) {
            if (!item.startsWith("!") && !item.startsWith("&")) {
                anyPositive = true;
                List<Server> m = matching(item, inventoryServers);
                keep.addAll(m);
            }
        }
        if (!anyPositive) {
            keep.addAll(inventoryServers);
        }
        for (String item : items) {
            if (item.startsWith("&")) {
                keep.retainAll(matching(item.substring(1), inventoryServers));
            } else if (item.startsWith("!")) {
                matching(item.substring(1), inventoryServers).forEach(keep::remove);
            }
        }
        return candidates.stream().filter(keep::contains).toList();
    }

    private static List<Server> matching(String pattern, List<Server> servers) {
        List<Server> out = new ArrayList<>();
        // a host or ip:port in its canonical spelling (DB1.example.com is db1.example.com, [2001:db8::1]:2886 a server)
        HostName.HostPort hp = HostName.parseWithPort(pattern);
        String canonical = !hp.ok() ? null : hp.port() == 0 ? hp.host() : HostName.withPort(hp.host(), hp.port());
        boolean glob = canonical == null && (pattern.contains("*") || pattern.contains("?") || pattern.contains("["));
        PathMatcher matcher = glob ? FileSystems.getDefault().getPathMatcher("glob:" + pattern.replace("/", "\u2215")) : null;
        PathMatcher lower = glob ? FileSystems.getDefault().getPathMatcher("glob:" + pattern.toLowerCase(Locale.ROOT).replace("/", "\u2215")) : null;
        for (Server s : servers) {
            boolean hit = false;
            if (glob) {
                for (String key : keys(s)) {
                    hit |= matcher.matches(Path.of(key.replace("/", "\u2215")));
                }
                hit |= lower.matches(Path.of(s.host().replace("/", "\u2215")));
            } else {
                hit = pattern.equals(s.name()) || pattern.equals(s.group())
                        || (canonical != null && (canonical.equals(s.host()) || canonical.equals(s.name())));
            }
            if (hit) {
                out.add(s);
            }
        }
        if (out.isEmpty()) {
            boolean hostLike = !hp.ok() && !glob && pattern.matches("[0-9.:\\[\\]]+");
            throw new IllegalArgumentException("--limit pattern '" + Show.escaped(pattern) + "' matches no server"
                    + (hostLike ? " (" + hp.error() + ")" : "") + "; patterns are zones, "
                    + "server names (ip:agent_port, [ipv6]:agent_port, obproxy:CLUSTER/ID), hosts, obproxy cluster names, or globs of these");
        }
        return out;
    }

    private static List<String> keys(Server s) {
        return List.of(s.name(), s.host(), s.group());
    }
}
