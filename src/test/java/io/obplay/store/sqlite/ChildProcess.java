package io.obplay.store.sqlite;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Starts {@link StoreChild} in a second JVM with this JVM's classpath. */
final class ChildProcess {
    private ChildProcess() {
    }

    static Process start(String mode, Path stateDir, Path stderr) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "-cp", System.getProperty("java.class.path"), StoreChild.class.getName(),
                mode, stateDir.toString());
        return new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.appendTo(stderr.toFile()))
                .start();
    }

    static String err(Path stderr) {
        try {
            return Files.exists(stderr) ? "child stderr:\n" + Files.readString(stderr, StandardCharsets.UTF_8) : "no stderr";
        } catch (IOException e) {
            return "cannot read child stderr: " + e;
        }
    }
}
