package io.obplay.run.gate;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** One run of a {@link CommandGate}'s command. */
final class CommandCheck implements GateCheck {
    static final int KEPT_BYTES = 4096;

    private final CommandGate gate;

    CommandCheck(CommandGate gate) {
        this.gate = gate;
    }

    @Override
    public Observation check(int attempt) throws InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(gate.argv())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true);
        if (gate.directory() != null) {
            pb.directory(gate.directory().toFile());
        }
        long t0 = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return Observation.notYet(attempt, "cannot run " + shown(gate.argv()) + ": " + e.getMessage());
        }
        Tail tail = new Tail(p.getInputStream());
        Thread reader = new Thread(tail, "gate-command-output");
        reader.setDaemon(true);
        reader.start();
        boolean exited;
        try {
            exited = p.waitFor(gate.runTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            kill(p);
            throw e;
        }
        if (!exited) {
            kill(p);
        }
        reader.join(2000);
        String took = GateWaiter.text(java.time.Duration.ofNanos(System.nanoTime() - t0));
        String out = tail.text();
        String output = out.isEmpty() ? "no output" : "output: " + out;
        if (!exited) {
            return Observation.notYet(attempt, shown(gate.argv()) + " did not exit within "
                    + GateWaiter.text(gate.runTimeout()) + " (killed); " + output);
        }
        int code = p.exitValue();
        String text = shown(gate.argv()) + " exited " + code + " in " + took + "; " + output;
        return code == 0 ? Observation.pass(attempt, text) : Observation.notYet(attempt, text);
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The argv as a reader would retype it: words with spaces or quotes in single quotes. */
    static String shown(List<String> argv) {
        return argv.stream().map(CommandCheck::word).collect(Collectors.joining(" "));
    }

    private static String word(String w) {
        String safe = w.replaceAll("[\\p{Cntrl}\\p{Cf}]", "?");
        if (!safe.isEmpty() && safe.matches("[A-Za-z0-9_./:=@%+,-]+")) {
            return safe;
        }
        return "'" + safe.replace("'", "'\\''") + "'";
    }

    /** Reads a stream to its end, keeping its last {@link #KEPT_BYTES} bytes. */
    private static final class Tail implements Runnable {
        private final InputStream in;
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private long total;

        Tail(InputStream in) {
            this.in = in;
        }

        @Override
        public void run() {
            byte[] buf = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (this) {
                        total += n;
                        kept.write(buf, 0, n);
                        if (kept.size() > 2 * KEPT_BYTES) {
                            byte[] all = kept.toByteArray();
                            kept.reset();
                            kept.write(all, all.length - KEPT_BYTES, KEPT_BYTES);
                        }
                    }
                }
            } catch (IOException e) {
                // the process was killed: keep what was read
            }
        }

        synchronized String text() {
            byte[] all = kept.toByteArray();
            int from = Math.max(0, all.length - KEPT_BYTES);
            String s = new String(all, from, all.length - from, StandardCharsets.UTF_8)
                    .replace("\r", "").strip()
                    .replaceAll("[\\p{Cntrl}&&[^\\n\\t]]|\\p{Cf}", "?");
            String lines = s.replace("\n", " | ");
            return total > all.length - from ? "..." + lines : lines;
        }
    }
}
