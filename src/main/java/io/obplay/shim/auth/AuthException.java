package io.obplay.shim.auth;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A refused request: the HTTP status, obshell's dotted {@code errCode}, the legacy int {@code code} (0 = none)
 * and the message, ready for the response's {@code error} object. When {@link #retryAfterSeconds()} is
 * positive (429), the server should also send {@code Retry-After} with it.
 */
public final class AuthException extends Exception {

    private static final long serialVersionUID = 1L;

    private final int httpStatus;
    private final String errCode;
    private final int legacyCode;
    private final long retryAfterSeconds;

    public AuthException(int httpStatus, String errCode, int legacyCode, String message) {
        this(httpStatus, errCode, legacyCode, message, 0);
    }

    public AuthException(int httpStatus, String errCode, int legacyCode, String message, long retryAfterSeconds) {
        super(message, null, false, false); // no stack trace: refusals are routine and may come in floods
        this.httpStatus = httpStatus;
        this.errCode = errCode;
        this.legacyCode = legacyCode;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public String errCode() {
        return errCode;
    }

    /** obshell's legacy int code ({@code error.code}); 0 means leave {@code code} out. */
    public int legacyCode() {
        return legacyCode;
    }

    /** Seconds the client should wait (for {@code Retry-After}); 0 when not rate limited. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    /** The response's {@code error} object: {@code code} (when not 0), {@code errCode}, {@code message}. */
    public Map<String, Object> errorObject() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (legacyCode != 0) {
            m.put("code", legacyCode);
        }
        m.put("errCode", errCode);
        m.put("message", getMessage());
        return m;
    }

    @Override
    public String toString() {
        return "AuthException[" + httpStatus + " " + errCode + (legacyCode != 0 ? " (" + legacyCode + ")" : "")
                + ": " + getMessage() + "]";
    }
}
