package io.obplay.inventory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code obplay inventory --format ansible}, read back by Ansible's own {@code ansible-inventory --list}. */
@Timeout(120)
class AnsibleInventoryTest {
    @TempDir
    Path dir;

    JsonNode ansibleList(String inventory) throws Exception {
        Path file = dir.resolve("hosts.yaml");
        Files.writeString(file, inventory);
        ProcessBuilder pb = new ProcessBuilder("ansible-inventory", "-i", file.toString(), "--list");
        pb.environment().put("ANSIBLE_LOCAL_TEMP", dir.resolve("tmp").toString());
        pb.environment().put("ANSIBLE_HOME", dir.resolve("ansible").toString());
        pb.environment().put("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true");
        pb.redirectError(dir.resolve("stderr").toFile());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS));
        String err = Files.readString(dir.resolve("stderr"));
        assertEquals(0, p.exitValue(), err);
        assertTrue(!err.contains("[WARNING]"), err);
        return new ObjectMapper().readTree(new String(out, StandardCharsets.UTF_8));
    }

    static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void ansibleReadsTheGroupsAndHostVarsOfAnOBDConfig() throws Exception {
        LoadedInventory l = Inventories.read(Path.of("src/test/resources/obd/distributed-with-obproxy-example.yaml"));
        JsonNode list = ansibleList(InventoryWriter.ansible(l));
        assertEquals(List.of("zone1", "zone2", "zone3"), texts(list.path("oceanbase").path("children")));
        assertEquals(List.of("obproxy_obproxy_ce"), texts(list.path("obproxy").path("children")));
        assertEquals(List.of("192.168.1.3"), texts(list.path("zone2").path("hosts")));
        JsonNode h = list.path("_meta").path("hostvars").path("192.168.1.3");
        assertEquals("192.168.1.3", h.path("ansible_host").asText());
        assertEquals("/root/observer", h.path("home_path").asText());
        assertEquals("/root/observer/store/clog", h.path("clog_dir").asText());
        assertEquals(2881, h.path("mysql_port").asInt());
        assertEquals("zone2", h.path("zone").asText());
        assertEquals("obcluster", h.path("obplay_cluster").asText());
        assertEquals("server2", h.path("obd_name").asText());
        JsonNode p = list.path("_meta").path("hostvars").path("192.168.1.5");
        assertEquals("/root/obproxy/run/obproxyd-192.168.1.5-2883.pid", p.path("daemon_pid_file").asText());
        assertEquals(1, p.path("obproxy_cluster_id").asInt());
    }

    @Test
    void ansibleReadsValuesFullOfQuotesAndSeveralServersOnOneHost() throws Exception {
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", """
                cluster: "it's \\"$(x)\\""
                ssh: { jump: "ops@bastion:2222,admin@inner", host_key_checking: off }
                zones:
                  "zone a":
                    servers:
                      - { host: 10.0.0.1, vars: { note: "no", shell: "a'b $(rm -rf /)" } }
                      - { host: 10.0.0.1, home_path: /data/ob2, mysql_port: 3881, rpc_port: 3882, agent_port: 3886 }
                """));
        JsonNode list = ansibleList(InventoryWriter.ansible(new LoadedInventory(inv, "obplay", List.of(), List.of())));
        assertEquals(List.of("10.0.0.1-observer-2886", "10.0.0.1-observer-3886"), texts(list.path("zone_a").path("hosts")));
        JsonNode h = list.path("_meta").path("hostvars").path("10.0.0.1-observer-2886");
        assertEquals("it's \"$(x)\"", h.path("obplay_cluster").asText());
        assertEquals("no", h.path("note").asText());
        assertEquals("a'b $(rm -rf /)", h.path("shell").asText());
        assertEquals("-o ProxyJump=ops@bastion:2222,admin@inner -o StrictHostKeyChecking=no", h.path("ansible_ssh_common_args").asText());
        assertEquals("/data/ob2", list.path("_meta").path("hostvars").path("10.0.0.1-observer-3886").path("home_path").asText());
    }
}
