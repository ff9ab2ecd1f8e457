/**
 * The security layer of {@code obplay serve}, the obshell/OCP-compatible HTTP shim.
 *
 * <ul>
 *   <li>{@link io.obplay.shim.auth.RsaKeys}: the server's RSA key ({@code GET /api/v1/secret}'s PKCS#1
 *       {@code public_key}), persisted with mode 0600.</li>
 *   <li>{@link io.obplay.shim.auth.Secrets}: root, agent and OCP passwords from the environment or a private
 *       secrets file.</li>
 *   <li>{@link io.obplay.shim.auth.AuthV2}: obshell's {@code X-OCS-Header}/{@code X-OCS-Agent-Header} check and
 *       body decryption, returning {@link io.obplay.shim.auth.Verified} or throwing
 *       {@link io.obplay.shim.auth.AuthException} with obshell's codes ({@link io.obplay.shim.auth.AuthError}).</li>
 *   <li>{@link io.obplay.shim.auth.BasicAuth}: HTTP Basic for the OCP endpoints.</li>
 *   <li>{@link io.obplay.shim.auth.FailureLimiter} and {@link io.obplay.shim.auth.ReplayCache}: the failed-login
 *       rate limit and the replay guard; both take a {@link java.time.Clock}.</li>
 * </ul>
 */
package io.obplay.shim.auth;
