package io.obplay.shim.auth;

/**
 * The errors authentication answers with: obshell's codes, statuses and legacy int codes (from obshell
 * 4.5.0.0, {@code ob/agent/errors/errorcode.go}), plus three of obplay's own for checks obshell does not make.
 *
 * <p>obshell answers a failed password or timestamp check with {@code errors.WrapRetain(ErrCommonUnauthorized,
 * cause)} ({@code ob/agent/api/common/middleware.go}), which keeps the cause's code and status and prefixes the
 * message with "Unauthorized: "; the messages here follow that ({@code ob/agent/assets/i18n/error/en.json}).
 */
public enum AuthError {

    /** Neither header, or an agent-only route without {@code X-OCS-Agent-Header}. */
    HEADER_NOT_FOUND("Request.Header.NotFound", 400, 0),
    /** The header is not base64 of RSA blocks for our key, or not the expected JSON. The SDKs match legacy code 1. */
    HEADER_DECRYPT_FAILED("Security.Authentication.Header.DecryptFailed", 401, 1),
    HEADER_URI_MISMATCH("Security.Authentication.Header.UriMismatch", 401, 10008),
    EXPIRED("Security.Authentication.Expired", 401, 10008),
    /** {@code ts} is not an integer; also used by obplay for an expiry too far in the future. */
    TIMESTAMP_INVALID("Security.Authentication.Timestamp.Invalid", 401, 10008),
    INCORRECT_AGENT_PASSWORD("Security.Authentication.IncorrectAgentPassword", 401, 10008),
    INCORRECT_OCEANBASE_PASSWORD("Security.Authentication.IncorrectOceanbasePassword", 401, 10008),
    /** Root header, but only the agent password is configured. */
    WITH_AGENT_PASSWORD("Security.Authentication.WithAgentPassword", 401, 10008),
    /** Agent header on a non-agent route, but no agent password is configured. */
    WITH_OCEANBASE_PASSWORD("Security.Authentication.WithOceanBasePassword", 401, 10008),
    /** Agent header on an agent route, but no agent password is configured. */
    AGENT_PASSWORD_NOT_INITIALIZED("Security.Authentication.AgentPasswordNotInitialized", 401, 10008),
    /** A body that does not decrypt for another reason (bad base64, bad padding); also HTTP Basic failures. */
    UNAUTHORIZED("Common.Unauthorized", 401, 10008),
    /** {@code keys} is not 16 bytes of key + 16 of IV while a body is sent. obshell's status: 500. */
    BODY_KEY_AND_IV_INVALID("Request.Body.Decrypt.AES.KeyAndIv.Invalid", 500, 0),
    /** The body's ciphertext is not a whole number of AES blocks. obshell's status: 500. */
    BODY_CONTENT_LENGTH_INVALID("Request.Body.Decrypt.AES.ContentLength.Invalid", 500, 0),

    /** obplay: this exact header was already accepted once (obshell keeps no nonce). */
    HEADER_REPLAYED("Security.Authentication.Header.Replayed", 401, 10008),
    /** obplay: too many failed authentications from this client address; see {@link AuthException#retryAfterSeconds()}. */
    TOO_MANY_FAILURES("Security.Authentication.TooManyFailures", 429, 0),
    /** obplay: the replay cache is full of unexpired headers; see {@link AuthException#retryAfterSeconds()}. */
    TOO_MANY_REQUESTS("Security.Authentication.TooManyRequests", 429, 0);

    private final String errCode;
    private final int httpStatus;
    private final int legacyCode;

    AuthError(String errCode, int httpStatus, int legacyCode) {
        this.errCode = errCode;
        this.httpStatus = httpStatus;
        this.legacyCode = legacyCode;
    }

    /** The dotted code, the {@code error.errCode} of the response. */
    public String errCode() {
        return errCode;
    }

    public int httpStatus() {
        return httpStatus;
    }

    /** The {@code error.code} int of older clients; 0 means none (leave {@code code} out). */
    public int legacyCode() {
        return legacyCode;
    }

    AuthException exception(String message) {
        return new AuthException(httpStatus, errCode, legacyCode, message);
    }

    AuthException exception(String message, long retryAfterSeconds) {
        return new AuthException(httpStatus, errCode, legacyCode, message, retryAfterSeconds);
    }
}
