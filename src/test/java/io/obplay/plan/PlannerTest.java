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
        assertEquals(3, plan(yaml, o.withTags(List.of("all"), List.of())).dag().maxStage());
        // --tags always: only the steps tagged always
        assertEquals(List.of("Run command on observer"),
                plan(yaml, o.withTags(List.of("always"), List.of())).dag().nodes().stream().map(Node::name).toList());
    }

    @Test
    void majorityOfZonesIsRefusedUnlessAllowed() throws Exception {
        String yaml = "name: x\ntargets: { zones: [zone1, zone2] }\nsteps:\n  - stop: {}\n";
        Planner.PlanException e = assertThrows(Planner.PlanException.class, () -> plan(yaml, PlanOptions.defaults()));
        assertEquals("pb.yaml:2:10: these targets (zones: zone1, zone2) stop servers in 2 of 3 zones (zone1, zone2) while zone3"
                + " keeps running: with no strict majority of zones running, every tenant loses its Paxos majority. Expected at"
                + " most 1 of 3 zone(s) stopped while the others run; stop the whole cluster (every observer, e.g. 'targets:"
                + " { all: true }' and no --limit that leaves servers out), or set 'allow_majority_loss: true' if you mean it",
                e.getMessage());
        assertEquals(1, plan(yaml.replace("steps:", "allow_majority_loss: true\nsteps:"), PlanOptions.defaults()).dag().maxStage());
        // the whole cluster is explicit and allowed, also through a limit that keeps all of it
        String all = "name: x\ntargets: { all: true }\nsteps:\n  - stop: {}\n";
        assertEquals(1, plan(all, PlanOptions.defaults()).dag().maxStage());
        assertEquals(6, plan(all, PlanOptions.defaults().withLimit(List.of("zone*"))).dag().subTaskCount());
        // shell steps stop nothing; one zone of three is fine
        assertEquals(1, plan("name: x\ntargets: { zones: [zone1, zone2] }\nsteps:\n  - shell: uptime\n", PlanOptions.defaults()).dag().maxStage());
        assertEquals(1, plan("name: x\ntargets: { zones: [zone1] }\nsteps:\n  - kill: {}\n", PlanOptions.defaults()).dag().maxStage());
    }

    @Test
    void majorityCountsWhatTheLimitLeaves() {
        String all = "name: x\ntargets: { all: true }\nsteps:\n  - stop: {}\n";
        Planner.PlanException e = assertThrows(Planner.PlanException.class, () -> plan(all, PlanOptions.defaults().withLimit(List.of("!zone3"))));
        assertTrue(e.getMessage().startsWith("pb.yaml:2:10: these targets (all: true) with --limit !zone3 stop servers in 2 of 3 zones"
                + " (zone1, zone2) while zone3 keeps running (--limit !zone3 causes it: without it the plan stops the whole cluster"
                + " or leaves a majority of zones running): with no strict majority"), e.getMessage());
        // one server left out of the whole cluster: every zone has a stopped server, none keeps all of its own
        e = assertThrows(Planner.PlanException.class, () -> plan(all, PlanOptions.defaults().withLimit(List.of("!10.0.3.2:2886"))));
        assertTrue(e.getMessage().contains("stop servers in 3 of 3 zones (zone1, zone2, zone3) while no zone keeps running (--limit"
                + " !10.0.3.2:2886 causes it"), e.getMessage());
        // the fast path (compile, then stream) refuses the same plans: compile is where the check is
        Planner.PlanException lazy = assertThrows(Planner.PlanException.class, () -> Planner.compile(inv,
                PlaybookLoader.load(YamlSource.of("pb.yaml", all), inv), PlanOptions.defaults().withLimit(List.of("!zone3"))));
        assertTrue(lazy.getMessage().startsWith("pb.yaml:2:10: these targets (all: true) with --limit !zone3"), lazy.getMessage());
    }

    @Test
    void majorityCountsEveryPlay() {
        String yaml = """
                name: one zone, then another
                targets: { zones: [zone1] }
                steps:
                  - stop: {}
                  - shell: "true"
                    on: { zones: [zone3] }
                  - kill: {}
                    on: { zones: [zone2] }
                """;
        Planner.PlanException e = assertThrows(Planner.PlanException.class, () -> plan(yaml, PlanOptions.defaults()));
        assertEquals("pb.yaml:2:10: together, the plays stop servers in 2 of 3 zones (zone1, zone2) while zone3 keeps running"
                + " (step 1 (pb.yaml:2:10) stops zone1; step 3 (pb.yaml:8:9) stops zone2): with no strict majority", e.getMessage()
                .substring(0, e.getMessage().indexOf(" of zones running, every")));
    }

    @Test
    void twoOfFourZonesLoseTheMajority() throws Exception {
        Inventory four = InventoryLoader.load(YamlSource.of("four.yaml", """
                cluster: four
                transport: local
                zones:
                  z1: { servers: [ { host: 10.0.0.1 } ] }
                  z2: { servers: [ { host: 10.0.0.2 } ] }
                  z3: { servers: [ { host: 10.0.0.3 } ] }
                  z4: { servers: [ { host: 10.0.0.4 } ] }
                """));
        Playbook two = PlaybookLoader.load(YamlSource.of("pb.yaml", "name: x\ntargets: { zones: [z1, z2] }\nsteps:\n  - stop: {}\n"), four);
        Planner.PlanException e = assertThrows(Planner.PlanException.class, () -> Planner.plan(four, two, PlanOptions.defaults()));
        assertTrue(e.getMessage().startsWith("pb.yaml:2:10: these targets (zones: z1, z2) stop servers in 2 of 4 zones (z1, z2) while"
                + " z3, z4 keep running: with no strict majority of zones running, every tenant loses its Paxos majority. Expected"
                + " at most 1 of 4 zone(s)"), e.getMessage());
        Playbook one = PlaybookLoader.load(YamlSource.of("pb.yaml", "name: x\ntargets: { zones: [z4] }\nsteps:\n  - kill: {}\n"), four);
        assertEquals(1, Planner.plan(four, one, PlanOptions.defaults()).dag().subTaskCount());
    }

    @Test
    void tagsThatNameNoTagOfThePlaybookAreRefused() {
        String yaml = """
                name: x
                targets: { zones: [zone1] }
                steps:
                  - stop: {}
                    tags: [stop]
                  - cleanup: { paths: [log] }
                    tags: [logs]
                  - cleanup: { paths: [data_dir] }
                    tags: [data]
                """;
        PlanOptions o = PlanOptions.defaults();
        Planner.PlanException e = assertThrows(Planner.PlanException.class, () -> plan(yaml, o.withTags(List.of(), List.of("date"))));
        assertEquals("pb.yaml: --skip-tags date names no tag of the playbook (did you mean 'data'?); its tags: data, logs, stop", e.getMessage());
        e = assertThrows(Planner.PlanException.class, () -> plan(yaml, o.withTags(List.of("stop", "log"), List.of("dta", "zzzzzz"))));
        assertEquals("pb.yaml: --tags log names no tag of the playbook (did you mean 'logs'?); --skip-tags dta names no tag of the"
                + " playbook (did you mean 'data'?); --skip-tags zzzzzz names no tag of the playbook; its tags: data, logs, stop"
                + " (and all, for --tags)", e.getMessage());
        e = assertThrows(Planner.PlanException.class, () -> plan("name: x\ntargets: { zones: [zone1] }\nsteps:\n  - stop: {}\n",
                o.withTags(List.of("stop"), List.of())));
        assertTrue(e.getMessage().endsWith("; the playbook has no tags (and all, for --tags)"), e.getMessage());
        assertThrows(Planner.PlanException.class, () -> Planner.compile(inv, PlaybookLoader.load(YamlSource.of("pb.yaml", yaml), inv),
                o.withTags(List.of(), List.of("date"))));
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

    @Test
    void theMajorityGuardKnowsRestarts() throws Exception {
        // a rolling restart of two zones has one zone down at a time: allowed without allow_majority_loss
        String rolling = "name: x\ntargets: { zones: [zone1, zone2] }\nstrategy: rolling\nsteps:\n  - restart: {}\n";
        Dag d = plan(rolling, PlanOptions.defaults()).dag();
        assertEquals(List.of("Restart observer [zone1]", "Restart observer [zone2]"), d.nodes().stream().map(Node::name).toList());
        // a parallel restart of the same two zones has both down at once: refused as a stop is
        Planner.PlanException e = assertThrows(Planner.PlanException.class,
                () -> plan(rolling.replace("strategy: rolling\n", ""), PlanOptions.defaults()));
        assertTrue(e.getMessage().contains("stop servers in 2 of 3 zones (zone1, zone2) while zone3 keeps running"), e.getMessage());
        // a rolling stop of two zones leaves the first down when the second goes: refused, "at once"
        e = assertThrows(Planner.PlanException.class,
                () -> plan(rolling.replace("restart: {}", "stop: {}"), PlanOptions.defaults()));
        assertTrue(e.getMessage().contains("stop servers in 2 of 3 zones (zone1, zone2) while zone3 keeps running at once"), e.getMessage());
        // a rolling stop then start of each zone is a restart in two steps: allowed
        assertEquals(4, plan(rolling.replace("  - restart: {}\n", "  - stop: {}\n  - start: {}\n"), PlanOptions.defaults()).dag().maxStage());
        // the whole cluster restarted at once is explicit, as a whole-cluster stop is
        assertEquals(1, plan("name: x\ntargets: { all: true }\nsteps:\n  - restart: {}\n", PlanOptions.defaults()).dag().maxStage());
    }

    @Test
    void aGateFollowsEachZoneOfARollingRestart() throws Exception {
        String yaml = """
                name: rolling restart
                targets: { all: true }
                strategy: rolling
                gate: { pause: 2s, timeout: 1m, obshell: true, sql: true, command: ["sh", "-c", "test -f /tmp/ok"] }
                steps:
                  - restart: { grace: 5s, settle: 1s, wait: 30s }
                """;
        Dag d = plan(yaml, PlanOptions.defaults()).dag();
        assertEquals(List.of("Restart observer [zone1]", "Gate [zone1]", "Restart observer [zone2]", "Gate [zone2]",
                "Restart observer [zone3]", "Gate [zone3]"), d.nodes().stream().map(Node::name).toList());
        Node gate = d.nodes().get(1);
        assertEquals(1, gate.subTasks().size(), "one check per zone, on the controller");
        GatePlan g = NodeData.of(gate.additionalData()).gate();
        assertEquals("zone1", g.zone());
        assertEquals(2000, g.pauseMillis());
        assertEquals(60000, g.timeoutMillis());
        List<String> zone1 = inv.zone("zone1").orElseThrow().servers().stream().map(s -> s.host() + ":" + s.agentPort()).toList();
        assertEquals(zone1, g.obshell());
        assertEquals(List.of("sh", "-c", "test -f /tmp/ok"), g.command());
        // the SQL level asks the other zones first: they serve while this one restarts
        String firstSql = g.sql().get(0);
        assertTrue(inv.zone("zone2").orElseThrow().servers().stream().anyMatch(s -> firstSql.startsWith(s.host() + ":")), g.sql().toString());
        String text = TextRenderer.render(d, false, false);
        assertTrue(text.contains("check    level 2: obshell's GET /api/v1/status says obState 3 (AVAILABLE) on"), text);
        assertTrue(text.contains("check    level 3: SQL"), text);
        assertTrue(text.contains("check    level 4: exit 0 from 'sh' '-c' 'test -f /tmp/ok' (run on the controller)"), text);
        // the script a gate would have on a host only fails: a gate can never pass by being run there
        assertTrue(gate.subTasks().get(0).data().script().contains("exit 1"));
        // a restart signals as a stop does, and says what ready means
        io.obplay.plan.TaskData restart = d.nodes().get(0).subTasks().get(0).data();
        assertTrue(restart.signals().get(0).startsWith("TERM observer pid from"), restart.signals().toString());
        assertTrue(restart.ready().contains("LISTEN on its addresses"), restart.ready());
        assertTrue(restart.script().indexOf("start_dirs") < restart.script().indexOf("find_servers"),
                "the start's own checks come before anything is signalled");
    }

    @Test
    void aGateNeedsARollingPlayThatStartsServers() {
        var e = assertThrows(io.obplay.inventory.InvalidInputException.class, () -> plan("""
                name: x
                targets: { zones: [zone1] }
                gate: { timeout: 1m, pause: 2m }
                steps:
                  - stop: {}
                """, PlanOptions.defaults()));
        String m = e.getMessage();
        assertTrue(m.contains("pb.yaml:3:1: 'gate' is the wait between zones of 'strategy: rolling'; this playbook's strategy is parallel"), m);
        assertTrue(m.contains("pb.yaml:3:1: 'gate' waits for the servers a rolling play starts again, and no step starts one"), m);
        assertTrue(m.contains("'pause' is 2m, not shorter than the gate's timeout (1m)"), m);
    }
}
