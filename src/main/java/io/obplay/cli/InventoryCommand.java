package io.obplay.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryWriter;
import io.obplay.inventory.LoadedInventory;
import io.obplay.inventory.ObproxyCluster;
import io.obplay.inventory.Server;
import io.obplay.inventory.Setting;
import io.obplay.inventory.TransportKind;
import io.obplay.run.transport.SshResolution;
import io.obplay.inventory.Zone;
import io.obplay.plan.ObshellJson;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code obplay inventory}: the resolved servers, their effective settings, and where each value came from. */
@Command(name = "inventory", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Show the inventory's resolved servers per zone and obproxy cluster, with every effective setting and where it came from"
                + " (precedence: server > zone or obproxy cluster > top-level defaults > built-in defaults).")
public final class InventoryCommand implements Callable<Integer> {
    @Option(names = {"-i", "--inventory"}, required = true, paramLabel = "FILE", description = "The inventory (YAML).")
    Path inventory;

    @Option(names = "--format", defaultValue = "text", paramLabel = "FORMAT",
            description = "text (default), json, obplay (the equivalent obplay inventory, each value's origin in a comment)"
                    + " or ansible (an Ansible YAML inventory: groups per zone and obproxy cluster, settings as host vars).")
    String format;

    @Option(names = "--host", paramLabel = "NAME", description = "Only the servers whose name or host is NAME, with how their"
            + " host is reached once the ssh config file is applied: each SSH setting and the line of the file it came from.")
    String host;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws JsonProcessingException {
        PrintWriter out = spec.commandLine().getOut();
        if (!List.of("text", "json", "obplay", "ansible").contains(format)) {
            throw new CliException(ExitCodes.INVALID, "--format must be text, json, obplay or ansible, not '" + format + "'");
        }
        LoadedInventory loaded = Inputs.readInventory(inventory, spec.commandLine().getErr());
        Inventory inv = loaded.inventory();
        switch (format) {
            case "text" -> out.print(text(loaded));
            case "json" -> out.println(ObshellJson.MAPPER.writeValueAsString(json(loaded)));
            case "obplay" -> out.print(InventoryWriter.obplay(loaded));
            default -> out.print(InventoryWriter.ansible(loaded));
        }
        out.flush();
        return ExitCodes.OK;
    }

    private boolean shown(Server s) {
        if (host == null || s.name().equals(host) || s.host().equals(host)) {
            return true;
        }
        java.util.Set<String> canonical = Inputs.canonicalHosts(java.util.List.of(host));
        return canonical.contains(s.name()) || canonical.contains(s.host());
    }

    private String text(LoadedInventory loaded) {
        Inventory inv = loaded.inventory();
        StringBuilder b = new StringBuilder();
        b.append(loaded.format().equals("obd") ? "OBD deployment config " : "Inventory ").append(inv.source()).append(": cluster ").append(inv.cluster()).append(", transport ")
                .append(inv.transport().name().toLowerCase()).append(", ").append(inv.zones().size()).append(" zones, ")
                .append(inv.observers().size()).append(" observers, ").append(inv.obproxyClusters().size()).append(" obproxy clusters (")
                .append(inv.obproxies().size()).append(" servers)\n");
        if (!loaded.ignoredKeys().isEmpty()) {
            b.append("ignored OBD keys (obplay has no use for them): ").append(String.join("; ", loaded.ignoredKeys())).append('\n');
        }
        for (String note : loaded.notes()) {
            b.append("note: ").append(note).append('\n');
        }
        for (Zone z : inv.zones()) {
            b.append("\nzone ").append(z.name()).append("  (").append(z.servers().size()).append(" servers)\n");
            z.servers().stream().filter(this::shown).forEach(s -> server(b, s, inv));
        }
        for (ObproxyCluster c : inv.obproxyClusters()) {
            b.append("\nobproxy cluster ").append(c.id()).append(" ").append(c.name()).append("  (").append(c.servers().size()).append(" servers)\n");
            c.servers().stream().filter(this::shown).forEach(s -> server(b, s, inv));
        }
        return b.toString();
    }

    private void server(StringBuilder b, Server s, Inventory inv) {
        b.append("  ").append(s.name()).append("  ").append(s.role().processName()).append(" on ").append(s.host()).append('\n');
        int width = s.settings().keySet().stream().mapToInt(String::length).max().orElse(10);
        for (Map.Entry<String, Setting> e : s.settings().entrySet()) {
            b.append("    ").append(String.format("%-" + width + "s", e.getKey())).append("  ")
                    .append(String.format("%-32s", e.getValue().value())).append("  ").append(e.getValue().origin()).append('\n');
        }
        b.append("    ").append(String.format("%-" + width + "s", "pid files")).append("  ").append(String.join(", ", s.pidFiles().values())).append('\n');
        // the directories cleanup may delete in: the settings above, and home_path's log, run, etc, bin, lib (and store)
        StringBuilder dirs = new StringBuilder();
        s.dirs().forEach((k, v) -> dirs.append(dirs.length() == 0 ? "" : ", ").append(k).append(' ').append(v));
        b.append("    ").append(String.format("%-" + width + "s", "declared dirs")).append("  ").append(dirs).append('\n');
        if (host != null && inv.transport() == TransportKind.SSH) {
            sshResolution(b, s);
        }
    }

    /** How the host is reached once the ssh config file is applied: each setting, from which line of which file. */
    private static void sshResolution(StringBuilder b, Server s) {
        SshResolution r = SshResolution.resolve(s, System.getProperty("user.home"));
        b.append("    ssh, with ").append(r.configFile() == null ? "no ssh config file" : "ssh config " + r.configFile())
                .append(" (precedence: inventory > ssh config > defaults)\n");
        if (r.error() != null) {
            b.append("      cannot connect: ").append(r.error()).append('\n');
            return;
        }
        int width = r.origins().stream().mapToInt(o -> o.setting().length()).max().orElse(10);
        for (SshResolution.Origin o : r.origins()) {
            b.append("      ").append(String.format("%-" + width + "s", o.setting())).append("  ")
                    .append(String.format("%-32s", o.value())).append("  ").append(o.origin()).append('\n');
        }
        for (SshResolution.Hop h : r.jumps()) {
            b.append("      via ").append(h.alias()).append(" = ").append(h.settings().user()).append('@').append(h.host())
                    .append(':').append(h.port()).append(h.settings().key() == null ? "" : " key " + h.settings().key()).append('\n');
        }
        for (String line : r.ignored()) {
            b.append("      ignored: ").append(line).append('\n');
        }
    }

    private static Map<String, Object> sshJson(SshResolution r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("config_file", r.configFile());
        m.put("error", r.error());
        Map<String, Object> settings = new LinkedHashMap<>();
        for (SshResolution.Origin o : r.origins()) {
            settings.put(o.setting(), Map.of("value", o.value(), "origin", o.origin()));
        }
        m.put("settings", settings);
        List<Object> jumps = new ArrayList<>();
        for (SshResolution.Hop h : r.jumps()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("alias", h.alias());
            j.put("host", h.host());
            j.put("port", h.port());
            j.put("user", h.settings().user());
            j.put("key", h.settings().key());
            jumps.add(j);
        }
        m.put("jumps", jumps);
        m.put("ignored", r.ignored());
        return m;
    }

    private Map<String, Object> json(LoadedInventory loaded) {
        Inventory inv = loaded.inventory();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("source", inv.source());
        m.put("format", loaded.format());
        if (loaded.format().equals("obd")) {
            m.put("ignored_keys", loaded.ignoredKeys());
            m.put("notes", loaded.notes());
        }
        m.put("cluster", inv.cluster());
        m.put("transport", inv.transport().name().toLowerCase());
        List<Object> servers = new ArrayList<>();
        for (Server s : inv.servers()) {
            if (!shown(s)) {
                continue;
            }
            Map<String, Object> sm = new LinkedHashMap<>();
            sm.put("name", s.name());
            sm.put("role", s.role().processName());
            sm.put("group", s.group());
            sm.put("host", s.host());
            sm.put("dirs", s.dirs());
            sm.put("ports", s.ports());
            sm.put("pid_files", s.pidFiles());
            Map<String, Object> settings = new LinkedHashMap<>();
            s.settings().forEach((k, v) -> {
                Map<String, Object> one = new LinkedHashMap<>();
                one.put("value", v.value());
                one.put("origin", v.origin());
                settings.put(k, one);
            });
            sm.put("settings", settings);
            if (host != null && inv.transport() == TransportKind.SSH) {
                sm.put("ssh_resolution", sshJson(SshResolution.resolve(s, System.getProperty("user.home"))));
            }
            servers.add(sm);
        }
        m.put("servers", servers);
        return m;
    }
}
