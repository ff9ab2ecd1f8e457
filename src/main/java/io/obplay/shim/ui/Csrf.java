package io.obplay.shim.ui;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The defence of the page's form POSTs against cross-site request forgery. A browser sends its cached Basic
 * credentials with any request to this server, also one a page of another site makes it send; so a POST is taken
 * only when both hold:
 * <ol>
 * <li>it comes from this server's own pages: its {@code Origin} header is this server's origin (scheme, and the
 * {@code Host} the request was sent to), or, when a browser sends no {@code Origin}, {@code Sec-Fetch-Site} is
 * {@code same-origin}; a POST with neither is refused;</li>
 * <li>its {@code token} field is this server's token for the authenticated user: an HMAC-SHA256 of the user name
 * under a key drawn at random when the server starts and never written anywhere. Another site cannot read it
 * (the same-origin policy keeps the confirmation page from it); it is no credential (a request still needs the
 * Basic password) and it changes at every restart.</li>
 * </ol>
 */
final class Csrf {
    private final boolean tls;
    private final SecretKeySpec key;

    Csrf(boolean tls) {
        this.tls = tls;
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        this.key = new SecretKeySpec(k, "HmacSHA256");
    }

    String token(String user) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return Base64.getUrlEncoder().withoutPadding().encodeToString(
                    mac.doFinal(("obplay-ui-form:" + user).getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Why the POST is refused, or null when it is taken. */
    String refuse(DagPages.Request r, String token) {
        String origin = r.header("Origin");
        String host = r.header("Host");
        if (origin != null) {
            if (host == null || !sameOrigin(origin, host)) {
                return "a form POST from another origin (" + origin + ") is not taken: operators are applied from this server's own pages";
            }
        } else if (!"same-origin".equals(r.header("Sec-Fetch-Site"))) {
            return "a form POST without an Origin header (or Sec-Fetch-Site: same-origin) is not taken";
        }
        if (token == null || !MessageDigest.isEqual(token.getBytes(StandardCharsets.UTF_8), token(r.user()).getBytes(StandardCharsets.UTF_8))) {
            return "the form's token is missing or out of date (the server restarted?): open the DAG page again";
        }
        return null;
    }

    private boolean sameOrigin(String origin, String host) {
        try {
            URI u = URI.create(origin);
            String scheme = tls ? "https" : "http";
            return scheme.equalsIgnoreCase(u.getScheme()) && u.getRawAuthority() != null && u.getRawAuthority().equalsIgnoreCase(host)
                    && (u.getRawPath() == null || u.getRawPath().isEmpty());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
