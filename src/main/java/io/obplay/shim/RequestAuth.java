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

    private static ApiException convert(AuthException e) {
        return new ApiException(e.httpStatus(), e.errCode(), e.legacyCode(), e.getMessage(), e.retryAfterSeconds());
    }
}
