package io.obplay.store.sqlite;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sqlite-jdbc's native library is extracted once into the state directory and loaded from there: a killed obplay
 * leaves nothing in the temporary directory, and the next process reuses the same file.
 */
class NativeLibraryTest {
    @TempDir
    Path tmp;

    /** A JVM writing to the store, killed with SIGKILL once it writes; returns the native libraries it had mapped. */
    List<String> runAndKill(Path state, List<String> jvmOptions) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), StoreChild.class.getName(), "write", state.toString()));
        Path err = tmp.resolve("child.err");
        Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(err.toFile())).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("ready", out.readLine(), () -> ChildProcess.err(err));
            assertTrue(out.readLine().startsWith("dag "), () -> ChildProcess.err(err));
            List<String> mapped;
            try (Stream<String> maps = Files.lines(Path.of("/proc", String.valueOf(child.pid()), "maps"))) {
                mapped = maps.filter(l -> l.contains("sqlitejdbc")).map(l -> l.substring(l.indexOf('/'))).distinct().toList();
            }
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            return mapped;
        } finally {
            child.destroyForcibly();
        }
    }

    static Object fileKey(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class).fileKey();
    }

    @Test
    @Timeout(120)
    void aKilledJvmLeavesNothingInTmpAndTheNextReusesTheLibrary() throws Exception {
        Path state = tmp.resolve("state");
        Path jtmp = Files.createDirectory(tmp.resolve("jtmp"));

        // as users run it (java.io.tmpdir = /tmp): the library it loads is the one in the state directory
        List<String> mapped = runAndKill(state, List.of());
        assertEquals(1, mapped.size(), mapped.toString());
        Path lib = Path.of(mapped.get(0));
        assertTrue(lib.startsWith(state.resolve("native")), "loaded from the state directory: " + lib);
        assertTrue(lib.getFileName().toString().contains("sqlitejdbc"), lib.toString());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve("native"))));
        assertTrue(Files.notExists(Path.of("/tmp").resolve(lib.getFileName())), "and nothing of it is in /tmp");
        Object key = fileKey(lib);

        // with a temporary directory of its own, to see everything it leaves there: nothing, and the same file reused
        List<String> again = runAndKill(state, List.of("-Djava.io.tmpdir=" + jtmp));
        assertEquals(List.of(lib.toString()), again);
        assertEquals(key, fileKey(lib), "the library was not extracted again");
        try (Stream<Path> left = Files.list(jtmp)) {
            assertEquals(List.of(), left.toList(), "a killed JVM leaves nothing in its temporary directory");
        }
        try (Stream<Path> parts = Files.list(lib.getParent())) {
            assertEquals(List.of(lib), parts.toList(), "no partial copies beside it");
        }
    }

    @Test
    void aCopyThatIsNotWholeIsReplaced() throws Exception {
        Path state = Files.createDirectory(tmp.resolve("state"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path lib = NativeLibrary.extract(state);
        long size = Files.size(lib);
        Files.write(lib, new byte[] {1, 2, 3});
        assertEquals(lib, NativeLibrary.extract(state));
        assertEquals(size, Files.size(lib), "a truncated copy is written anew");
        Object key = fileKey(lib);
        assertEquals(lib, NativeLibrary.extract(state));
        assertEquals(key, fileKey(lib), "a whole copy is used as it is");
    }
}
