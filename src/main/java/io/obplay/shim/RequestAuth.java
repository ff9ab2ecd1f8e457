package io.obplay.shim;

import io.obplay.shim.auth.AuthException;
import io.obplay.shim.auth.AuthV2;
import io.obplay.shim.auth.BasicAuth;
import io.obplay.shim.auth.FailureLimiter;
import io.obplay.shim.auth.RsaKeys;
import io.obplay.shim.auth.Secrets;

import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * How the server authenticates a request. {@link #secure} wires the security layer of
 * {@code io.obplay.shim.auth} (auth v2 with body decryption, HTTP Basic for OCP, one failure limiter for both);
 * {@link #insecure} is {@code --insecure-no-auth}: plain JSON bodies, no passwords, loopback only.
 */
public interface RequestAuth {

    /**
     * The most RSA blocks an auth header may have on the wire; a longer one is refused (401
     * {@code Security.Authentication.Header.DecryptFailed}, counted as a failed login) before any block is
     * decrypted. An SDK's header is 2 to 5 blocks; 16 leave room for a 256-character password and a
     * 400-character request target.
     */
    int MAX_HEADER_BLOCKS = 16;

    /**
     * obshell's auth v2 for an {@code /api/v1} route: checks the {@code X-OCS-Header} / {@code X-OCS-Agent-Header}
     * and returns the decrypted JSON body.
     */
    byte[] verify(String client, String method, String requestUri, Map<String, ? extends List<String>> headers,
                  byte[] rawBody, boolean needsAgent) throws ApiException;

    /** HTTP Basic for an OCP route; returns the user name. */
    String verifyBasic(String client, Map<String, ? extends List<String>> headers) throws ApiException;

    /** {@code public_key} of {@code GET /api/v1/secret}: base64 of the PKCS#1 RSAPublicKey DER. */
    String publicKey();

    /** {@code security} of {@code GET /api/v1/info}: true when an agent password is set (as obshell says it). */
    boolean security();

    /** For the start-up line: which passwords are set and where they came from (never the values). */
    String describe();

    static RequestAuth secure(RsaKeys keys, Secrets secrets) {
        FailureLimiter limiter = new FailureLimiter(Clock.systemUTC());
        AuthV2 v2 = new AuthV2(keys, secrets, Clock.systemUTC(), limiter);
        BasicAuth basic = new BasicAuth(secrets, limiter);
        boolean security = secrets.agentPassword().isPresent();
        return new RequestAuth() {
            @Override
            public byte[] verify(String client, String method, String requestUri, Map<String, ? extends List<String>> headers,
                                 byte[] rawBody, boolean needsAgent) throws ApiException {
                try {
                    for (String name : List.of(AuthV2.OCS_AGENT_HEADER, AuthV2.OCS_HEADER)) {
                        for (Map.Entry<String, ? extends List<String>> h : headers.entrySet()) {
                            if (h.getKey().equalsIgnoreCase(name)) {
                                for (String value : h.getValue()) {
                                    AuthException tooLong = v2.headerTooLong(value, MAX_HEADER_BLOCKS);
                                    if (tooLong != null) {
                                        throw v2.refuse(client, tooLong);
                                    }
                                }
                            }
                        }
                    }
                    return v2.verify(client, method, requestUri, headers, rawBody, needsAgent).jsonBody();
                } catch (AuthException e) {
                    throw convert(e);
                }
            }

            @Override
            public String verifyBasic(String client, Map<String, ? extends List<String>> headers) throws ApiException {
                try {
                    return basic.verify(client, headers).name();
                } catch (AuthException e) {
                    throw convert(e);
                }
            }

            @Override
            public String publicKey() {
                return keys.publicKeyBase64();
            }

            @Override
            public boolean security() {
                return security;
            }

            @Override
            public String describe() {
                return secrets.describe();
            }
        };
    }

    /** {@code --insecure-no-auth}: every request is let in, bodies are plain JSON. */
    static RequestAuth insecure(RsaKeys keys) {
        return new RequestAuth() {
            @Override
            public byte[] verify(String client, String method, String requestUri, Map<String, ? extends List<String>> headers,
                                 byte[] rawBody, boolean needsAgent) throws ApiException {
                for (String h : headers.keySet()) {
                    if (h.equalsIgnoreCase(AuthV2.OCS_HEADER) || h.equalsIgnoreCase(AuthV2.OCS_AGENT_HEADER)) {
                        throw Errors.badRequestBody("this server runs with --insecure-no-auth and takes plain JSON bodies"
                                + " without " + AuthV2.OCS_HEADER + "/" + AuthV2.OCS_AGENT_HEADER + " (an obshell SDK always"
                                + " encrypts): start it with a password (OBPLAY_ROOT_PASSWORD, OBPLAY_AGENT_PASSWORD or"
                                + " --secrets FILE) to use an SDK");
                    }
                }
                return rawBody;
            }

            @Override
            public String verifyBasic(String client, Map<String, ? extends List<String>> headers) {
                return "anonymous";
            }

            @Override
            public String publicKey() {
                return keys.publicKeyBase64();
            }

            @Override
            public boolean security() {
                return false;
            }

            @Override
            public String describe() {
                return "no authentication (--insecure-no-auth)";
            }
        };
    }

    /**
     * The refusal as answered. obshell answers a body that does not decrypt under the header's keys with a 500
     * ({@code Request.Body.Decrypt.AES.*}); that is the client's mistake, not the server's, so it is answered 401
     * with the same errCode and message (and counted by the failure limiter, see {@link AuthV2}).
     */
    private static ApiException convert(AuthException e) {
        int status = e.httpStatus() >= 500 ? 401 : e.httpStatus();
        return new ApiException(status, e.errCode(), e.legacyCode(), e.getMessage(), e.retryAfterSeconds());
    }
}
