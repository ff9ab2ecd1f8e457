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
 * <p>Usage: {@code java bench/shim/BareServer.java PORT [THREADS]} (JDK 11+ single-file launch; PORT 0 picks a free
 * one). Prints "listening on http://127.0.0.1:PORT" on stdout once it serves; runs until killed.
 */
public final class BareServer {
    private static final byte[] BODY = ("{\"successful\":true,\"status\":200,\"data\":\"obplay shim benchmark floor:"
            + " a fixed string from the bare JDK HttpServer\"}").getBytes(StandardCharsets.UTF_8);

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: java bench/shim/BareServer.java PORT [THREADS]");
            System.exit(2);
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

    private static void handle(HttpExchange ex) {
        try {
            try (InputStream in = ex.getRequestBody()) {
                in.transferTo(OutputStream.nullOutputStream());
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
