package io.obplay.plan;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.YamlSource;
import io.obplay.playbook.Playbook;
import io.obplay.playbook.PlaybookLoader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlannerTest {
    static Inventory inv;

    @BeforeAll
    static void inventory() throws Exception {
        inv = InventoryLoader.load(Path.of("inventories/demo.yaml"));
    }

    static Plan plan(String yaml, PlanOptions o) throws Exception {
        Playbook pb = PlaybookLoader.load(YamlSource.of("pb.yaml", yaml), inv);
        return Planner.plan(inv, pb, o);
    }

    static List<String> servers(Node n) {
        return n.subTasks().stream().map(t -> t.data().server()).toList();
    }

    @Test
    void freshDagInObshellShape() throws Exception {
        Dag d = plan("""
                name: Stop zone1
                targets: { zones: [zone1] }
                steps:
                  - stop: {}
                  - cleanup: { paths: [log] }
                """, PlanOptions.defaults()).dag();
        assertEquals("22130706433028861", d.id());
        assertEquals(1, d.dagId());
        assertEquals(1, d.stage());
        assertEquals(2, d.maxStage());
        assertEquals(State.READY, d.state());
        assertEquals(Operator.RUN, d.operator());
        assertEquals(d.startTime(), d.endTime());
        assertEquals(Dag.MAINTENANCE_GLOBAL, d.maintenanceType());
        assertEquals(List.of("10.0.1.1:2886", "10.0.1.2:2886"), servers(d.nodes().get(0)));
        SubTask t = d.nodes().get(1).subTasks().get(1);
        assertEquals(new ExecuteAgent("10.0.1.2", 2886), t.executeAgent());
        assertEquals("22130706433028864", t.id());
        assertEquals(4, t.taskId());
        assertEquals(List.of("/data/ob/log  (log: removed; a symlink: the directory it names, then the link; links inside: as links; "
                + "a mount point or a dir whose parent is not writable: emptied, kept)"), t.data().paths());
        assertTrue(t.data().script().contains("/data/ob/log"));
    }

    @Test
    void samePlanTwiceIsIdentical() throws Exception {
        String yaml = "name: x\ntargets: { all: true }\nstrategy: rolling\nsteps:\n  - stop: {}\n  - cleanup: { paths: [home] }\n";
        assertEquals(ObshellJson.write(plan(yaml, PlanOptions.defaults()).dag()), ObshellJson.write(plan(yaml, PlanOptions.defaults()).dag()));
    }

    @Test
    void rollingMakesANodePerZoneAndStep() throws Exception {
        Dag d = plan("name: x\ntargets: { all: true }\nstrategy: rolling\nsteps:\n  - stop: {}\n  - cleanup: { paths: [log] }\n",
                PlanOptions.defaults()).dag();
        assertEquals(List.of("Stop observer [zone1]", "Clean observer dirs [zone1]", "Stop observer [zone2]",
                "Clean observer dirs [zone2]", "Stop observer [zone3]", "Clean observer dirs [zone3]"),
                d.nodes().stream().map(Node::name).toList());
        assertEquals(List.of("10.0.2.1:2886", "10.0.2.2:2886"), servers(d.nodes().get(2)));
    }

    @Test
    void serialBatches() throws Exception {
        Dag d = plan("name: x\ntargets: { all: true }\nserial: 4\nsteps:\n  - kill: {}\n", PlanOptions.defaults()).dag();
        assertEquals(2, d.maxStage());
        assertEquals("Kill observer [batch 1/2]", d.nodes().get(0).name());
        assertEquals(4, d.nodes().get(0).subTasks().size());
        assertEquals(2, d.nodes().get(1).subTasks().size());
    }

    @Test
    void stepsOnOtherTargetsMakeTheirOwnPlay() throws Exception {
        Dag d = plan("""
                name: proxies then observers
                targets: { all: true }
                steps:
                  - stop: {}
                    on: { obproxy: { cluster: 1 } }
                  - stop: {}
                """, PlanOptions.defaults()).dag();
        assertEquals(List.of("obproxy:1/1", "obproxy:1/2"), servers(d.nodes().get(0)));
        assertEquals(6, d.nodes().get(1).subTasks().size());
        assertEquals("Stop obproxy", d.nodes().get(0).name());
    }

    @Test
    void obproxyOnlyDagsUseObproxyIds() throws Exception {
        Dag d = plan("name: x\ntargets: { obproxy: { cluster: 1, servers: [2] } }\nsteps:\n  - stop: {}\n", PlanOptions.defaults()).dag();
        assertTrue(d.id().startsWith("4"), d.id());
        assertEquals(Dag.MAINTENANCE_OBPROXY, d.maintenanceType());
        assertEquals(List.of("obproxy:1/2"), servers(d.nodes().get(0)));
    }

    @Test
    void limitPatterns() throws Exception {
        String yaml = "name: x\ntargets: { all: true }\nsteps:\n  - stop: {}\n";
        PlanOptions o = PlanOptions.defaults();
        assertEquals(List.of("10.0.2.1:2886", "10.0.2.2:2886"), servers(plan(yaml, o.withLimit(List.of("zone2"))).dag().nodes().get(0)));
        assertEquals(List.of("10.0.1.1:2886"),
                servers(plan(yaml, o.withLimit(List.of("10.0.1.*", "!10.0.1.2:*"))).dag().nodes().get(0)));
        assertEquals(List.of("10.0.1.2:2886"), servers(plan(yaml, o.withLimit(List.of("zone1,&10.0.1.2"))).dag().nodes().get(0)));
        assertEquals(List.of("10.0.1.1:2886", "10.0.1.2:2886"), servers(plan(yaml, o.withLimit(List.of("zone*", "!zone2", "!zone3"))).dag().nodes().get(0)));
        Planner.PlanException e = assertThrows(Planner.PlanException.class, () -> plan(yaml, o.withLimit(List.of("zone7"))));
        assertTrue(e.getMessage().startsWith("--limit pattern 'zone7' matches no server"), e.getMessage());
    }

    @Test
    void tagsSelectSteps() throws Exception {
        String yaml = """
                name: x
                targets: { zones: [zone1] }
                steps:
                  - stop: {}
                    tags: [stop]
                  - shell: "true"
                    tags: [check]
                  - shell: "echo always"
                    tags: [always]
                """;
        PlanOptions o = PlanOptions.defaults();
        assertEquals(3, plan(yaml, o).dag().maxStage());
        assertEquals(List.of("Stop observer", "Run command on observer"),
                plan(yaml, o.withTags(List.of("stop"), List.of())).dag().nodes().stream().map(Node::name).toList());
        assertEquals(2, plan(yaml, o.withTags(List.of(), List.of("check"))).dag().maxStage());
        assertThrows(Planner.PlanException.class, () -> plan(yaml, o.withTags(List.of("nope"), List.of("always"))));
    }

    @Test
    void majorityOfZonesIsRefusedUnlessAllowed() throws Exception {
        String yaml = "name: x\ntargets: { zones: [zone1, zone2] }\nsteps:\n  - stop: {}\n";
        Planner.PlanException e = assertThrows(Planner.PlanException.class, () -> plan(yaml, PlanOptions.defaults()));
        assertEquals("pb.yaml:2:10: these targets stop servers in 2 of 3 zones (zone1, zone2) while zone3 keeps running: a majority of"
                + " zones lost breaks every tenant's Paxos majority. Expected at most 1 zone(s) at once; stop the whole cluster with"
                + " 'targets: { all: true }', or set 'allow_majority_loss: true' if you mean it", e.getMessage());
        assertEquals(1, plan(yaml.replace("steps:", "allow_majority_loss: true\nsteps:"), PlanOptions.defaults()).dag().maxStage());
        // the whole cluster is explicit and allowed; a limit that leaves 2 of 3 zones is not
        assertEquals(1, plan("name: x\ntargets: { all: true }\nsteps:\n  - stop: {}\n", PlanOptions.defaults()).dag().maxStage());
        assertThrows(Planner.PlanException.class, () -> plan("name: x\ntargets: { all: true }\nsteps:\n  - stop: {}\n",
                PlanOptions.defaults().withLimit(List.of("!zone3"))));
        // shell steps stop nothing
        assertEquals(1, plan("name: x\ntargets: { zones: [zone1, zone2] }\nsteps:\n  - shell: uptime\n", PlanOptions.defaults()).dag().maxStage());
    }

    @Test
    void genericIdsRoundTrip() {
        GenericId id = GenericId.parse("22130706433028869");
        assertEquals("127.0.0.1", id.ip());
        assertEquals(2886, id.port());
        assertEquals(9, id.localId());
        assertEquals("22130706433028869", GenericId.agent("127.0.0.1", 2886, 9).toString());
        GenericId seed = GenericId.parse("40194912107080889"); // seed 000's "Stop obproxy" DAG
        assertEquals(GenericId.OBPROXY, seed.kind());
        assertEquals(8088, seed.port());
        assertEquals(9, seed.localId());
        assertEquals("40194912107080889", GenericId.obproxy(seed.ip(), 8088, 9).toString());
        assertThrows(IllegalArgumentException.class, () -> GenericId.parse("abc"));
        assertThrows(IllegalArgumentException.class, () -> GenericId.parse("9123"));
    }
}
