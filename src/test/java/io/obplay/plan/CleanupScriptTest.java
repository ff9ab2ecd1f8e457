package io.obplay.plan;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.Server;
import io.obplay.inventory.YamlSource;
import io.obplay.playbook.Playbook;
import io.obplay.playbook.PlaybookLoader;
import io.obplay.playbook.Step;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.obplay.plan.StepScriptsTest.assertFailedLast;
import static io.obplay.plan.StepScriptsTest.assertLine;
import static io.obplay.plan.StepScriptsTest.exec;
import static io.obplay.plan.StepScriptsTest.mkdirs;
import static io.obplay.plan.StepScriptsTest.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cleanup scripts on directories laid out as OBD lays them out: {@code <home>/store} a symlink to data_dir,
 * {@code clog} (3.x: also {@code ilog}, {@code slog}) under data_dir symlinks into redo_dir, data_dir and redo_dir
 * under root-owned {@code /data} and {@code /redo} (here {@code <tmp>/data}, {@code <tmp>/redo}, owned by root, with
 * the script run as the unprivileged user {@value #USER}). The servers come from real inventories and playbooks,
 * so the declared directories are the ones obplay derives; the scripts run with /bin/sh (dash).
 */
class CleanupScriptTest {

    static final String USER = "obplay";

    @TempDir
    Path tmp;

    Path home;
    Path data;
    Path redo;
    int[] ports;
    final List<Process> children = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        // the unprivileged user must reach the test's directories; /tmp's junit dirs are 0700
        exec(List.of("chmod", "755", tmp.toString()), null);
        home = tmp.resolve("home/admin/oceanbase");
        data = tmp.resolve("data/1");
        redo = tmp.resolve("redo/1");
        ports = freePorts();
    }

    @AfterEach
    void stopChildren() {
        for (Process p : children) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    int[] freePorts() throws IOException {
        try (ServerSocket a = new ServerSocket(0); ServerSocket b = new ServerSocket(0)) {
            return new int[] {a.getLocalPort(), b.getLocalPort()};
        }
    }

    /** The one observer of an inventory with these observer keys (YAML flow mapping entries). */
    Server server(String keys) throws Exception {
        String yaml = "cluster: c\nobserver: { home_path: '" + home + "', mysql_port: " + ports[0] + ", rpc_port: " + ports[1]
                + (keys.isEmpty() ? "" : ", " + keys) + " }\nzones:\n  z1:\n    servers:\n      - host: 127.0.0.1\n";
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", yaml));
        return inv.observers().get(0);
    }

    /** The cleanup script of {@code paths} (declared directory names) on the inventory's observer, as planned. */
    Script cleanup(Server s, String paths) throws Exception {
        Inventory inv = new Inventory("inv.yaml", "0", "c", io.obplay.inventory.TransportKind.LOCAL,
                List.of(new io.obplay.inventory.Zone("z1", List.of(s))), List.of());
        Playbook p = PlaybookLoader.load(YamlSource.of("play.yaml",
                "name: clean\ntargets: { all: true }\nsteps:\n  - cleanup: { paths: [" + paths + "] }\n"), inv);
        Step step = p.steps().get(0);
        return Planner.script(s, step);
    }

    StepScriptsTest.Result run(Script s) throws Exception {
        StepScriptsTest.Result r = exec(List.of("/bin/sh", "-c", s.runnable()), null);
        System.out.println("---- as root: exit " + r.code() + "\n" + r.out());
        return r;
    }

    StepScriptsTest.Result runAsUser(Script s) throws Exception {
        StepScriptsTest.Result r = exec(List.of("runuser", "-u", USER, "--", "/bin/sh", "-c", s.runnable()), null);
        System.out.println("---- as " + USER + ": exit " + r.code() + "\n" + r.out());
        return r;
    }

    static void chown(String owner, Path... paths) throws Exception {
        for (Path p : paths) {
            StepScriptsTest.Result r = exec(List.of("chown", "-hR", owner + ":" + owner, p.toString()), null);
            assertEquals(0, r.code(), r.out());
        }
    }

    static void link(Path link, Path target) throws IOException {
        Files.createDirectories(link.getParent());
        Files.createSymbolicLink(link, target);
    }

    static boolean exists(Path p) {
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
    }

    static boolean isEmptyDir(Path p) throws IOException {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (var s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }

    /**
     * OBD's layout for a 4.x observer whose OBD config had data_dir /data/1 and redo_dir /redo/1: home/store links
     * to data_dir, data_dir/clog to redo_dir/clog, slog is a directory of data_dir; /data and /redo are root's.
     */
    void obdLayout() throws Exception {
        write(home.resolve("log/observer.log"), 8 * 1024);
        write(home.resolve("etc/observer.config.bin"), 100);
        mkdirs(home.resolve("run"));
        write(data.resolve("sstable/block_file"), 200 * 1024);
        write(data.resolve("slog/1"), 4 * 1024);
        write(redo.resolve("clog/tenant_1/1"), 64 * 1024);
        link(home.resolve("store"), data);
        link(data.resolve("clog"), redo.resolve("clog"));
        chown(USER, tmp.resolve("home"), data, redo);  // data/ and redo/ themselves stay root's
    }

    // ---------------------------------------------------------------------------------------------------------

    @Test
    void dataDirLeftAtItsDefaultHomeStoreDeletesTheRealDataAndThePlanSaysSo() throws Exception {
        obdLayout();
        Server s = server("");  // data_dir, redo_dir default to home/store, clog_dir to home/store/clog
        assertEquals(home + "/store", s.dirs().get("data_dir"));
        assertEquals(home + "/store/slog", s.dirs().get("slog_dir"));
        Script script = cleanup(s, "home, data_dir, redo_dir, clog_dir, slog_dir");

        // deepest first, and each line says a declared directory's symlink is followed
        assertEquals(List.of(home + "/store/clog", home + "/store/slog", home + "/store", home.toString()),
                script.paths().stream().map(w -> w.substring(0, w.indexOf("  ("))).toList());
        assertTrue(script.paths().get(2).startsWith(home + "/store  (store, data_dir, redo_dir: removed; a symlink: the directory "
                + "it names, then the link; links inside: as links;"), script.paths().get(2));

        StepScriptsTest.Result r = run(script);

        assertEquals(0, r.code(), r.out());
        assertFalse(exists(home), "the home stays");
        assertFalse(exists(data), "data_dir (the target of home/store) stays: only the link went");
        assertFalse(exists(redo.resolve("clog")), "the clog (the target of data_dir/clog) stays");
        assertTrue(Files.isDirectory(redo), "redo_dir's parent of clog is not a declared directory here: it stays");
        assertLine(r, "obplay: removed " + redo + "/clog (");
        assertLine(r, ", the directory that the symlink " + home + "/store/clog names), then the symlink");
        assertLine(r, "obplay: removed " + data + " (");
        assertLine(r, "obplay: cleanup of 127.0.0.1:2886 done");
    }

    @Test
    void rootOwnedParentsAreEmptiedAndKeptAndEveryDirIsCleaned() throws Exception {
        obdLayout();
        Path precious = tmp.resolve("precious/keep.dat");
        write(precious, 100);
        link(data.resolve("sstable/outside"), precious.getParent());  // a link inside is never followed out
        Server s = server("data_dir: '" + data + "', redo_dir: '" + redo + "'");
        assertEquals(redo + "/clog", s.dirs().get("clog_dir"));
        assertEquals(data + "/slog", s.dirs().get("slog_dir"));  // OceanBase 4.x: slog with the data
        Script script = cleanup(s, "data_dir, redo_dir");

        StepScriptsTest.Result r = runAsUser(script);

        assertEquals(0, r.code(), r.out());
        assertTrue(isEmptyDir(data), "data_dir is emptied and kept");
        assertTrue(isEmptyDir(redo), "redo_dir is emptied and kept");
        assertTrue(Files.exists(precious), "a symlink's target outside was deleted");
        assertLine(r, "obplay: emptied " + data + " (");
        assertLine(r, "and kept it: its parent does not let it go (Permission denied)");
        assertLine(r, "obplay: emptied " + redo + " (");

        // a second run finds nothing to do, and says so
        StepScriptsTest.Result again = runAsUser(script);
        assertEquals(0, again.code(), again.out());
        assertLine(again, "obplay: cleanup of 127.0.0.1:2886 done");
    }

    @Test
    void aDeclaredDataDirThatIsItselfASymlinkLosesTheDirectoryItNamesThenTheLink() throws Exception {
        Path disk = tmp.resolve("disk1/ob-data");
        write(disk.resolve("sstable/block_file"), 32 * 1024);
        Path declared = tmp.resolve("srv/data");
        link(declared, disk);
        write(home.resolve("log/observer.log"), 100);
        Server s = server("data_dir: '" + declared + "'");
        Script script = cleanup(s, "data_dir");

        StepScriptsTest.Result r = run(script);

        assertEquals(0, r.code(), r.out());
        assertFalse(exists(disk), "the directory data_dir names stays");
        assertFalse(exists(declared), "the link stays");
        assertTrue(Files.isDirectory(tmp.resolve("disk1")));
        assertTrue(Files.exists(home.resolve("log/observer.log")));
        assertLine(r, "obplay: removed " + disk + " (");
        assertLine(r, "the directory that the symlink " + declared + " names), then the symlink");
    }

    @Test
    void aSymlinkedDataDirInARootOwnedDirectoryKeepsItsLinkAndTheEmptiedDirectory() throws Exception {
        Path disk = tmp.resolve("disk1/ob-data");
        write(disk.resolve("sstable/block_file"), 32 * 1024);
        Path declared = tmp.resolve("data/1");  // /data is root's: the link cannot go, so its directory stays too
        link(declared, disk);
        mkdirs(home);
        chown(USER, tmp.resolve("disk1"), home);
        Server s = server("data_dir: '" + declared + "'");
        Script script = cleanup(s, "data_dir");

        StepScriptsTest.Result r = runAsUser(script);

        assertEquals(0, r.code(), r.out());
        assertTrue(Files.isSymbolicLink(declared));
        assertTrue(isEmptyDir(disk));
        assertLine(r, "and kept it, with the symlink: the symlink's directory is not writable");
        assertEquals(0, runAsUser(script).code(), "a second run is done too");
    }

    @Test
    void oneDirFailsTheOthersAreCleanedAndASecondRunFinishes() throws Exception {
        obdLayout();
        // something the admin user cannot delete, in data_dir: its cleanup fails, redo_dir's and log's go on
        Path stuck = data.resolve("sstable/root-owned");
        write(stuck.resolve("block"), 1024);
        chown("root", stuck);
        Server s = server("data_dir: '" + data + "', redo_dir: '" + redo + "'");
        Script script = cleanup(s, "log, data_dir, redo_dir");

        StepScriptsTest.Result r = runAsUser(script);

        assertFailedLast(r, 1, "cleanup of 127.0.0.1:2886: 1 of 3 path(s) not done: " + data
                + "; run it again once the cause above is fixed");
        assertLine(r, "obplay: could not empty " + data + ": rm: cannot remove '" + stuck + "/block': Permission denied");
        assertTrue(isEmptyDir(redo), "redo_dir was not cleaned after data_dir failed");
        assertFalse(exists(home.resolve("log")), "log was not cleaned after data_dir failed");
        assertTrue(Files.exists(stuck.resolve("block")));
        assertFalse(exists(data.resolve("slog")), "data_dir was not emptied as far as it could be");

        chown(USER, stuck);  // the operator fixes the cause
        StepScriptsTest.Result second = runAsUser(script);
        assertEquals(0, second.code(), second.out());
        assertTrue(isEmptyDir(data));
        assertLine(second, "obplay: absent: " + home + "/log");
        assertLine(second, "obplay: cleanup of 127.0.0.1:2886 done");
    }

    @Test
    void aFailureKeepsTheSymlinksThatLeadToItSoThatASecondRunFindsIt() throws Exception {
        obdLayout();
        // the inventory knows only the home: the way to the clog is home/store -> data/1, data/1/clog -> redo/1/clog
        Path stuck = redo.resolve("clog/root-owned");
        write(stuck.resolve("1"), 1024);
        chown("root", stuck);
        Server s = server("");
        Script script = cleanup(s, "home, data_dir, clog_dir, slog_dir");

        StepScriptsTest.Result r = runAsUser(script);

        assertEquals(1, r.code(), r.out());
        assertLine(r, "obplay: could not empty " + redo + "/clog: rm: cannot remove");
        assertLine(r, "obplay: kept " + home + "/store for a second run: it holds the symlink " + data
                + "/clog on the way to " + home + "/store/clog, which was not cleaned");
        assertLine(r, "obplay: kept " + home + " for a second run: it holds the symlink " + home + "/store on the way to "
                + home + "/store/clog, which was not cleaned");
        assertFalse(exists(data.resolve("slog")), "slog_dir, a sibling, was not cleaned");
        assertTrue(Files.isSymbolicLink(home.resolve("store")));
        assertTrue(Files.isSymbolicLink(data.resolve("clog")));

        chown(USER, stuck);
        StepScriptsTest.Result second = runAsUser(script);

        assertEquals(0, second.code(), second.out());
        assertFalse(exists(redo.resolve("clog")), "the second run did not find the clog");
        assertFalse(exists(home));
        assertTrue(isEmptyDir(data), "data_dir, under root's /data, is emptied and kept");
    }

    @Test
    void obd3xLayoutWithClogIlogSlogLinkedIntoTheRedoDir() throws Exception {
        // OceanBase 3.x as OBD lays it out: data_dir/{clog,ilog,slog} are links into redo_dir; the inventory
        // declares the redo dir and leaves data_dir at home/store (a link to /data/1)
        write(home.resolve("log/observer.log"), 1024);
        write(data.resolve("sstable/block_file"), 64 * 1024);
        for (String d : List.of("clog", "ilog", "slog")) {
            write(redo.resolve(d + "/1"), 16 * 1024);
            link(data.resolve(d), redo.resolve(d));
        }
        link(home.resolve("store"), data);
        chown(USER, tmp.resolve("home"), data, redo);
        Server s = server("version: 3, redo_dir: '" + redo + "'");
        assertEquals(redo + "/ilog", s.dirs().get("ilog_dir"));
        assertEquals(redo + "/slog", s.dirs().get("slog_dir"));
        Script script = cleanup(s, "home, data_dir, redo_dir, clog_dir, ilog_dir, slog_dir");

        StepScriptsTest.Result r = runAsUser(script);

        assertEquals(0, r.code(), r.out());
        assertFalse(exists(home));
        assertTrue(isEmptyDir(data), "data_dir, under root's /data, is emptied and kept");
        assertTrue(isEmptyDir(redo), "redo_dir, under root's /redo, is emptied and kept");
        for (String d : List.of("clog", "ilog", "slog")) {
            assertLine(r, "obplay: removed " + redo + "/" + d + " (");
        }
        assertEquals(0, runAsUser(script).code(), "a second run is done too");
    }

    @Test
    void aDanglingDeclaredSymlinkGoesWhenWhatItNamedIsGone() throws Exception {
        Path declared = tmp.resolve("srv/data");
        link(declared, tmp.resolve("disk1/gone"));
        mkdirs(tmp.resolve("disk1"));
        mkdirs(home);
        Server s = server("data_dir: '" + declared + "'");

        StepScriptsTest.Result r = run(cleanup(s, "data_dir"));

        assertEquals(0, r.code(), r.out());
        assertFalse(exists(declared));
        assertLine(r, "obplay: removed the symlink " + declared + ": the directory it named, " + tmp + "/disk1/gone, is gone");
    }

    @Test
    void aDeclaredDirThatLinksToRootASystemDirOrAboveTheHomeIsRefused() throws Exception {
        mkdirs(home.resolve("log"));
        write(home.resolve("log/observer.log"), 100);
        for (Path target : List.of(Path.of("/"), Path.of("/etc"), tmp.resolve("home/admin"))) {
            Path declared = tmp.resolve("srv/data");
            Files.deleteIfExists(declared);
            link(declared, target);
            Server s = server("data_dir: '" + declared + "'");
            StepScriptsTest.Result r = run(cleanup(s, "log, data_dir"));
            assertEquals(3, r.code(), r.out());
            String last = r.out().strip().substring(r.out().strip().lastIndexOf('\n') + 1);
            assertTrue(last.startsWith("obplay: FAILED: refusing to delete " + declared + ": it is"), last);
            assertTrue(Files.exists(home.resolve("log/observer.log")), "deleted before every path was checked");
        }
        assertTrue(Files.isDirectory(Path.of("/etc")));
    }

    @Test
    void refusesWhileTheServerRunsUnderTheHomeAsTheUnprivilegedUser() throws Exception {
        obdLayout();
        Server s = server("");
        Script script = cleanup(s, "data_dir");
        // a real process of the server: its cwd in the home, run by the admin user
        ProcessBuilder pb = new ProcessBuilder("runuser", "-u", USER, "--", "sleep", "60").directory(home.toFile());
        Process p = pb.start();
        children.add(p);
        long pid = -1;
        for (int i = 0; i < 100 && pid < 0; i++) {
            pid = p.descendants().filter(h -> h.info().command().orElse("").endsWith("sleep")).mapToLong(ProcessHandle::pid)
                    .findFirst().orElse(-1);
            Thread.sleep(20);
        }

        StepScriptsTest.Result r = runAsUser(script);

        assertFailedLast(r, 3, "refusing to delete anything while 127.0.0.1:2886 runs: pid(s) [");
        assertTrue(pid < 0 || r.out().contains(Long.toString(pid)), r.out());
        assertTrue(Files.exists(data.resolve("sstable/block_file")));
    }

    @Test
    void scriptsOfTheseLayoutsAreShellcheckClean() throws Exception {
        Server s = server("version: 3, data_dir: '" + data + "', redo_dir: '" + redo + "'");
        Script script = cleanup(s, "home, data_dir, redo_dir, clog_dir, slog_dir, ilog_dir");
        Path f = tmp.resolve("cleanup.sh");
        Files.writeString(f, script.runnable());
        StepScriptsTest.Result r = exec(List.of("shellcheck", "-s", "sh", f.toString()), null);
        assertEquals(0, r.code(), r.out());
        StepScriptsTest.Result n = exec(List.of("dash", "-n", f.toString()), null);
        assertEquals(0, n.code(), n.out());
    }
}
