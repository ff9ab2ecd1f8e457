package io.obplay.shim;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An error answered in obshell's envelope: the HTTP status, obshell's dotted {@code errCode}, the legacy int
 * {@code code} and the message. Thrown by the shim's handlers; never carries a stack trace to the client.
 *
 * <p>Legacy codes: obshell 4.2.x answered only an int {@code code}; 4.3.1 added {@code errCode} and keeps the int
 * for a few errors. Older clients read the int, so every error here carries one, chosen as obshell 4.2.x did by
 * the error's kind (see {@link Errors}).
 */
public class ApiException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String errCode;
    private final int legacyCode;
    private final long retryAfterSeconds;

    public ApiException(int status, String errCode, int legacyCode, String message) {
        this(status, errCode, legacyCode, message, 0);
    }

    public ApiException(int status, String errCode, int legacyCode, String message, long retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.errCode = errCode;
        this.legacyCode = legacyCode;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public int status() {
        return status;
    }

    public String errCode() {
        return errCode;
    }

    /** The legacy int {@code code}; 0 leaves it out. */
    public int legacyCode() {
        return legacyCode;
    }

    /** Seconds for {@code Retry-After} (429 only); 0 for none. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    /** The response's {@code error} object: {@code code} (when set), {@code errCode}, {@code message}. */
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
        return status + " " + errCode + ": " + getMessage();
    }
}
