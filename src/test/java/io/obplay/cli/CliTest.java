package io.obplay.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CliTest {
    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void versionAndHelpOnEveryCommand() {
        Result v = run("--version");
        assertEquals(0, v.code());
        assertTrue(v.out().startsWith("obplay "), v.out());
        for (String cmd : new String[]{"validate", "inventory", "plan"}) {
            Result h = run(cmd, "--help");
            assertEquals(0, h.code(), cmd);
            assertTrue(h.out().contains("Usage: obplay " + cmd), h.out());
            assertEquals(0, run(cmd, "--version").code());
        }
    }

    @Test
    void planTextGoesToStdout() {
        Result r = run("plan", "-i", "inventories/demo.yaml", "playbooks/stop-zone.yaml");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Plan: Stop zone1 for maintenance"), r.out());
        assertTrue(r.out().contains("signal   TERM observer pid from /data/ob/run/observer.pid"), r.out());
    }

    @Test
    void planFileIsWrittenWholeAndListsWork() throws Exception {
        Path dir = Files.createTempDirectory("obplay-cli");
        Path file = dir.resolve("plan.json");
        Result r = run("plan", "-i", "inventories/demo.yaml", "playbooks/destroy-cluster.yaml", "-o", file.toString(), "--format", "obshell");
        assertEquals(0, r.code(), r.err());
        assertEquals(r.out(), Files.readString(file));
        assertTrue(r.err().contains("plan written to " + file));
        Result hosts = run("plan", "-i", "inventories/demo.yaml", "playbooks/destroy-cluster.yaml", "--list-hosts", "--limit", "zone2");
        assertEquals("10.0.2.1:2886\n10.0.2.2:2886\n", hosts.out());
        Result steps = run("plan", "-i", "inventories/demo.yaml", "playbooks/destroy-cluster.yaml", "--list-steps", "--skip-tags", "kill");
        assertEquals("1\tClean observer dirs\t6 servers\t[cleanup]\n", steps.out());
    }

    @Test
    void invalidInputExitsOneWithEveryProblem(@TempDir Path dir) throws Exception {
        Path pb = dir.resolve("bad.yaml");
        Files.writeString(pb, "name: x\ntargets: { zones: [zone7] }\nsteps:\n  - stop: { grace: forever }\n");
        Result r = run("plan", "-i", "inventories/demo.yaml", pb.toString());
        assertEquals(ExitCodes.INVALID, r.code());
        assertEquals("", r.out());
        assertTrue(r.err().contains(pb + ":2:20: unknown zone 'zone7'"), r.err());
        assertTrue(r.err().contains(pb + ":4:20: 'grace' is 'forever'"), r.err());
        assertTrue(r.err().contains("2 problems found; nothing was run."), r.err());
    }

    @Test
    void majorityLossIsRefused(@TempDir Path dir) throws Exception {
        Path pb = dir.resolve("two-zones.yaml");
        Files.writeString(pb, "name: x\ntargets: { zones: [zone1, zone2] }\nsteps:\n  - stop: {}\n");
        Result r = run("validate", "-i", "inventories/demo.yaml", pb.toString());
        assertEquals(ExitCodes.INVALID, r.code());
        assertTrue(r.err().contains(pb + ":2:10: these targets (zones: zone1, zone2) stop servers in 2 of 3 zones (zone1, zone2) while zone3 keeps running"), r.err());
    }

    @Test
    void mistypedTagsAndAgentPortsAreRefused() {
        Result r = run("plan", "-i", "inventories/demo.yaml", "playbooks/destroy-cluster.yaml", "--skip-tags", "clean");
        assertEquals(ExitCodes.INVALID, r.code());
        assertTrue(r.err().contains("playbooks/destroy-cluster.yaml: --skip-tags clean names no tag of the playbook (did you mean 'cleanup'?); its tags: cleanup, kill"), r.err());
        assertTrue(r.out().isEmpty(), r.out());
        r = run("plan", "-i", "inventories/demo.yaml", "playbooks/stop-zone.yaml", "--agent", "127.0.0.1:70000");
        assertEquals(ExitCodes.INVALID, r.code());
        assertTrue(r.err().contains("--agent must be IP:PORT (or [IPv6]:PORT), got '127.0.0.1:70000': the port '70000' is not a port number from 1 to 65535"), r.err());
    }

    @Test
    void usageErrorsExitOne() {
        assertEquals(ExitCodes.INVALID, run("plan", "playbooks/stop-zone.yaml").code());
        assertEquals(ExitCodes.INVALID, run("nosuchcommand").code());
        assertEquals(ExitCodes.INVALID, run("plan", "-i", "inventories/demo.yaml", "playbooks/stop-zone.yaml", "--format", "xml").code());
    }

    @Test
    void validateEveryShippedPlaybook() {
        Result r = run("validate", "-i", "inventories/demo.yaml", "playbooks/stop-cluster.yaml", "playbooks/stop-zone.yaml",
                "playbooks/kill-server.yaml", "playbooks/stop-obproxy.yaml", "playbooks/destroy-obproxy.yaml", "playbooks/destroy-cluster.yaml");
        assertEquals(0, r.code(), r.err());
        assertEquals(7, r.err().lines().filter(l -> l.startsWith("ok: ")).count(), r.err());
    }

    @Test
    void inventoryExplainsOrigins() {
        Result r = run("inventory", "-i", "inventories/demo.yaml", "--host", "10.0.1.2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("home_path"), r.out());
        assertTrue(r.out().contains("server 10.0.1.2 (inventories/demo.yaml:23:20)"), r.out());
        assertTrue(r.out().contains("derived from redo_dir + /clog"), r.out());
        Result j = run("inventory", "-i", "inventories/demo.yaml", "--format", "json");
        assertEquals(0, j.code());
        assertTrue(j.out().contains("\"name\" : \"obproxy:1/2\""), j.out());
    }
    @Test
    void obdDeploymentConfigsAreInventoriesEverywhere() throws Exception {
        String obd = "src/test/resources/obd/distributed-with-obproxy-example.yaml";
        Result inv = run("inventory", "-i", obd);
        assertEquals(0, inv.code(), inv.err());
        assertTrue(inv.out().startsWith("OBD deployment config " + obd + ": cluster obcluster"), inv.out());
        assertEquals(1, inv.out().split("ignored OBD keys", -1).length - 1, inv.out());
        assertTrue(inv.out().contains("oceanbase-ce: memory_limit, system_memory"), inv.out());
        assertTrue(inv.out().contains("oceanbase-ce.server1.home_path (" + obd + ":44:16)"), inv.out());
        assertTrue(inv.out().contains("OBD default (home_path + /store)"), inv.out());
        assertTrue(inv.out().contains("/root/obproxy/run/obproxyd-192.168.1.5-2883.pid"), inv.out());

        Result plan = run("plan", "-i", obd, "playbooks/stop-zone.yaml");
        assertEquals(0, plan.code(), plan.err());
        assertTrue(plan.out().contains("signal   TERM observer pid from /root/observer/run/observer.pid"), plan.out());
        assertEquals(0, run("validate", "-i", obd, "playbooks/stop-zone.yaml", "playbooks/stop-obproxy.yaml").code());

        Path dir = Files.createTempDirectory("obplay-obd");
        Result written = run("inventory", "-i", obd, "--format", "obplay");
        assertEquals(0, written.code(), written.err());
        Path file = dir.resolve("obplay.yaml");
        Files.writeString(file, written.out());
        Result again = run("plan", "-i", file.toString(), "playbooks/stop-zone.yaml");
        assertEquals(0, again.code(), again.err());
        assertEquals(plan.out().lines().filter(l -> l.contains("signal") || l.contains("delete")).toList(),
                again.out().lines().filter(l -> l.contains("signal") || l.contains("delete")).toList());

        Result ansible = run("inventory", "-i", obd, "--format", "ansible");
        assertEquals(0, ansible.code(), ansible.err());
        assertTrue(ansible.out().contains("    oceanbase:\n      children:\n        zone1:\n"), ansible.out());

        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "oceanbase-ce:\n  servers: [10.0.0.1]\n  global:\n    home_path: /ob\n    mysql_port: many\n");
        Result err = run("validate", "-i", bad.toString());
        assertEquals(ExitCodes.INVALID, err.code());
        assertTrue(err.err().contains(bad + ":5:17: 'mysql_port' is 'many'; expected a port number"), err.err());
    }

    @Test
    void inventoryHostShowsWhichSshSettingCameFromWhichLine() throws Exception {
        Path dir = Files.createTempDirectory("obplay-sshconfig");
        Path key = dir.resolve("id_test");
        Files.writeString(key, "not a real key: only its existence is checked here");
        Path cfg = dir.resolve("config");
        Files.writeString(cfg, "Host ob-*\n  HostName 10.9.8.7\n  Port 2222\n  ProxyJump jumper\n  ForwardAgent yes\n"
                + "Host jumper\n  HostName 10.9.0.1\n  User bastion\nHost *\n  User ops\n  IdentityFile " + key + "\n");
        Path inv = dir.resolve("inv.yaml");
        Files.writeString(inv, "cluster: c\nssh: { config: " + cfg + ", port: 22 }\nzones: { z1: { servers: [ { host: ob-one } ] } }\n");
        Result r = run("inventory", "-i", inv.toString(), "--host", "ob-one");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("ssh, with ssh config " + cfg + " (precedence: inventory > ssh config > defaults)"), r.out());
        assertTrue(r.out().contains("ssh config " + cfg + ":2 (HostName 10.9.8.7)"), r.out());
        assertTrue(r.out().contains("inventory: top-level ssh (" + inv + ":2:"), r.out());  // port 22 wins over 2222
        assertTrue(r.out().contains("ssh config " + cfg + ":10 (User ops)"), r.out());
        assertTrue(r.out().contains("ssh config " + cfg + ":4 (ProxyJump jumper)"), r.out());
        assertTrue(r.out().contains("via jumper = bastion@10.9.0.1:22 key " + key), r.out());
        assertTrue(r.out().contains("ignored: " + cfg + ":5: 'ForwardAgent yes' (not used by obplay)"), r.out());
        Result j = run("inventory", "-i", inv.toString(), "--host", "ob-one", "--format", "json");
        assertEquals(0, j.code(), j.err());
        com.fasterxml.jackson.databind.JsonNode ssh = new com.fasterxml.jackson.databind.ObjectMapper().readTree(j.out())
                .path("servers").path(0).path("ssh_resolution");
        assertEquals("10.9.8.7", ssh.path("settings").path("host").path("value").asText());
        assertEquals("ssh config " + cfg + ":2 (HostName 10.9.8.7)", ssh.path("settings").path("host").path("origin").asText());
        assertEquals("10.9.0.1", ssh.path("jumps").path(0).path("host").asText());
    }
}
