import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The floor of the shim benchmark (bench/shim.sh): the JDK's bare com.sun.net.httpserver answering every request
 * with one fixed JSON string, set up as obplay's ShimServer sets up its server, so that the only difference is
 * what happens inside a request:
 * <ul>
 *   <li>HttpServer.create(127.0.0.1:PORT, backlog 128);</li>
 *   <li>executor: ThreadPoolExecutor(THREADS, THREADS, 60 s, ArrayBlockingQueue(THREADS * 4), daemon threads,
 *       CallerRunsPolicy), THREADS = 16 (obplay serve --threads' default);</li>
 *   <li>sun.net.httpserver.maxReqTime = maxRspTime = 60 (what ServeCommand sets);</li>
 *   <li>the handler drains the request body, sets Content-Type: application/json, sends the fixed bytes with
 *       their length, and closes the exchange.</li>
 * </ul>
 * It logs nothing, authenticates nothing, and reads no store.
 *
 * <p>Given the shim's RSA key (a PKCS#8 PEM file, as {@code obplay serve} keeps it), it is the <em>crypto floor</em>:
 * before answering, it does the one costly thing obshell's auth v2 makes every server do per request: it
 * base64-decodes the {@code X-OCS-Agent-Header} (or {@code X-OCS-Header}) and decrypts it block by block with RSA
 * PKCS#1 v1.5 (401 when that fails). Nothing else: no JSON, no clock, no replay cache, no password.
 *
 * <p>Usage: {@code java bench/shim/BareServer.java PORT [THREADS [KEY.pem]]} (JDK 11+ single-file launch; PORT 0
 * picks a free one). Prints "listening on http://127.0.0.1:PORT" on stdout once it serves; runs until killed.
 */
public final class BareServer {
    private static final byte[] BODY = ("{\"successful\":true,\"status\":200,\"data\":\"obplay shim benchmark floor:"
            + " a fixed string from the bare JDK HttpServer\"}").getBytes(StandardCharsets.UTF_8);

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 3) {
            System.err.println("usage: java bench/shim/BareServer.java PORT [THREADS [KEY.pem]]");
            System.exit(2);
        }
        if (args.length > 2) {
            String pem = java.nio.file.Files.readString(java.nio.file.Path.of(args[2]));
            String body = pem.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
            try {
                key = (java.security.interfaces.RSAPrivateKey) java.security.KeyFactory.getInstance("RSA")
                        .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(java.util.Base64.getDecoder().decode(body)));
            } catch (java.security.GeneralSecurityException e) {
                throw new IOException(args[2] + ": not an RSA private key: " + e, e);
            }
        }
        int port = Integer.parseInt(args[0]);
        int threads = Math.max(2, args.length > 1 ? Integer.parseInt(args[1]) : 16);
        System.setProperty("sun.net.httpserver.maxReqTime", "60");
        System.setProperty("sun.net.httpserver.maxRspTime", "60");
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 128);
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(threads * 4), r -> {
                    Thread t = new Thread(r, "bare-http-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.CallerRunsPolicy());
        http.setExecutor(pool);
        http.createContext("/", BareServer::handle);
        http.start();
        System.out.println("listening on http://127.0.0.1:" + http.getAddress().getPort());
        System.out.flush();
    }

    /** The shim's key, for the crypto floor; null for the bare floor. */
    private static java.security.interfaces.RSAPrivateKey key;

    /** Whether the request's auth v2 header decrypts with the key (true when there is no key). */
    private static boolean decrypts(HttpExchange ex) {
        if (key == null) {
            return true;
        }
        String h = ex.getRequestHeaders().getFirst("X-OCS-Agent-Header");
        if (h == null) {
            h = ex.getRequestHeaders().getFirst("X-OCS-Header");
        }
        if (h == null) {
            return false;
        }
        try {
            byte[] blocks = java.util.Base64.getDecoder().decode(h);
            int size = (key.getModulus().bitLength() + 7) / 8;
            if (blocks.length == 0 || blocks.length % size != 0) {
                return false;
            }
            javax.crypto.Cipher rsa = javax.crypto.Cipher.getInstance("RSA/ECB/PKCS1Padding");
            rsa.init(javax.crypto.Cipher.DECRYPT_MODE, key);
            for (int at = 0; at < blocks.length; at += size) {
                rsa.doFinal(blocks, at, size);
            }
            return true;
        } catch (IllegalArgumentException | java.security.GeneralSecurityException e) {
            return false;
        }
    }

    private static void handle(HttpExchange ex) {
        try {
            try (InputStream in = ex.getRequestBody()) {
                in.transferTo(OutputStream.nullOutputStream());
            }
            if (!decrypts(ex)) {
                ex.sendResponseHeaders(401, -1);
                return;
            }
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, BODY.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(BODY);
            }
        } catch (IOException e) {
            // the client went away
        } finally {
            ex.close();
        }
    }
}
