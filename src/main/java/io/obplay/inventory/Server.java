package io.obplay.inventory;

import java.util.List;
import java.util.Map;

/**
 * One server process obplay acts on: an observer (named {@code ip:agent_port}, as obshell names it) or an
 * obproxy (named {@code obproxy:<cluster id>/<server id>}), with every setting resolved.
 *
 * @param group      the zone of an observer, or the obproxy cluster's name
 * @param clusterId  obproxy cluster id (OCP's numeric id); 0 for observers
 * @param serverId   obproxy server id (OCP's numeric id); 0 for observers
 * @param agentPort  obshell agent port: sub-tasks run "on" {@code host:agentPort}
 * @param dirs       declared directories by name (home, data_dir, log, run, ...), absolute, in a stable order
 * @param ports      the ports the process listens on by setting name (mysql_port, rpc_port, listen_port, ...)
 * @param pidFiles   pid files by role: {@code server} always; {@code daemon} for an obproxy's obproxyd
 * @param settings   every effective setting with its origin, for explanations and command templates
 */
public record Server(
        Role role,
        String name,
        String group,
        int clusterId,
        int serverId,
        String host,
        int agentPort,
        SshSettings ssh,
        String home,
        Map<String, String> dirs,
        Map<String, Integer> ports,
        Map<String, String> pidFiles,
        Map<String, Setting> settings) {

    public Server {
        dirs = OrderedMaps.frozen(dirs);  // shared with the servers whose maps are equal in order
        ports = OrderedMaps.frozen(ports);
        pidFiles = OrderedMaps.frozen(pidFiles);
        settings = OrderedMaps.unmodifiable(settings);  // a copy, or a shared one as it is
    }

    /** The address obshell would show for this server's agent: {@code ip:agent_port} ({@code [ipv6]:agent_port}). */
    public String agentAddress() {
        return HostName.withPort(host, agentPort);
    }

    public List<Integer> portList() {
        return List.copyOf(ports.values());
    }

    /** The zone of an observer; null for an obproxy. */
    public String zone() {
        return role == Role.OBSERVER ? group : null;
    }
}
