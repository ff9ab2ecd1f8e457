package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.logging.Level;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The DAG page in a real browser: Debian's headless Chromium driven by its chromedriver through Selenium (never
 * Selenium Manager: nothing is downloaded), against {@code obplay serve} on a real socket whose stops really stop
 * stand-in observers ({@code transport: local}). The browser logs in as a user does, with HTTP Basic (the
 * credentials in the first URL; Chromium then sends them with every request under {@code /}).
 *
 * <p>With {@code OBPLAY_SCREENSHOTS=DIR} set, the tests also write the README's screenshots there
 * ({@code dag-list.png}, {@code dag-running.png}, {@code dag-succeed.png}, {@code dag-failed.png}).
 */
@Timeout(240)
class DagPageBrowserTest {
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Duration DONE = Duration.ofSeconds(90);

    static ChromeDriver driver;
    static ChromeDriverService service;
    static Path profile;

    @TempDir
    Path tmp;
    final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeAll
    static void browser() throws Exception {
        if (!Files.isExecutable(CHROMEDRIVER) || !Files.isExecutable(CHROMIUM)) {
            fail(CHROMIUM + " and " + CHROMEDRIVER + " are needed (Debian's chromium and chromium-driver): run .ci/setup.sh as root");
        }
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        profile = Files.createTempDirectory("obplay-chromium-");
        service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        driver = new ChromeDriver(service, options(profile));
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
    }

    static ChromeOptions options(Path userDataDir) {
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,860",
                "--user-data-dir=" + userDataDir, "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--lang=en-US");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        o.setCapability("goog:loggingPrefs", logs);
        return o;
    }

    @AfterAll
    static void closeBrowser() throws Exception {
        if (driver != null) {
            driver.quit();
        }
        if (service != null) {
            service.stop();
        }
        if (profile != null) {
            try (java.util.stream.Stream<Path> all = Files.walk(profile)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    @BeforeEach
    void freshConsole() {
        driver.manage().logs().get(LogType.BROWSER); // what an earlier test left is not this test's
    }

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    ShimHarness start(ShimFleet fleet) throws Exception {
        toClose.add(fleet);
        ShimHarness h = ShimHarness.start(fleet.inventory(), tmp.resolve("state"), false, Duration.ofSeconds(5));
        toClose.add(h);
        return h;
    }

    static String base(ShimHarness shim) {
        return "http://127.0.0.1:" + shim.port();
    }

    /** Logs in as a browser user does: the credentials in the first URL, at {@code /}, so they cover every path. */
    static void login(ShimHarness shim, String user, String password) {
        driver.get("http://" + user + ":" + password + "@127.0.0.1:" + shim.port() + "/");
    }

    static List<LogEntry> consoleErrors() {
        List<LogEntry> bad = new ArrayList<>();
        for (LogEntry e : driver.manage().logs().get(LogType.BROWSER)) {
            if (e.getLevel().intValue() >= Level.WARNING.intValue()) {
                bad.add(e);
            }
        }
        return bad;
    }

    /** Marks the loaded document: the mark survives live updates and is gone after a reload or a navigation. */
    static void mark() {
        ((JavascriptExecutor) driver).executeScript("window.__obplayMark = 'not reloaded';");
    }

    static boolean marked() {
        return "not reloaded".equals(((JavascriptExecutor) driver).executeScript("return window.__obplayMark || null;"));
    }

    static String text(By by) {
        try {
            return driver.findElement(by).getText();
        } catch (NoSuchElementException | StaleElementReferenceException e) {
            return "";
        }
    }

    static void await(String what, Supplier<Boolean> until, Duration timeout) {
        await(driver, what, until, timeout);
    }

    static void await(WebDriver browser, String what, Supplier<Boolean> until, Duration timeout) {
        if (!TestHosts.await(() -> {
            try {
                return until.get();
            } catch (StaleElementReferenceException | NoSuchElementException e) {
                return false; // replaced by a live update meanwhile
            }
        }, timeout)) {
            fail(what + " did not happen within " + timeout + "; the page:\n" + browser.getPageSource());
        }
    }

    /** Clicks what may be replaced by a live update between finding and clicking it. */
    static void click(By by) {
        for (int i = 0; ; i++) {
            try {
                driver.findElement(by).click();
                return;
            } catch (StaleElementReferenceException e) {
                if (i == 10) {
                    throw e;
                }
            }
        }
    }

    static void screenshot(String name) throws Exception {
        String dir = System.getenv("OBPLAY_SCREENSHOTS");
        if (dir == null || dir.isBlank()) {
            return;
        }
        Path d = Path.of(dir);
        Files.createDirectories(d);
        Files.write(d.resolve(name), driver.getScreenshotAs(OutputType.BYTES));
    }

    static String id(ObshellTestClient.Response r) {
        ShimHarness.assertEnvelope(r, 200, false);
        return r.data().get("id").asText();
    }

    static long dagId(ObshellTestClient.Response r) {
        return r.data().get("dag_id").asLong();
    }

    @Test
    void aStopStartedThroughTheApiAppearsAndAdvancesLiveToSucceedWithoutAReload() throws Exception {
        Map<String, Integer> zones = new LinkedHashMap<>();
        zones.put("zone1", 2);
        zones.put("zone2", 2);
        zones.put("zone3", 2);
        ShimFleet fleet = new ShimFleet(tmp.resolve("fleet"), "livetest", zones, Map.of());
        List<Long> pids = new ArrayList<>();
        for (ShimFleet.Observer o : fleet.observers) {
            pids.add(fleet.start(o, "--term-delay", "3")); // a stop long enough to be seen on its way
        }
        ShimHarness shim = start(fleet);

        login(shim, ShimHarness.OCP_USER, ShimHarness.OCP_PW);
        assertEquals("DAGs · obplay serve", driver.getTitle());
        assertTrue(text(By.id("live")).contains("No DAG yet"), driver.getPageSource());
        mark();

        ObshellTestClient.Response created = shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"GLOBAL\"}, \"terminate\": true}");
        String id = id(created);
        long dagId = dagId(created);

        // the list shows it by itself, no reload
        await("the new DAG in the list", () -> text(By.id("live")).contains(id), Duration.ofSeconds(15));
        assertTrue(marked(), "the list was updated in place, not reloaded");
        WebElement row = driver.findElement(By.cssSelector("a.dag[href='/ui/dags/" + dagId + "']"));
        assertEquals(id, row.getText());
        assertTrue(text(By.id("live")).contains("obplay serve: POST /api/v1/ob/stop"), "who started it: " + text(By.id("live")));

        // one DAG: it advances to SUCCEED on its own
        click(By.cssSelector("a.dag[href='/ui/dags/" + dagId + "']"));
        await("the DAG page", () -> driver.getTitle().contains("DAG " + id), Duration.ofSeconds(10));
        mark();
        Set<String> seen = new LinkedHashSet<>();
        await("SUCCEED", () -> {
            String s = text(By.id("dag-state-word"));
            if (!s.isEmpty()) {
                String stage = text(By.id("dag-stage"));
                if (seen.add(s + " " + stage) && s.equals("RUNNING") && stage.startsWith("2/")) {
                    try {
                        screenshot("dag-running.png");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
            return s.equals("SUCCEED");
        }, DONE);
        assertTrue(marked(), "the DAG page was updated in place, not reloaded");
        assertTrue(seen.size() >= 2, "states seen on the way, live: " + seen);
        assertTrue(seen.stream().anyMatch(s -> !s.startsWith("SUCCEED")), "it was seen before it ended: " + seen);

        // the grid: 2 stages left to right, 6 servers top to bottom, every cell SUCCEED (by word, not only colour)
        // read in one script, so that no live update comes in between
        @SuppressWarnings("unchecked")
        Map<String, List<String>> grid = (Map<String, List<String>>) ((JavascriptExecutor) driver).executeScript(
                "const all = (q, f) => Array.from(document.querySelectorAll(q)).map(f);"
                        + "return {stages: all('table.grid thead th.stage .stage-name', e => e.textContent),"
                        + " servers: all('table.grid tbody th.server', e => e.textContent),"
                        + " states: all('table.grid td.cell .state', e => e.textContent),"
                        + " classes: all('table.grid td.cell', e => e.className)};");
        assertEquals(List.of("Check observer status", "Stop observer"), grid.get("stages"));
        assertEquals(fleet.observers.stream().map(ShimFleet.Observer::address).toList(), grid.get("servers"));
        assertEquals(12, grid.get("states").size(), grid.toString());
        for (int i = 0; i < 12; i++) {
            assertEquals("SUCCEED", grid.get("states").get(i), "state by word: " + grid);
            assertTrue(grid.get("classes").get(i).contains("s-SUCCEED"), "and by colour: " + grid);
        }
        for (long pid : pids) {
            assertFalse(ShimFleet.alive(pid), "observer pid " + pid + " is stopped");
        }
        assertTrue(driver.findElements(By.cssSelector(".ops a.op")).isEmpty(), "no operator on a SUCCEEDed DAG");
        screenshot("dag-succeed.png");

        // keyboard: the first cell is a link that opens that sub-task's logs in a dialog
        for (int i = 0; ; i++) {
            try {
                driver.findElement(By.cssSelector("table.grid td.cell a.sub")).sendKeys(org.openqa.selenium.Keys.ENTER);
                break;
            } catch (StaleElementReferenceException e) {
                if (i == 10) {
                    throw e;
                }
            }
        }
        await("the logs dialog", () -> driver.findElement(By.id("logs")).isDisplayed() && !text(By.id("log")).isEmpty(), Duration.ofSeconds(10));
        assertTrue(text(By.id("log")).contains("runs (observer"), text(By.id("log")));
        driver.findElement(By.id("logs-close")).click();

        // a second stop: the list shows the newest first
        ObshellTestClient.Response second = shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone2\"]}, \"force\": true}");
        String secondId = id(second);
        shim.awaitDag(secondId, d -> d.get("state").asText().equals("SUCCEED") || d.get("state").asText().equals("FAILED"), DONE);
        driver.get(base(shim) + "/ui");
        await("the list", () -> text(By.id("live")).contains(id) && text(By.id("live")).contains(secondId), Duration.ofSeconds(10));
        assertEquals(List.of(secondId, id), ((List<?>) ((JavascriptExecutor) driver).executeScript(
                "return Array.from(document.querySelectorAll('a.dag')).map(a => a.textContent);")));
        screenshot("dag-list.png");
        List<LogEntry> errors = consoleErrors();
        assertTrue(errors.isEmpty(), "no console error or warning: " + errors);
    }

    @Test
    void aFailedSubTaskShowsItsLastLogLineAndRetryFromThePageFinishesTheDag() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        ShimFleet.Observer z1 = fleet.observers.get(0);
        fleet.start(fleet.observers.get(1));
        fleet.start(fleet.observers.get(2));
        // a stale pid file and a foreign process on zone1's port: obplay refuses to call it stopped
        Files.createDirectories(z1.pidFile().getParent());
        Files.writeString(z1.pidFile(), "999999\n");
        ShimHarness shim = start(fleet);
        login(shim, ShimHarness.OCP_USER, ShimHarness.OCP_PW);

        String id;
        long dagId;
        JsonNode failedTask;
        try (ServerSocket foreign = new ServerSocket()) {
            foreign.bind(new InetSocketAddress(ShimFleet.HOST, z1.mysqlPort()));
            ObshellTestClient.Response created = shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true}");
            id = id(created);
            dagId = dagId(created);
            JsonNode failed = shim.awaitState(id, "FAILED", DONE);
            failedTask = null;
            for (JsonNode n : failed.get("nodes")) {
                for (JsonNode t : n.get("sub_tasks")) {
                    if (t.get("state").asText().equals("FAILED")) {
                        failedTask = t;
                    }
                }
            }
            assertNotNull(failedTask, failed.toString());
        }
        JsonNode logs = failedTask.get("task_logs");
        String lastLine = logs.get(logs.size() - 1).asText();

        driver.get(base(shim) + "/ui/dags/" + dagId);
        assertEquals("FAILED", text(By.id("dag-state-word")));
        WebElement cell = driver.findElement(By.cssSelector("a.sub#t" + failedTask.get("task_id").asLong()));
        assertTrue(cell.getText().startsWith("FAILED"), cell.getText());
        assertEquals(lastLine, cell.findElement(By.className("last")).getText(), "the cell shows its log's last line");
        assertTrue(lastLine.contains(String.valueOf(z1.mysqlPort())), lastLine);
        screenshot("dag-failed.png");

        // RETRY: a confirmation that says what will happen, then the form POST; the page follows it live to SUCCEED
        click(By.id("op-RETRY"));
        await("the confirmation", () -> driver.getTitle().startsWith("RETRY DAG " + id), Duration.ofSeconds(10));
        String confirmation = text(By.tagName("main"));
        assertTrue(confirmation.contains("RETRY runs again, stage after stage, the 1 sub-task that failed or never ran, on 1 host"), confirmation);
        assertTrue(confirmation.contains(z1.address() + " (FAILED)"), confirmation);
        assertEquals("FAILED", shim.client.get("/api/v1/task/dag/" + id).data().get("state").asText(), "nothing happens before yes");
        driver.findElement(By.id("confirm")).click();
        await("back on the DAG page", () -> driver.getTitle().contains("DAG " + id) && !driver.getTitle().startsWith("RETRY"), Duration.ofSeconds(10));
        assertTrue(text(By.cssSelector("p.notice")).contains("RETRY was applied"), driver.getPageSource());
        mark();
        await("SUCCEED after the RETRY", () -> text(By.id("dag-state-word")).equals("SUCCEED"), DONE);
        assertTrue(marked(), "followed live, not reloaded");

        JsonNode done = shim.awaitState(id, "SUCCEED", Duration.ofSeconds(5));
        JsonNode kill = null;
        for (JsonNode t : done.get("nodes").get(1).get("sub_tasks")) {
            if (t.get("task_id").asLong() == failedTask.get("task_id").asLong()) {
                kill = t;
            }
        }
        assertNotNull(kill);
        assertEquals(2, kill.get("execute_times").asInt(), "the failed sub-task ran again");
        assertTrue(shim.log().contains("DAG " + dagId + " RETRY"), "the same operator as the API's: " + shim.log());
        List<LogEntry> errors = consoleErrors();
        assertTrue(errors.isEmpty(), "no console error or warning: " + errors);
    }

    @Test
    void withoutJavaScriptTheListTheGridTheLogsAndAnOperatorStillWork() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        ShimHarness shim = ShimHarness.start(fleet.inventory(), tmp.resolve("state"), true); // dry run: the DAG stays READY
        toClose.add(shim);
        ObshellTestClient.Response created = shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true}");
        String id = id(created);
        long dagId = dagId(created);

        ChromeOptions o = options(tmp.resolve("nojs-profile"));
        o.setExperimentalOption("prefs", Map.of("profile.managed_default_content_settings.javascript", 2));
        // its own driver process: quitting a driver stops its service
        ChromeDriver nojs = new ChromeDriver(new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build(), o);
        try {
            nojs.get("http://" + ShimHarness.OCP_USER + ":" + ShimHarness.OCP_PW + "@127.0.0.1:" + shim.port() + "/");
            assertTrue(nojs.findElement(By.id("live")).getText().contains(id), nojs.getPageSource());
            Thread.sleep(2500);
            assertEquals("", nojs.findElement(By.id("live-status")).getText(), "page.js did not run (it says 'live' after its first update)");
            nojs.findElement(By.cssSelector("a.dag[href='/ui/dags/" + dagId + "']")).click();
            await(nojs, "the DAG page", () -> nojs.getCurrentUrl().endsWith("/ui/dags/" + dagId), Duration.ofSeconds(10));
            assertEquals("READY", nojs.findElement(By.id("dag-state-word")).getText());
            List<WebElement> cells = nojs.findElements(By.cssSelector("table.grid td.cell a.sub"));
            assertEquals(6, cells.size(), nojs.getPageSource());
            // a cell is a plain link to its sub-task's page
            String href = cells.get(3).getAttribute("href");
            cells.get(3).click();
            await(nojs, "the sub-task's page", () -> nojs.getCurrentUrl().equals(href), Duration.ofSeconds(10));
            assertTrue(nojs.findElement(By.id("logs-title")).getText().contains("stage 2/2 Stop observer"), nojs.getPageSource());
            nojs.navigate().back();
            await(nojs, "back on the DAG page", () -> nojs.getCurrentUrl().endsWith("/ui/dags/" + dagId), Duration.ofSeconds(10));
            // CANCEL through the confirmation page's form
            nojs.findElement(By.id("op-CANCEL")).click();
            // a click returns once the browser has taken it, not once the next page is there: wait for that page
            await(nojs, "the CANCEL confirmation", () -> nojs.getTitle().startsWith("CANCEL DAG " + id), Duration.ofSeconds(10));
            assertTrue(nojs.findElement(By.tagName("main")).getText().contains("CANCEL records the DAG FAILED with operator CANCEL at once"));
            nojs.findElement(By.id("confirm")).click();
            await(nojs, "the DAG page after the POST", () -> nojs.getCurrentUrl().contains("done=CANCEL")
                    && !nojs.findElements(By.cssSelector("p.notice")).isEmpty(), Duration.ofSeconds(10));
            assertTrue(nojs.findElement(By.cssSelector("p.notice")).getText().contains("CANCEL was applied to DAG " + id));
            assertEquals("FAILED", nojs.findElement(By.id("dag-state-word")).getText());
            assertTrue(nojs.findElement(By.id("dag-state")).getText().equals("FAILED (CANCEL)"));
            assertEquals("CANCEL", shim.client.get("/api/v1/task/dag/" + id).data().get("operator").asText());
        } finally {
            nojs.quit();
        }
    }

    @Test
    void aWrongPasswordGetsNoPage() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        ShimHarness shim = start(fleet);
        ObshellTestClient.Response created = shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone1\"]}, \"force\": true}");
        String id = id(created);

        login(shim, ShimHarness.OCP_USER, "not-the-password");
        String source = driver.getPageSource();
        assertTrue(driver.findElements(By.id("live")).isEmpty(), "no page: " + source);
        assertFalse(source.contains(id), "nothing of the DAGs: " + source);
        assertFalse(source.contains("page.js") || source.contains("dag.css"), source);

        // nor another page or a sub-resource
        for (String path : List.of("/ui/dags/" + dagId(created), "/ui/static/page.js")) {
            ObshellTestClient.Response r = shim.ocp("GET", path, null, ShimHarness.OCP_USER, "not-the-password");
            assertEquals(401, r.status(), r::toString);
            assertFalse(r.body().contains(id), r.body());
        }
    }
}
