package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The DAG page without a browser: real HTTP requests to {@code obplay serve} (dry run: DAGs are made and stay
 * READY, no host is touched) for what works without JavaScript (the list, a DAG's grid, a sub-task's logs, whole
 * server-rendered HTML), the authentication (HTTP Basic, as OCP's endpoints; nothing without it), and the form POST
 * of the operators: only with the confirmation's token and from the server's own origin, then on the API's code path
 * with the API's refusals.
 */
@Timeout(120)
class DagPageHttpTest {
    @TempDir
    Path tmp;
    final List<AutoCloseable> toClose = new ArrayList<>();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    ShimHarness shim() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        ShimHarness h = ShimHarness.start(fleet.inventory(), tmp.resolve("state"), true);
        toClose.add(h);
        return h;
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    HttpResponse<String> send(ShimHarness shim, String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + shim.port() + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    HttpResponse<String> get(ShimHarness shim, String path) throws Exception {
        return send(shim, "GET", path, null, "Authorization", basic(ShimHarness.OCP_USER, ShimHarness.OCP_PW));
    }

    String origin(ShimHarness shim) {
        return "http://127.0.0.1:" + shim.port();
    }

    HttpResponse<String> post(ShimHarness shim, String path, String form, String... more) throws Exception {
        List<String> h = new ArrayList<>(List.of("Authorization", basic(ShimHarness.OCP_USER, ShimHarness.OCP_PW),
                "Content-Type", "application/x-www-form-urlencoded"));
        h.addAll(List.of(more));
        return send(shim, "POST", path, form, h.toArray(new String[0]));
    }

    static JsonNode create(ShimHarness shim) {
        ObshellTestClient.Response r = shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true}");
        ShimHarness.assertEnvelope(r, 200, false);
        return r.data();
    }

    static void assertHtml(HttpResponse<String> r, int status) {
        assertEquals(status, r.statusCode(), r::body);
        assertEquals("text/html; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
        assertTrue(r.headers().firstValue("Content-Security-Policy").orElse("").contains("script-src 'self'"), r.headers().toString());
        assertTrue(r.headers().firstValue("Content-Security-Policy").orElse("").contains("frame-ancestors 'none'"));
        assertEquals("DENY", r.headers().firstValue("X-Frame-Options").orElse(""));
        assertEquals("no-store", r.headers().firstValue("Cache-Control").orElse(""));
    }

    static String token(String confirmPage) {
        Matcher m = Pattern.compile("name=\"token\" value=\"([^\"]+)\"").matcher(confirmPage);
        assertTrue(m.find(), confirmPage);
        return m.group(1);
    }

    @Test
    void withoutTheOcpPasswordThereIsNoPage() throws Exception {
        ShimHarness shim = shim();
        JsonNode dag = create(shim);
        String dagPath = "/ui/dags/" + dag.get("dag_id").asLong();
        List<String[]> tries = new ArrayList<>();
        for (String path : List.of("/", "/ui", dagPath, dagPath + "?fragment=1", "/ui/static/page.js", "/ui/static/dag.css")) {
            tries.add(new String[] {"GET", path});
        }
        // the failure limiter lets 5 failed logins from one client through at once: 4 here
        tries.add(new String[] {"GET", "/", "Authorization", basic(ShimHarness.OCP_USER, "wrong")});
        tries.add(new String[] {"GET", dagPath, "Authorization", basic(ShimHarness.OCP_USER, "wrong")});
        tries.add(new String[] {"GET", "/ui", "Authorization", basic("someone", ShimHarness.OCP_PW)});
        tries.add(new String[] {"POST", dagPath + "/operate", "Authorization", basic(ShimHarness.OCP_USER, "wrong"),
                "Origin", origin(shim)});
        for (String[] t : tries) {
            String[] headers = java.util.Arrays.copyOfRange(t, 2, t.length);
            HttpResponse<String> r = send(shim, t[0], t[1], t[0].equals("POST") ? "operator=CANCEL" : null, headers);
            String what = String.join(" ", t);
            assertEquals(401, r.statusCode(), what + ": " + r.body());
            assertEquals("Basic realm=\"obplay\", charset=\"UTF-8\"", r.headers().firstValue("WWW-Authenticate").orElse(""),
                    "a browser asks for the user and password: " + what);
            assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""), "no page: " + r.body());
            assertTrue(r.body().contains("Common.Unauthorized"), r.body());
            assertFalse(r.body().contains(dag.get("id").asText()) || r.body().contains("<"), r.body());
        }
        assertEquals("READY", shim.client.get("/api/v1/task/dag/" + dag.get("id").asText()).data().get("state").asText());
    }

    @Test
    void theListADagAndItsLogsAreWholeHtmlWithoutJavaScript() throws Exception {
        ShimHarness shim = shim();
        JsonNode dag = create(shim);
        long dagId = dag.get("dag_id").asLong();

        for (String path : List.of("/", "/ui", "/ui/")) {
            HttpResponse<String> list = get(shim, path);
            assertHtml(list, 200);
            String b = list.body();
            assertTrue(b.startsWith("<!DOCTYPE html>"), b);
            assertTrue(b.contains("<a class=\"dag\" href=\"/ui/dags/" + dagId + "\">" + dag.get("id").asText() + "</a>"), b);
            assertTrue(b.contains("<td>Stop OB</td><td><span class=\"state\">READY</span></td><td>RUN</td><td>1/2</td>"), b);
            assertTrue(b.contains("obplay serve: POST /api/v1/ob/stop"), "who started it: " + b);
            assertTrue(b.contains("<script src=\"/ui/static/page.js\" defer></script>"), b);
            assertFalse(b.contains(ShimHarness.OCP_PW) || b.contains(ShimHarness.ROOT_PW) || b.contains(ShimHarness.AGENT_PW), "no secret in the page");
        }

        HttpResponse<String> page = get(shim, "/ui/dags/" + dagId);
        assertHtml(page, 200);
        String b = page.body();
        assertTrue(b.contains("<span id=\"dag-state-word\">READY</span>, operator RUN, stage <span id=\"dag-stage\">1/2</span>"), b);
        assertTrue(b.contains("<span class=\"stage-name\">Check observer status</span>") && b.contains("<span class=\"stage-name\">Stop observer</span>"), b);
        assertTrue(b.indexOf("Check observer status") < b.indexOf("Stop observer"), "stages left to right in order");
        JsonNode full = shim.client.get("/api/v1/task/dag/" + dag.get("id").asText()).data();
        int cells = 0;
        for (JsonNode n : full.get("nodes")) {
            for (JsonNode t : n.get("sub_tasks")) {
                String server = t.get("additional_data").get("server").asText();
                assertTrue(b.contains("<th scope=\"row\" class=\"server\">" + server + "</th>"), server + " has a row: " + b);
                assertTrue(b.contains("<a class=\"sub\" id=\"t" + t.get("task_id").asLong() + "\" href=\"/ui/sub_tasks/" + t.get("task_id").asLong()
                        + "\" aria-label=\"" + server + ", stage "), "each cell opens its sub-task's logs: " + b);
                cells++;
            }
        }
        assertEquals(6, cells);
        java.util.Map<String, Integer> states = new java.util.TreeMap<>();
        full.get("nodes").forEach(n -> n.get("sub_tasks").forEach(t -> states.merge(t.get("state").asText(), 1, Integer::sum)));
        states.forEach((state, n) -> assertEquals(n, count(b, "<span class=\"state\">" + state + "</span></a>"),
                "each sub-task's state by word: " + states + " " + b));
        assertTrue(b.contains("id=\"op-CANCEL\" href=\"/ui/dags/" + dagId + "/confirm?operator=CANCEL\""), "CANCEL applies to a READY DAG: " + b);
        assertFalse(b.contains("op-RETRY") || b.contains("op-PASS"), "RETRY and PASS do not");

        HttpResponse<String> frag = get(shim, "/ui/dags/" + dagId + "?fragment=1");
        assertHtml(frag, 200);
        assertTrue(frag.body().startsWith("<div class=\"frag\" data-finished=\"false\">"), frag.body());
        assertFalse(frag.body().contains("<html"), "the live update is the page's own rendering of its main part");
        String etag = frag.headers().firstValue("ETag").orElseThrow();
        HttpResponse<String> same = send(shim, "GET", "/ui/dags/" + dagId + "?fragment=1", null,
                "Authorization", basic(ShimHarness.OCP_USER, ShimHarness.OCP_PW), "If-None-Match", etag);
        assertEquals(304, same.statusCode(), "unchanged: not sent again");
        assertEquals("", same.body());

        JsonNode task = full.get("nodes").get(1).get("sub_tasks").get(0);
        HttpResponse<String> logs = get(shim, "/ui/sub_tasks/" + task.get("task_id").asLong());
        assertHtml(logs, 200);
        String server = task.get("additional_data").get("server").asText();
        assertTrue(logs.body().contains("<h1 id=\"logs-title\">" + server + " · stage 2/2 Stop observer"), logs.body());
        for (JsonNode signal : task.get("additional_data").get("signals")) {
            assertTrue(logs.body().contains("<dt>signal</dt><dd>" + signal.asText() + "</dd>"), logs.body());
        }
        assertTrue(logs.body().contains("<pre class=\"log\" id=\"log\">(no log lines yet)</pre>"), "a dry run ran nothing: " + logs.body());

        HttpResponse<String> missing = get(shim, "/ui/dags/999");
        assertHtml(missing, 404);
        assertTrue(missing.body().contains("no DAG 999"), missing.body());
        assertHtml(get(shim, "/ui/nothing"), 404);
        HttpResponse<String> css = get(shim, "/ui/static/dag.css");
        assertEquals(200, css.statusCode());
        assertEquals("text/css; charset=utf-8", css.headers().firstValue("Content-Type").orElse(""));
    }

    @Test
    void operatorsNeedTheConfirmationsTokenAndThisServersOriginAndAreRefusedAsTheApiRefusesThem() throws Exception {
        ShimHarness shim = shim();
        JsonNode dag = create(shim);
        long dagId = dag.get("dag_id").asLong();
        String id = dag.get("id").asText();
        String operate = "/ui/dags/" + dagId + "/operate";

        HttpResponse<String> confirm = get(shim, "/ui/dags/" + dagId + "/confirm?operator=CANCEL");
        assertHtml(confirm, 200);
        assertTrue(confirm.body().contains("CANCEL records the DAG FAILED with operator CANCEL at once"), confirm.body());
        assertTrue(confirm.body().contains("<form method=\"post\" action=\"" + operate + "\""), confirm.body());
        String token = token(confirm.body());
        String form = "operator=CANCEL&token=" + URLEncoder.encode(token, StandardCharsets.UTF_8);

        // forged: no origin, another origin, another port, no token, a wrong token
        List<HttpResponse<String>> forged = List.of(
                post(shim, operate, form),
                post(shim, operate, form, "Origin", "http://evil.example"),
                post(shim, operate, form, "Origin", "http://127.0.0.1:1"),
                post(shim, operate, form, "Origin", "null"),
                post(shim, operate, form, "Sec-Fetch-Site", "cross-site"),
                post(shim, operate, "operator=CANCEL", "Origin", origin(shim)),
                post(shim, operate, "operator=CANCEL&token=AAAA" + token.substring(4), "Origin", origin(shim)));
        for (HttpResponse<String> r : forged) {
            assertHtml(r, 403);
            assertTrue(r.body().contains("Nothing was changed."), r.body());
        }
        assertEquals("READY", shim.client.get("/api/v1/task/dag/" + id).data().get("state").asText(), "no forged POST changed anything");

        // from the page: the same operators as POST /api/v1/task/dag/{id}
        HttpResponse<String> cancelled = post(shim, operate, form, "Origin", origin(shim));
        assertEquals(303, cancelled.statusCode(), cancelled::body);
        assertEquals("/ui/dags/" + dagId + "?done=CANCEL", cancelled.headers().firstValue("Location").orElse(""));
        JsonNode now = shim.client.get("/api/v1/task/dag/" + id).data();
        assertEquals("FAILED", now.get("state").asText());
        assertEquals("CANCEL", now.get("operator").asText());
        HttpResponse<String> after = get(shim, "/ui/dags/" + dagId + "?done=CANCEL");
        assertTrue(after.body().contains("CANCEL was applied to DAG " + id), after.body());
        assertTrue(after.body().contains("id=\"op-RETRY\"") && after.body().contains("id=\"op-PASS\""), "RETRY and PASS apply to a FAILED DAG");

        // a browser that sends no Origin but Sec-Fetch-Site: same-origin is taken too
        HttpResponse<String> retried = post(shim, operate, "operator=RETRY&token=" + URLEncoder.encode(token, StandardCharsets.UTF_8),
                "Sec-Fetch-Site", "same-origin");
        assertEquals(303, retried.statusCode(), retried::body);
        assertEquals("READY", shim.client.get("/api/v1/task/dag/" + id).data().get("state").asText(), "dry run: RETRY makes it READY, not started");

        // refused as the API refuses it: RETRY of a DAG that is not FAILED
        HttpResponse<String> refused = post(shim, operate, "operator=RETRY&token=" + URLEncoder.encode(token, StandardCharsets.UTF_8),
                "Origin", origin(shim));
        assertHtml(refused, 400);
        assertTrue(refused.body().contains("Task.Dag.Operator.RetryNotFailedDag"), refused.body());
        ObshellTestClient.Response api = shim.client.post("/api/v1/task/dag/" + id, "{\"operator\": \"RETRY\"}");
        ShimHarness.assertError(api, 400, "Task.Dag.Operator.RetryNotFailedDag", 0, null);

        // PASS after a CANCEL: SUCCEED with operator PASS, no operator left to offer
        assertEquals(303, post(shim, operate, form, "Origin", origin(shim)).statusCode());
        HttpResponse<String> passed = post(shim, operate, "operator=PASS&token=" + URLEncoder.encode(token, StandardCharsets.UTF_8),
                "Origin", origin(shim));
        assertEquals(303, passed.statusCode(), passed::body);
        assertEquals("SUCCEED", shim.client.get("/api/v1/task/dag/" + id).data().get("state").asText());
        String done = get(shim, "/ui/dags/" + dagId).body();
        assertTrue(done.contains("SUCCEED (PASS)") && done.contains("No operator applies to a DAG that is SUCCEED"), done);

        HttpResponse<String> none = post(shim, "/ui/dags/999/operate", "operator=RETRY&token=" + URLEncoder.encode(token, StandardCharsets.UTF_8),
                "Origin", origin(shim));
        assertHtml(none, 404);
        assertTrue(none.body().contains("Task.NotFound"), none.body());

        HttpResponse<String> unknown = post(shim, operate, "operator=ROLLBACK&token=" + URLEncoder.encode(token, StandardCharsets.UTF_8),
                "Origin", origin(shim));
        assertHtml(unknown, 400);
    }

    static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
