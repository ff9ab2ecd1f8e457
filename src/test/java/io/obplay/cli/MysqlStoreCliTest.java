package io.obplay.cli;

import io.obplay.plan.Dag;
import io.obplay.store.mysql.MariaDbServer;
import io.obplay.store.mysql.MysqlStore;
import io.obplay.store.sqlite.Fixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --store} and {@code OBPLAY_STORE} with a real MariaDB ({@link MariaDbServer}), through {@code obplay} in a
 * child JVM as a user runs it: the password from the environment or a file, never argv; and the clear errors (exit
 * 5) for a wrong password, a store that is not there, a missing database, and a schema newer than this obplay.
 */
class MysqlStoreCliTest {
    @TempDir
    Path tmp;

    MariaDbServer server;
    String db;

    @BeforeEach
    void database() {
        server = MariaDbServer.shared();
        db = server.newDatabase();
    }

    @AfterEach
    void drop() {
        server.dropDatabase(db);
    }

    record Result(int code, String out, String err) {
    }

    Result obplay(Map<String, String> env, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"), "io.obplay.cli.Main"));
        cmd.addAll(List.of(args));
        Path out = tmp.resolve("out-" + System.nanoTime());
        Path err = tmp.resolve("err-" + System.nanoTime());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("OBPLAY_"));
        pb.environment().put("OBPLAY_STATE_DIR", tmp.resolve("state").toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "obplay " + String.join(" ", args) + " did not end");
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    private Dag insertOne() throws Exception {
        try (MysqlStore store = MysqlStore.open(server.adminUrl(db), MariaDbServer.USER, MariaDbServer.PASSWORD.toCharArray(), db)) {
            return store.insert(Fixtures.maintenance("Stop OB on the shared store", "ob"), Fixtures.AGENT, true);
        }
    }

    @Test
    void dagListAndShowReadTheSharedStoreWithThePasswordFromTheEnvironment() throws Exception {
        Dag d = insertOne();
        Result list = obplay(Map.of("OBPLAY_STORE", server.storeUrl(db), "OBPLAY_STORE_PASSWORD", MariaDbServer.PASSWORD),
                "dag", "list");
        assertEquals(0, list.code(), list.err());
        assertTrue((list.out() + list.err()).contains(d.id()), list.out() + list.err());
        assertFalse(Files.exists(tmp.resolve("state").resolve("obplay.db")), "no SQLite file when the store is MySQL");

        // --store wins over OBPLAY_STORE; jdbc:mysql:// works as jdbc:mariadb://
        Result show = obplay(Map.of("OBPLAY_STORE", "sqlite:" + tmp.resolve("other.db"), "OBPLAY_STORE_PASSWORD", MariaDbServer.PASSWORD),
                "dag", "show", d.id(), "--store", server.storeUrl(db).replace("jdbc:mariadb:", "jdbc:mysql:"));
        assertEquals(0, show.code(), show.err());
        assertTrue((show.out() + show.err()).contains("Stop OB on the shared store"), show.out() + show.err());
        assertFalse((show.out() + show.err()).contains(MariaDbServer.PASSWORD));
    }

    @Test
    void thePasswordMayComeFromAFileNamedInTheUrl() throws Exception {
        Dag d = insertOne();
        Path pw = tmp.resolve("store-password");
        Files.writeString(pw, MariaDbServer.PASSWORD + "\n");
        Result r = obplay(Map.of("OBPLAY_STORE_PASSWORD", "not this one"), "dag", "list",
                "--store", server.storeUrl(db) + "&passwordFile=" + pw);
        assertEquals(0, r.code(), r.err());
        assertTrue((r.out() + r.err()).contains(d.id()), r.out() + r.err());
    }

    @Test
    void aPasswordInTheUrlIsRefusedBeforeConnecting() throws Exception {
        Result r = obplay(Map.of(), "dag", "list", "--store", server.storeUrl(db) + "&password=" + "hunter2");
        assertEquals(ExitCodes.INVALID, r.code(), r.err());
        assertTrue(r.err().contains("must not hold the password"), r.err());
        assertTrue(r.err().contains("OBPLAY_STORE_PASSWORD"), r.err());
        assertFalse(r.err().contains("hunter2"), r.err());
    }

    @Test
    void aWrongPasswordIsAClearErrorWithExitCode5() throws Exception {
        Result r = obplay(Map.of("OBPLAY_STORE_PASSWORD", "wrong-password-xyz"), "dag", "list", "--store", server.storeUrl(db));
        assertEquals(ExitCodes.STORE, r.code(), r.err());
        assertTrue(r.err().contains("refused the login of user obplay"), r.err());
        assertTrue(r.err().contains("wrong password?"), r.err());
        assertFalse(r.err().contains("wrong-password-xyz"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test
    void aStoreThatIsNotThereIsAClearErrorWithExitCode5() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            closed = s.getLocalPort();
        }
        Result r = obplay(Map.of("OBPLAY_STORE_PASSWORD", "x"), "dag", "list", "--store",
                "jdbc:mysql://127.0.0.1:" + closed + "/obplay?user=obplay");
        assertEquals(ExitCodes.STORE, r.code(), r.err());
        assertTrue(r.err().contains("cannot reach the store jdbc:mysql://127.0.0.1:" + closed + "/obplay"), r.err());

        Result noDb = obplay(Map.of("OBPLAY_STORE_PASSWORD", MariaDbServer.PASSWORD), "dag", "list", "--store",
                server.storeUrl("no_such_database_here"));
        assertEquals(ExitCodes.STORE, noDb.code(), noDb.err());
        assertTrue(noDb.err().contains("the database does not exist"), noDb.err());
    }

    @Test
    void aSchemaNewerThanThisObplayIsRefusedWithExitCode5() throws Exception {
        insertOne();
        server.exec(db, "INSERT INTO schema_version (version, applied_at) VALUES (7, 'later')");
        Result r = obplay(Map.of("OBPLAY_STORE", server.storeUrl(db), "OBPLAY_STORE_PASSWORD", MariaDbServer.PASSWORD), "dag", "list");
        assertEquals(ExitCodes.STORE, r.code(), r.err());
        assertTrue(r.err().contains("has schema version 7, newer than this obplay knows (2); use a newer obplay"), r.err());
    }

    @Test
    void anUnknownStoreSchemeIsAUsageError() throws Exception {
        Result r = obplay(Map.of(), "dag", "list", "--store", "postgres://x/y");
        assertEquals(ExitCodes.INVALID, r.code(), r.err());
        assertTrue(r.err().contains("unknown store postgres://x/y"), r.err());
    }
}
