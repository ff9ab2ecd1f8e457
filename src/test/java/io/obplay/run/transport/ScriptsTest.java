package io.obplay.run.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The kill script's verdict, on real processes of this machine: "gone" only when its /proc scan proves it. */
@Timeout(60)
class ScriptsTest {

    @Test
    void theKillScriptSaysGoneWhenTheGroupIsGoneAndNamesWhatItCouldNotEnd() throws Exception {
        String a = String.valueOf(T.uniqueSeconds());
        String b = String.valueOf(T.uniqueSeconds() + 1);
        // setsid execs sleep in place: each sleep leads its own process group
        Process ended = new ProcessBuilder("setsid", "sleep", a).start();
        Process kept = new ProcessBuilder("setsid", "sleep", b).start();
        try {
            assertTrue(T.await(() -> T.procs("sleep", a).size() == 1 && T.procs("sleep", b).size() == 1,
                    Duration.ofSeconds(10)));
            T.Result r = T.run("/bin/sh", "-c", Scripts.killScript(ended.pid(), ended.pid(), Duration.ofMillis(300)));
            assertEquals(Scripts.KILL_VERDICT + " gone", last(r), r.toString());
            assertEquals(List.of(), T.procs("sleep", a), "the ended group is gone from /proc");
            // a user who may not signal the group (the script ran sudo, say): its processes are reported left
            if (SshdFixture.ROOT) {
                T.Result n = T.run("runuser", "-u", "nobody", "--", "/bin/sh", "-c",
                        Scripts.killScript(kept.pid(), kept.pid(), Duration.ofMillis(200)));
                assertEquals(Scripts.KILL_VERDICT + " left " + kept.pid(), last(n), n.toString());
                assertTrue(kept.isAlive(), "and it does still run");
            }
        } finally {
            ended.destroyForcibly();
            kept.destroyForcibly();
        }
    }

    private static String last(T.Result r) {
        String[] lines = r.stdout().strip().split("\n");
        return lines[lines.length - 1].strip();
    }
}
