package io.obplay.plan;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared shell functions are .sh files, read as they are, and shellcheck finds nothing in them. */
class ShellFunctionsTest {

    static final Path SOURCES = Path.of("src/main/resources/io/obplay/plan/sh");

    @TempDir
    Path tmp;

    @Test
    void theFunctionsAreTheFilesAsTheyAre() throws Exception {
        try (Stream<Path> files = Files.list(SOURCES)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(ShellFunctions.NAMES.stream().map(n -> n + ".sh").sorted().toList(), names);
        }
        for (String name : ShellFunctions.NAMES) {
            assertEquals(Files.readString(SOURCES.resolve(name + ".sh")), ShellFunctions.text(name), name);
        }
        assertTrue(StepScripts.library(StepScripts.STOP_OBPROXY_LIBRARY).endsWith(ShellFunctions.text("core")
                + ShellFunctions.text("stop") + ShellFunctions.text("daemon")));
        assertThrows(IllegalArgumentException.class, () -> ShellFunctions.text("../x"));
    }

    @Test
    void shellcheckFindsNothingInEachFileNorInEachLibrary() throws Exception {
        Path shellcheck = Stream.of("/usr/bin/shellcheck", "/usr/local/bin/shellcheck").map(Path::of)
                .filter(Files::isExecutable).findFirst()
                .orElseThrow(() -> new AssertionError("shellcheck is missing: apt-get install -y shellcheck"));
        for (String name : ShellFunctions.NAMES) {
            // a file alone: only the variables it sets for the other files (SC2034), and those they set for it
            // (read_pid's PID: SC2153), may look unused or unset; each library below is checked whole
            check(shellcheck, "file-" + name, ShellFunctions.text(name), "-e", "SC2034,SC2153");
        }
        for (String lib : List.of(StepScripts.STOP_LIBRARY, StepScripts.STOP_OBPROXY_LIBRARY, StepScripts.CLEANUP_LIBRARY, StepScripts.START_LIBRARY, StepScripts.RESTART_LIBRARY,
                StepScripts.STATUS_LIBRARY)) {
            // a library: only what the script after it reads (DONE) may look unused
            check(shellcheck, "library-" + lib, StepScripts.library(lib), "-e", "SC2034");
        }
    }

    private void check(Path shellcheck, String name, String text, String... options) throws Exception {
        Path f = tmp.resolve(name + ".sh");
        // the variables a script's header sets before its library
        Files.writeString(f, "#!/bin/sh\nNAME=x HOST=x HOME_DIR=/x PORTS='1' SETTLE=1 KILL_WAIT=1 GRACE=1\n"
                + "DIRS=0 CONFIG='' BIN='' LOG=x START_CMD=true READY_WAIT=1\n"
                + "export NAME HOST HOME_DIR PORTS SETTLE KILL_WAIT GRACE DIRS CONFIG BIN LOG START_CMD READY_WAIT\n" + text);
        List<String> cmd = new java.util.ArrayList<>(List.of(shellcheck.toString(), "-s", "sh"));
        cmd.addAll(List.of(options));
        cmd.add(f.toString());
        StepScriptsTest.Result r = StepScriptsTest.exec(cmd, null);
        assertEquals(0, r.code(), name + ":\n" + r.out());
    }
}
