package io.obplay.shim.auth;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * HTTP Basic authentication for the OCP-style endpoints ({@code /api/v2/...}), against the OCP user and
 * password of {@link Secrets}. User and password are both compared in constant time (SHA-256 digests,
 * {@link java.security.MessageDigest#isEqual}), both always, so timing tells neither which was wrong nor
 * how much of it. Failed attempts are rate-limited per client address by the same {@link FailureLimiter}
 * as {@link AuthV2} (pass the same instance to both so failures add up).
 *
 * <p>Refusals are 401 {@code Common.Unauthorized} (legacy code 10008); the server should add
 * {@code WWW-Authenticate: }{@link #CHALLENGE}. A client with too many failures gets 429
 * {@code Security.Authentication.TooManyFailures} with a retry hint. A missing {@code Authorization} header
 * and a server with no OCP user configured are refused without counting as failures.
 */
public final class BasicAuth {

    /** The {@code WWW-Authenticate} value to send with a 401. */
    public static final String CHALLENGE = "Basic realm=\"obplay\", charset=\"UTF-8\"";

    private final FailureLimiter limiter;
    private final byte[] userDigest;     // null when not configured
    private final byte[] passwordDigest; // null when not configured
    private final String user;

    public BasicAuth(Secrets secrets, FailureLimiter limiter) {
        this.limiter = Objects.requireNonNull(limiter, "limiter");
        this.user = secrets.ocpUser().orElse(null);
        this.userDigest = secrets.ocpUser().map(Passwords::digest).orElse(null);
        this.passwordDigest = secrets.ocpPassword().map(Passwords::digest).orElse(null);
    }

    /** Checks the {@code Authorization: Basic ...} header; returns the OCP identity or throws the refusal. */
    public Identity verify(String clientAddress, Map<String, ? extends List<String>> headers) throws AuthException {
        limiter.check(clientAddress);
        if (userDigest == null || passwordDigest == null) {
            throw AuthError.UNAUTHORIZED.exception("Unauthorized: no OCP user is configured on this server");
        }
        String value = Passwords.header(headers, "Authorization");
        if (value == null) {
            throw AuthError.UNAUTHORIZED.exception("Unauthorized: HTTP Basic credentials required");
        }
        try {
            String[] cred = parse(value);
            boolean userOk = Passwords.matches(cred[0], userDigest);
            boolean passwordOk = Passwords.matches(cred[1], passwordDigest);
            if (!(userOk & passwordOk)) {
                throw AuthError.UNAUTHORIZED.exception("Unauthorized: wrong OCP user or password");
            }
            return Identity.ocp(user);
        } catch (AuthException e) {
            limiter.recordFailure(clientAddress);
            throw e;
        }
    }

    private static String[] parse(String value) throws AuthException {
        int sp = value.indexOf(' ');
        if (sp < 0 || !value.substring(0, sp).equalsIgnoreCase("Basic")) {
            throw AuthError.UNAUTHORIZED.exception("Unauthorized: only HTTP Basic authentication is accepted");
        }
        String text;
        try {
            byte[] raw = Base64.getDecoder().decode(value.substring(sp + 1).strip());
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (IllegalArgumentException | CharacterCodingException e) {
            throw AuthError.UNAUTHORIZED.exception("Unauthorized: malformed HTTP Basic credentials");
        }
        int colon = text.indexOf(':');
        if (colon < 0) {
            throw AuthError.UNAUTHORIZED.exception("Unauthorized: malformed HTTP Basic credentials (no ':')");
        }
        return new String[] {text.substring(0, colon), text.substring(colon + 1)};
    }
}
