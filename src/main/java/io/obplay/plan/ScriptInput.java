package io.obplay.plan;

import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.playbook.Step;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a step's script reads of its server but the server's name and host: the role, home, ports, pid files
 * and declared directories, and the step's own per-server option (a cleanup's paths, a shell step's command). The
 * {@link StepScripts} template functions take only this, so two servers with equal inputs get the same
 * {@link ScriptTemplate}, filled with each one's name and host: {@link LazyPlan} reuses a template for a run of
 * equal inputs, with nothing to re-check.
 *
 * <p>Equal means equal in order too: the maps' order is the order the script lists them in.
 *
 * @param paths   a cleanup's paths on this server, else null
 * @param command a shell step's command on this server, a start step's start_command for it; else null
 * @param daemon  a start or restart of an obproxy with the inventory's {@code obproxyd_script}: that script, relative
 *                to the home; else null
 */
public record ScriptInput(Role role, String home, Map<String, Integer> ports, Map<String, String> pidFiles,
                          Map<String, String> dirs, List<String> paths, String command, String daemon) {

    /** The input of {@code step}'s script on {@code s}. */
    public static ScriptInput of(Server s, Step step) {
        List<String> paths = step instanceof Step.Cleanup c ? c.paths().getOrDefault(s.name(), List.of()) : null;
        String command = step instanceof Step.Start st ? st.command().get(s.name())
                : step instanceof Step.Restart r ? r.command().get(s.name()) : step.commandOn(s.name());
        String daemon = null;
        if ((step instanceof Step.Start || step instanceof Step.Restart) && s.role() == Role.OBPROXY) {
            io.obplay.inventory.Setting d = s.settings().get("obproxyd_script");
            daemon = d == null ? null : String.valueOf(d.value());
        }
        return new ScriptInput(s.role(), s.home(), s.ports(), s.pidFiles(), s.dirs(), paths, command, daemon);
    }

    static ScriptInput of(Server s, List<String> paths, String command) {
        Objects.requireNonNull(s, "server");
        return new ScriptInput(s.role(), s.home(), s.ports(), s.pidFiles(), s.dirs(), paths, command, null);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        return o instanceof ScriptInput x && role == x.role && Objects.equals(home, x.home)
                && sameInOrder(ports, x.ports) && sameInOrder(pidFiles, x.pidFiles) && sameInOrder(dirs, x.dirs)
                && Objects.equals(paths, x.paths) && Objects.equals(command, x.command) && Objects.equals(daemon, x.daemon);
    }

    @Override
    public int hashCode() {
        return Objects.hash(role, home, ports, pidFiles, dirs, paths, command, daemon);  // Map.hashCode: order-blind, consistent
    }

    private static <V> boolean sameInOrder(Map<String, V> a, Map<String, V> b) {
        if (a == b) {
            return true;
        }
        if (a == null || b == null || a.size() != b.size()) {
            return false;
        }
        Iterator<Map.Entry<String, V>> i = a.entrySet().iterator();
        Iterator<Map.Entry<String, V>> k = b.entrySet().iterator();
        while (i.hasNext()) {
            Map.Entry<String, V> x = i.next();
            Map.Entry<String, V> y = k.next();
            if (!Objects.equals(x.getKey(), y.getKey()) || !Objects.equals(x.getValue(), y.getValue())) {
                return false;
            }
        }
        return true;
    }
}
