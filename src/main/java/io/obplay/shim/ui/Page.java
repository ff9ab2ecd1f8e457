package io.obplay.shim.ui;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An answer of the DAG page, written as it is (not in obshell's JSON envelope): status, content type, headers and
 * body. Every HTML answer carries the same defences: a Content-Security-Policy that lets in only this server's own
 * stylesheet and script (no inline script, no other origin, no framing), {@code X-Frame-Options: DENY}, no caching,
 * no referrer to other sites.
 */
public record Page(int status, String contentType, Map<String, String> headers, byte[] body) {
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
            + " form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public Page {
        headers = Map.copyOf(headers);
    }

    static Page html(int status, String html) {
        return new Page(status, "text/html; charset=utf-8", defences(), html.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A live update's fragment, with its ETag (a hash of its bytes): when the page already has it
     * ({@code If-None-Match}), 304 and no body, so an unchanged grid of 200 servers is not sent again every second.
     */
    static Page fragment(String ifNoneMatch, String html) {
        byte[] body = html.getBytes(StandardCharsets.UTF_8);
        String etag;
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest(body);
            etag = "\"" + java.util.HexFormat.of().formatHex(h, 0, 16) + "\"";
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Map<String, String> h = defences();
        h.put("ETag", etag);
        if (etag.equals(ifNoneMatch)) {
            return new Page(304, "text/html; charset=utf-8", h, new byte[0]);
        }
        return new Page(200, "text/html; charset=utf-8", h, body);
    }

    static Page asset(String contentType, byte[] body) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("X-Content-Type-Options", "nosniff");
        h.put("Cache-Control", "no-cache");
        return new Page(200, contentType, h, body);
    }

    /** 303 See Other to {@code location} (a path on this server): after a form POST, the page is got again. */
    static Page seeOther(String location) {
        Map<String, String> h = defences();
        h.put("Location", location);
        return new Page(303, "text/plain; charset=utf-8", h, ("see " + location + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static Map<String, String> defences() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Security-Policy", CSP);
        h.put("X-Frame-Options", "DENY");
        h.put("X-Content-Type-Options", "nosniff");
        h.put("Cache-Control", "no-store");
        h.put("Referrer-Policy", "same-origin"); // "no-referrer" would make a browser send "Origin: null" on a form POST
        return h;
    }
}
