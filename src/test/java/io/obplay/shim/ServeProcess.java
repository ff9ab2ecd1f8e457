package io.obplay.shim;

import io.obplay.testing.TestHosts;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code obplay serve} in a child JVM (this JVM's classpath), as a user runs it: its stderr in a file, its
 * environment cleaned of every {@code OBPLAY_*} variable and given only what the test says.
 */
final class ServeProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on (https?)://([0-9.]+):(\\d+)");

    final Process process;
    final Path stderr;
    private int port = -1;

    private ServeProcess(Process process, Path stderr) {
        this.process = process;
        this.stderr = stderr;
    }

    static ServeProcess start(Path stderr, Map<String, String> env, List<String> args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"), "io.obplay.cli.Main", "serve"));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.appendTo(stderr.toFile()));
        pb.environment().keySet().removeIf(k -> k.startsWith("OBPLAY_"));
        pb.environment().putAll(env);
        return new ServeProcess(pb.start(), stderr);
    }

    /** Waits for the "listening on" line; returns the port. Fails (with the stderr) if the server exits or takes too long. */
    int awaitListening(Duration timeout) {
        boolean up = TestHosts.await(() -> {
            Matcher m = LISTENING.matcher(err());
            if (m.find()) {
                port = Integer.parseInt(m.group(3));
                return true;
            }
            return !process.isAlive();
        }, timeout);
        if (!up || port < 0) {
            throw new AssertionError("obplay serve did not start (alive=" + process.isAlive() + "):\n" + err());
        }
        return port;
    }

    int port() {
        return port;
    }

    /** Waits for the process to end; returns its exit code, or -1 if it is still running after the timeout. */
    int awaitExit(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
    }

    String err() {
        try {
            return Files.exists(stderr) ? Files.readString(stderr, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "cannot read " + stderr + ": " + e;
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
