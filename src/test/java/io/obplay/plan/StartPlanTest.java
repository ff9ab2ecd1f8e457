package io.obplay.plan;

import io.obplay.inventory.InvalidInputException;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.YamlSource;
import io.obplay.playbook.Playbook;
import io.obplay.playbook.PlaybookLoader;
import io.obplay.playbook.Step;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The start step in the playbook and the plan: its options, the inventory's start_command, the dry run. */
class StartPlanTest {

    static final String INVENTORY = """
            cluster: c
            transport: local
            observer: { home_path: /home/admin/ob }
            zones:
              zone1:
                start_command: "LD_LIBRARY_PATH={{home_path}}/lib ./bin/observer -P {{rpc_port}}"
                servers:
                  - host: 10.0.1.1
                  - { host: 10.0.1.2, rpc_port: 3882, start_command: "./bin/observer --zone {{zone}}" }
              zone2:
                servers:
                  - host: 10.0.2.1
            """;

    static Inventory inventory() throws Exception {
        return InventoryLoader.load(YamlSource.of("inv.yaml", INVENTORY));
    }

    static Playbook playbook(Inventory inv, String steps) throws Exception {
        return PlaybookLoader.load(YamlSource.of("pb.yaml", "name: start\ntargets: { all: true }\nsteps:\n" + steps), inv);
    }

    @Test
    void optionsDefaultsAndTimeout() throws Exception {
        Inventory inv = inventory();
        Step.Start plain = (Step.Start) playbook(inv, "  - start: {}\n").steps().get(0);
        assertEquals(Step.Start.DEFAULT_WAIT, plain.readyWait());
        assertEquals(Step.DEFAULT_SETTLE, plain.settle());
        assertEquals(Duration.ofMinutes(5).plusSeconds(33), plain.timeout(), "wait + settle + 30s");
        assertEquals("Start observer", plain.name());
        Step.Start set = (Step.Start) playbook(inv, "  - start: { wait: 2m, settle: 10s }\n    timeout: 3m\n").steps().get(0);
        assertEquals(Duration.ofMinutes(2), set.readyWait());
        assertEquals(Duration.ofSeconds(10), set.settle());

        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> playbook(inv, "  - start: { wait: 2m }\n    timeout: 2m\n"));
        assertTrue(e.getMessage().contains("pb.yaml:5:") && e.getMessage().contains("'timeout' is 2m, not longer than wait + settle (2m3s)"),
                e.getMessage());
        InvalidInputException unknown = assertThrows(InvalidInputException.class,
                () -> playbook(inv, "  - start: { grace: 2m }\n"));
        assertTrue(unknown.getMessage().contains("grace"), unknown.getMessage());
    }

    @Test
    void theInventorysStartCommandIsRenderedPerServerAndShownInThePlan() throws Exception {
        Inventory inv = inventory();
        Dag dag = Planner.plan(inv, playbook(inv, "  - start: { wait: 1m }\n"), PlanOptions.defaults()).dag();
        Map<String, TaskData> byServer = new LinkedHashMap<>();
        dag.nodes().forEach(n -> n.subTasks().forEach(t -> byServer.put(t.data().server(), t.data())));

        assertEquals("cd '/home/admin/ob' && LD_LIBRARY_PATH='/home/admin/ob'/lib ./bin/observer -P '2882'  (detached: setsid,"
                + " stdin /dev/null; the inventory's start_command)", byServer.get("10.0.1.1:2886").command());
        assertEquals("cd '/home/admin/ob' && ./bin/observer --zone 'zone1'  (detached: setsid, stdin /dev/null; the inventory's"
                + " start_command)", byServer.get("10.0.1.2:2886").command());
        assertEquals("cd '/home/admin/ob' && LD_LIBRARY_PATH='/home/admin/ob/lib' exec '/home/admin/ob/bin/observer'  (detached:"
                + " setsid, stdin /dev/null)", byServer.get("10.0.2.1:2886").command());
        TaskData t = byServer.get("10.0.1.2:2886");
        assertTrue(t.ready().contains("port(s) 2881 3882 LISTEN"), t.ready());
        assertEquals(StepScripts.START_LIBRARY, t.library());
        assertTrue(t.script().contains("\nBIN=''\n"), "an overridden command is not checked for bin/observer");
        assertTrue(t.script().contains("\nSTART_CMD='cd '\\''/home/admin/ob'\\'' && ./bin/observer --zone '\\''zone1'\\'''\n"), t.script());

        String text = TextRenderer.render(dag, false, false);
        assertTrue(text.contains("      command  cd '/home/admin/ob' && ./bin/observer --zone 'zone1'"), text);
        assertTrue(text.contains("      ready    a pid file (/home/admin/ob/run/observer.pid) names a live process"), text);
        assertTrue(Planner.compile(inv, playbook(inv, "  - start: { wait: 1m }\n"), PlanOptions.defaults()).streamable());
    }

    @Test
    void aStartCommandThatDoesNotRenderIsRefusedNamingWhereItWasSet() throws Exception {
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", INVENTORY.replace("--zone {{zone}}", "--x {{nope}}")));
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> playbook(inv, "  - start: {}\n"));
        assertTrue(e.getMessage().contains("the start_command of 10.0.1.2:2886 (") && e.getMessage().contains("inv.yaml:9:"),
                e.getMessage());
    }
}
