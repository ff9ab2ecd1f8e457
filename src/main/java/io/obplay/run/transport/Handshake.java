package io.obplay.run.transport;

import com.jcraft.jsch.Proxy;
import com.jcraft.jsch.SocketFactory;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One SSH handshake attempt: which phase it reached, and its two deadlines. JSch's {@code Session.connect}
 * runs the whole handshake in the calling thread and says nothing of its progress, so the phases are observed
 * from outside: the TCP connection through {@link #sockets()} (or {@link #proxy} when jumping), the server's
 * banner ({@code SSH-2.0-...} line) in the bytes read, the end of the key exchange when JSch asks the host
 * key verifier, and user authentication after that.
 *
 * <ul>
 *   <li>{@code connect_timeout} (OpenSSH's ConnectTimeout) covers the TCP connection and the banner;</li>
 *   <li>{@code handshake_timeout} starts with the banner and covers the key exchange and authentication.</li>
 * </ul>
 * When a deadline passes, {@code abort} runs (it disconnects the session) and the attempt is a timeout in the
 * phase it had reached, whatever JSch then reports (a cut authentication ends as JSch's "Auth fail").
 */
final class Handshake {

    enum Phase {
        TCP("in the TCP connect", "connect_timeout"),
        BANNER("waiting for the SSH banner", "connect_timeout"),
        KEY_EXCHANGE("in the key exchange", "handshake_timeout"),
        AUTHENTICATION("in user authentication", "handshake_timeout");

        final String words;
        final String setting;

        Phase(String words, String setting) {
            this.words = words;
            this.setting = setting;
        }
    }

    private final int connectMs;
    private final int handshakeMs;
    private final HostKeyVerifier verifier;
    private ScheduledExecutorService timer;
    private Runnable abort;
    private ScheduledFuture<?> pending;
    private boolean settled;
    private Phase timedOutIn;
    private volatile boolean tcpConnected;
    private volatile boolean bannerReceived;
    private volatile String lost;
    private volatile Socket socket;

    Handshake(int connectMs, int handshakeMs, HostKeyVerifier verifier) {
        this.connectMs = connectMs;
        this.handshakeMs = handshakeMs;
        this.verifier = verifier;
    }

    /** Starts the connect deadline. */
    synchronized void start(ScheduledExecutorService timer, Runnable abort) {
        this.timer = timer;
        this.abort = abort;
        pending = timer.schedule(() -> deadline(false), connectMs, TimeUnit.MILLISECONDS);
    }

    /** The phase reached so far. */
    Phase phase() {
        if (!tcpConnected) {
            return Phase.TCP;
        }
        if (!bannerReceived) {
            return Phase.BANNER;
        }
        return verifier.asked() ? Phase.AUTHENTICATION : Phase.KEY_EXCHANGE;
    }

    /** The phase a deadline cut, or null when none did. */
    synchronized Phase timedOutIn() {
        return timedOutIn;
    }

    /** How long the deadline of {@code p} is, in ms. */
    int deadlineMs(Phase p) {
        return p.setting.equals("connect_timeout") ? connectMs : handshakeMs;
    }

    /** Why the stream ended during the handshake (EOF or a read error), or null when it did not. */
    String lost() {
        return lost;
    }

    /**
     * The handshake ended (either way): stops the deadlines. False when a deadline had already come first (the
     * attempt is a timeout then, whatever else happened).
     */
    synchronized boolean settle() {
        if (settled) {
            return false;
        }
        settled = true;
        if (pending != null) {
            pending.cancel(false);
        }
        return true;
    }

    private void deadline(boolean handshakePart) {
        synchronized (this) {
            if (settled || (!handshakePart && bannerReceived)) {
                return;
            }
            settled = true;
            timedOutIn = phase();
        }
        Socket s = socket;
        if (s != null && !tcpConnected) {
            try {
                s.close(); // a TCP connect in progress is not ended by Session.disconnect()
            } catch (IOException ignored) {
                // closing
            }
        }
        abort.run();
    }

    private void tcpConnected() {
        tcpConnected = true;
    }

    private synchronized void bannerReceived() {
        if (bannerReceived) {
            return;
        }
        bannerReceived = true;
        if (settled) {
            return;
        }
        pending.cancel(false);
        pending = timer.schedule(() -> deadline(true), handshakeMs, TimeUnit.MILLISECONDS);
    }

    /** Direct connections: JSch's own socket set-up, with the connect deadline, observed. */
    SocketFactory sockets() {
        return new SocketFactory() {
            @Override
            public Socket createSocket(String host, int port) throws IOException {
                Socket s = new Socket();
                socket = s;
                try {
                    s.connect(new InetSocketAddress(host, port), connectMs);
                } catch (IOException e) {
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // failed anyway
                    }
                    throw e;
                }
                tcpConnected();
                return s;
            }

            @Override
            public InputStream getInputStream(Socket s) throws IOException {
                return new Observed(s.getInputStream());
            }

            @Override
            public OutputStream getOutputStream(Socket s) throws IOException {
                return s.getOutputStream();
            }
        };
    }

    /** Jumped connections: the forwarded channel (opened within the connect deadline), observed. */
    Proxy proxy(Proxy forward) {
        return new Proxy() {
            @Override
            public void connect(SocketFactory sf, String host, int port, int timeout) throws Exception {
                forward.connect(sf, host, port, connectMs);
                tcpConnected();
            }

            @Override
            public InputStream getInputStream() {
                return new Observed(forward.getInputStream());
            }

            @Override
            public OutputStream getOutputStream() {
                return forward.getOutputStream();
            }

            @Override
            public Socket getSocket() {
                return forward.getSocket();
            }

            @Override
            public void close() {
                forward.close();
            }
        };
    }

    /** The server's bytes: notes the banner line and the end of the stream. */
    private final class Observed extends FilterInputStream {
        private int column;
        private final byte[] start = new byte[4];

        Observed(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b;
            try {
                b = in.read();
            } catch (IOException e) {
                lost(e);
                throw e;
            }
            if (b < 0) {
                lost(null);
            } else if (!bannerReceived) {
                see((byte) b);
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n;
            try {
                n = in.read(buf, off, len);
            } catch (IOException e) {
                lost(e);
                throw e;
            }
            if (n < 0) {
                lost(null);
            }
            for (int i = 0; i < n && !bannerReceived; i++) {
                see(buf[off + i]);
            }
            return n;
        }

        /** RFC 4253 4.2: other lines may come before the identification line, which starts with "SSH-". */
        private void see(byte b) {
            if (b == '\n') {
                if (column >= 4 && start[0] == 'S' && start[1] == 'S' && start[2] == 'H' && start[3] == '-') {
                    bannerReceived();
                }
                column = 0;
                return;
            }
            if (column < 4) {
                start[column] = b;
            }
            column++;
        }

        private void lost(IOException e) {
            if (lost == null) {
                lost = e == null ? "the host closed the connection" : String.valueOf(e.getMessage());
            }
        }
    }
}
