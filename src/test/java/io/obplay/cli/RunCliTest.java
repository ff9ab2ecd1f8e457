package io.obplay.cli;

import io.obplay.plan.Dag;
import io.obplay.plan.State;
import io.obplay.store.Store;
import io.obplay.store.sqlite.SqliteStore;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code obplay run} and {@code obplay dag} end to end on the local transport, including a killed obplay. */
class RunCliTest {
    @TempDir
    Path dir;
    Path inv;
    Path state;

    @BeforeEach
    void files() throws Exception {
        state = dir.resolve("state");
        inv = dir.resolve("inv.yaml");
        Files.writeString(inv, """
                cluster: t
                transport: local
                zones:
                  z1:
                    servers:
                      - { host: 127.0.0.1, home_path: %1$s/a, agent_port: 41001, mysql_port: 41011, rpc_port: 41021 }
                      - { host: 127.0.0.1, home_path: %1$s/b, agent_port: 41002, mysql_port: 41012, rpc_port: 41022 }
                """.formatted(dir));
        Files.createDirectories(dir.resolve("a"));
        Files.createDirectories(dir.resolve("b"));
    }

    Path playbook(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void runRecordsTheDagAndJsonLinesAreValid() throws Exception {
        Path pb = playbook("pb.yaml", "name: hello\ntargets: { all: true }\nsteps:\n  - shell: \"sleep 0.3; echo hi from {{home_path}}\"\n");
        Path junit = dir.resolve("report.xml");
        CliTest.Result r = CliTest.run("run", "-i", inv.toString(), pb.toString(), "--yes", "--json", "--state-dir", state.toString(),
                "--junit", junit.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals("dag_started", new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(0)).get("event").asText());
        for (String l : lines) {
            new com.fasterxml.jackson.databind.ObjectMapper().readTree(l); // each line is one whole JSON object
        }
        assertTrue(lines.get(lines.size() - 1).contains("\"event\":\"dag_finished\"") && lines.get(lines.size() - 1).contains("\"exit_code\":0"));
        assertTrue(r.err().contains("Recap of DAG"), r.err());
        // each sub-task that ran says where its time went, and the parts fit in its elapsed time
        int timed = 0;
        for (String l : lines) {
            com.fasterxml.jackson.databind.JsonNode e = new com.fasterxml.jackson.databind.ObjectMapper().readTree(l);
            if (!"sub_task_finished".equals(e.path("event").asText())) {
                continue;
            }
            com.fasterxml.jackson.databind.JsonNode t = e.path("times");
            double sum = 0;
            for (String k : List.of("record_ms", "connect_ms", "channel_ms", "script_ms")) {
                assertTrue(t.path(k).isNumber() && t.path(k).asDouble() >= 0, k + " in " + l);
                sum += t.path(k).asDouble();
            }
            assertTrue(t.path("script_ms").asDouble() >= 300, "the script sleeps 0.3 s: " + l);
            assertTrue(t.path("record_ms").asDouble() > 0, l);  // two real writes to SQLite
            assertTrue(sum <= e.path("elapsed_ms").asDouble() + 50, "the parts fit in the whole: " + l);
            timed++;
        }
        assertEquals(2, timed, r.out());
        assertTrue(Files.readString(junit).contains("<testcase classname=\"Run command on observer\" name=\"127.0.0.1:41001\""));
        CliTest.Result show = CliTest.run("dag", "show", "1", "--state-dir", state.toString());
        assertEquals(0, show.code(), show.err());
        assertTrue(show.out().contains("log      hi from " + dir + "/a"), show.out());
    }

    @Test
    void failuresExitTwoAndNoTerminalMeansNo() throws Exception {
        Path pb = playbook("pb.yaml", "name: f\ntargets: { all: true }\nsteps:\n  - shell: \"exit 3\"\n");
        CliTest.Result r = CliTest.run("run", "-i", inv.toString(), pb.toString(), "--yes", "--state-dir", state.toString());
        assertEquals(ExitCodes.HOSTS_FAILED, r.code(), r.err());
        assertTrue(r.err().contains("obplay dag retry "), r.err());
        CliTest.Result ask = CliTest.run("run", "-i", inv.toString(), pb.toString(), "--state-dir", dir.resolve("other").toString());
        assertEquals(ExitCodes.INVALID, ask.code());
        assertTrue(ask.err().contains("pass --yes"), ask.err());
    }

    @Test
    void aSavedPlanRunsExactlyAndIsRefusedOnceItsInputsChange() throws Exception {
        Path pb = playbook("pb.yaml", "name: p\ntargets: { all: true }\nsteps:\n  - shell: \"touch {{home_path}}/from-plan\"\n");
        Path plan = dir.resolve("plan.json");
        assertEquals(0, CliTest.run("plan", "-i", inv.toString(), pb.toString(), "-o", plan.toString()).code());
        CliTest.Result ok = CliTest.run("run", "--plan", plan.toString(), "--yes", "--state-dir", state.toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(Files.exists(dir.resolve("a/from-plan")));
        Files.writeString(pb, Files.readString(pb) + "  - shell: \"true\"\n");
        CliTest.Result changed = CliTest.run("run", "--plan", plan.toString(), "--yes", "--state-dir", state.toString());
        assertEquals(ExitCodes.INVALID, changed.code());
        assertTrue(changed.err().contains("the playbook " + pb + " changed since the plan was made"), changed.err());
    }

    @Test
    void ctrlCCancelsCleanlyWithExit130() throws Exception {
        Path pb = playbook("pb.yaml", """
                name: interrupted
                targets: { all: true }
                steps:
                  - shell: "touch {{home_path}}/started; sleep 137"
                  - shell: "touch {{home_path}}/never"
                """);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "run", "-i", inv.toString(), pb.toString(), "--yes", "--json", "--state-dir", state.toString())
                .redirectError(dir.resolve("child.err").toFile()).redirectOutput(dir.resolve("child.out").toFile()).start();
        for (int i = 0; i < 300 && (Files.notExists(dir.resolve("a/started")) || Files.notExists(dir.resolve("b/started"))); i++) {
            Thread.sleep(100);
        }
        assertTrue(Files.exists(dir.resolve("b/started")), Files.readString(dir.resolve("child.err")));
        new ProcessBuilder("kill", "-INT", String.valueOf(child.pid())).start().waitFor();
        assertTrue(child.waitFor(30, TimeUnit.SECONDS), "obplay ends soon after Ctrl-C");
        assertEquals(130, child.exitValue(), Files.readString(dir.resolve("child.err")));
        try (Store store = SqliteStore.open(state)) {
            Dag d = store.dag(1).orElseThrow();
            assertEquals(State.FAILED, d.state());
            assertEquals(io.obplay.plan.Operator.CANCEL, d.operator());
            d.nodes().get(0).subTasks().forEach(t -> assertEquals(State.FAILED, t.state()));
            assertEquals(State.PENDING, d.nodes().get(1).state());
        }
        assertTrue(Files.notExists(dir.resolve("a/never")));
        Process p = new ProcessBuilder("sh", "-c", "ps -eo args | grep -c '^sleep 137' || true").start();
        assertEquals("0", new String(p.getInputStream().readAllBytes()).trim(), "the running scripts were ended");
        for (String line : Files.readAllLines(dir.resolve("child.out"))) {
            new com.fasterxml.jackson.databind.ObjectMapper().readTree(line); // JSON lines stay whole
        }
    }

    @Test
    void killedMidRunThenRetryFinishesTheJob() throws Exception {
        Path pb = playbook("pb.yaml", """
                name: slow on b
                targets: { all: true }
                steps:
                  - shell: "touch {{home_path}}/one"
                  - shell: "if [ -e {{home_path}}/go ] || [ {{home_path}} = %s/a ]; then touch {{home_path}}/two; else touch {{home_path}}/started; sleep 120; fi"
                  - shell: "touch {{home_path}}/three"
                """.formatted(dir));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "run", "-i", inv.toString(), pb.toString(), "--yes", "--state-dir", state.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        Path started = dir.resolve("b/started");
        for (int i = 0; i < 300 && Files.notExists(started); i++) {
            Thread.sleep(100);
        }
        assertTrue(Files.exists(started), "the child reached the slow step: " + Files.readString(dir.resolve("child.log")));
        try (Store store = SqliteStore.open(state)) {  // wait until a's quick stage-2 script is recorded, then kill
            for (int i = 0; i < 300 && store.dag(1).orElseThrow().nodes().get(1).subTasks().get(0).state() != State.SUCCEED; i++) {
                Thread.sleep(50);
            }
        }
        child.destroyForcibly();
        assertTrue(child.waitFor(20, TimeUnit.SECONDS));
        try (Store store = SqliteStore.open(state)) {
            Dag d = store.dags(1).get(0);
            assertEquals(State.RUNNING, d.state(), "the record still says RUNNING until someone looks");
        }
        CliTest.Result show = CliTest.run("dag", "show", "1", "--state-dir", state.toString());
        assertEquals(0, show.code(), show.err());
        assertTrue(show.out().contains("FAILED (operator RUN, stage 2/3)"), show.out());
        assertTrue(show.out().contains("stopped while this ran; its outcome is unknown"), show.out());
        // the sleeping script of the killed obplay may still run; let it go and retry
        Files.createFile(dir.resolve("b/go"));
        CliTest.Result retry = CliTest.run("dag", "retry", "1", "--yes", "--state-dir", state.toString());
        assertEquals(0, retry.code(), retry.err());
        try (Store store = SqliteStore.open(state)) {
            Dag d = store.dag(1).orElseThrow();
            assertEquals(State.SUCCEED, d.state());
            assertEquals(1, d.nodes().get(0).subTasks().get(1).executeTimes(), "stage 1 on b had succeeded: not run again");
            assertEquals(2, d.nodes().get(1).subTasks().get(1).executeTimes(), "stage 2 on b ran again");
            assertEquals(1, d.nodes().get(1).subTasks().get(0).executeTimes(), "stage 2 on a had succeeded");
        }
        assertTrue(Files.exists(dir.resolve("b/three")));
        new File(dir.toFile(), "unused").delete();
    }

    /** obplay with a terminal of its own (util-linux {@code script} gives it a pty), typing {@code answer}. */
    CliTest.Result onATerminal(String answer, String... args) throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        StringBuilder cmd = new StringBuilder();
        for (String a : List.of(javaBin, "-cp", System.getProperty("java.class.path"), Main.class.getName())) {
            cmd.append('\'').append(a).append("' ");
        }
        for (String a : args) {
            cmd.append('\'').append(a).append("' ");
        }
        Process p = new ProcessBuilder("script", "-qec", cmd.toString(), "/dev/null").redirectErrorStream(true).start();
        p.getOutputStream().write((answer + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        p.getOutputStream().flush();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
        p.getOutputStream().close();
        return new CliTest.Result(p.exitValue(), "", out);
    }

    State stateOf(long id) {
        try (Store store = SqliteStore.open(state)) {
            return store.dag(id).orElseThrow().state();
        }
    }

    @Test
    void dagRetryPassAndCancelShowWhatTheyDoAndAskAsRunDoes() throws Exception {
        Path pb = playbook("pb.yaml", """
                name: half
                targets: { all: true }
                steps:
                  - shell: "test {{home_path}} = %1$s/a || test -e {{home_path}}/ok"
                  - shell: "touch {{home_path}}/second"
                """.formatted(dir));
        assertEquals(ExitCodes.HOSTS_FAILED, CliTest.run("run", "-i", inv.toString(), pb.toString(), "--yes", "--state-dir", state.toString()).code());
        String sd = state.toString();

        // no terminal, no --yes: what it would do, then a stop, nothing changed
        CliTest.Result retry = CliTest.run("dag", "retry", "1", "--state-dir", sd);
        assertEquals(ExitCodes.INVALID, retry.code(), retry.err());
        assertTrue(retry.err().contains("Retry runs again"), retry.err());
        assertTrue(retry.err().contains("stage 1/2 'Run command on observer': 127.0.0.1:41002 (FAILED)"), retry.err());
        assertTrue(retry.err().contains("stage 2/2 'Run command on observer': 127.0.0.1:41001 (never ran), 127.0.0.1:41002 (never ran)"), retry.err());
        assertTrue(retry.err().contains("no terminal to ask for confirmation on; review the above and pass --yes to retry it"), retry.err());
        assertEquals(State.FAILED, stateOf(1));
        CliTest.Result pass = CliTest.run("dag", "pass", "1", "--state-dir", sd);
        assertEquals(ExitCodes.INVALID, pass.code(), pass.err());
        assertTrue(pass.err().contains("Pass records these stages SUCCEED with operator PASS"), pass.err());
        assertTrue(pass.err().contains("pass --yes to pass it"), pass.err());
        CliTest.Result cancel = CliTest.run("dag", "cancel", "1", "--state-dir", sd);
        assertEquals(ExitCodes.INVALID, cancel.code(), cancel.err());
        assertTrue(cancel.err().contains("no process runs it: it is recorded FAILED with operator CANCEL now"), cancel.err());
        assertEquals(State.FAILED, stateOf(1));
        assertTrue(Files.notExists(dir.resolve("a/second")), "nothing ran");

        // a terminal: anything but yes stops
        CliTest.Result no = onATerminal("no", "dag", "pass", "1", "--state-dir", sd);
        assertEquals(ExitCodes.INVALID, no.code(), no.err());
        assertTrue(no.err().contains("Pass 1 stage of DAG ") || no.err().contains("Pass 2 stages of DAG "), no.err());
        assertTrue(no.err().contains("Type 'yes' to pass: "), no.err());
        assertTrue(no.err().contains("Not confirmed; nothing changed."), no.err());
        assertEquals(State.FAILED, stateOf(1));

        // yes on the terminal retries; the run goes on as 'run' does
        Files.createFile(dir.resolve("b/ok"));
        CliTest.Result yes = onATerminal("yes", "dag", "retry", "1", "--state-dir", sd);
        assertTrue(yes.err().contains("Re-run 3 sub-tasks on 1 host? Type 'yes' to retry: "), yes.err());
        assertEquals(0, yes.code(), yes.err());
        assertEquals(State.SUCCEED, stateOf(1));
        assertTrue(Files.exists(dir.resolve("b/second")));

        // refused before asking, with the reason, even with --yes
        CliTest.Result again = CliTest.run("dag", "retry", "1", "--yes", "--state-dir", sd);
        assertEquals(ExitCodes.INVALID, again.code());
        assertTrue(again.err().contains("is SUCCEED (operator RUN); only a FAILED DAG can be retried"), again.err());
        assertTrue(!again.err().contains("Retry runs again"), again.err());
        CliTest.Result passDone = CliTest.run("dag", "pass", "1", "--yes", "--state-dir", sd);
        assertEquals(ExitCodes.INVALID, passDone.code());
        assertTrue(passDone.err().contains("only a FAILED DAG can be passed"), passDone.err());
        CliTest.Result cancelDone = CliTest.run("dag", "cancel", "1", "--yes", "--state-dir", sd);
        assertEquals(ExitCodes.INVALID, cancelDone.code());
        assertTrue(cancelDone.err().contains("is finished (SUCCEED); only an unfinished DAG can be cancelled"), cancelDone.err());

        // --yes: cancel and pass of a FAILED DAG
        assertEquals(ExitCodes.HOSTS_FAILED, CliTest.run("run", "-i", inv.toString(),
                playbook("f.yaml", "name: f\ntargets: { all: true }\nsteps:\n  - shell: \"exit 3\"\n").toString(), "--yes", "--state-dir", sd).code());
        CliTest.Result c = CliTest.run("dag", "cancel", "2", "--yes", "--state-dir", sd);
        assertEquals(0, c.code(), c.err());
        assertTrue(c.err().contains("FAILED (operator CANCEL)"), c.err());
        CliTest.Result p = CliTest.run("dag", "pass", "2", "--yes", "--state-dir", sd);
        assertEquals(0, p.code(), p.err());
        assertEquals(State.SUCCEED, stateOf(2));
    }
}
