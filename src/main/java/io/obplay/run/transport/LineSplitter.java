package io.obplay.run.transport;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Cuts a byte stream into UTF-8 lines as the bytes arrive ({@code \n} or {@code \r\n}), hands each to a
 * consumer, and on close hands over a last line that had no newline. Lines longer than 1 MiB are cut.
 */
final class LineSplitter extends OutputStream {
    static final int MAX_LINE = 1 << 20;

    private final Consumer<String> lines;
    private final Runnable onClose;
    private byte[] buf = new byte[256];
    private int len;
    private boolean closed;

    LineSplitter(Consumer<String> lines, Runnable onClose) {
        this.lines = lines;
        this.onClose = onClose;
    }

    @Override
    public synchronized void write(int b) {
        if (closed) {
            return;
        }
        if (b == '\n') {
            emit();
            return;
        }
        append((byte) b);
    }

    @Override
    public synchronized void write(byte[] b, int off, int n) {
        if (closed) {
            return;
        }
        int end = off + n;
        int start = off;
        for (int i = off; i < end; i++) {
            if (b[i] == '\n') {
                appendAll(b, start, i - start);
                emit();
                start = i + 1;
            }
        }
        appendAll(b, start, end - start);
    }

    private void appendAll(byte[] b, int off, int n) {
        while (n > 0) {
            int room = MAX_LINE - len;
            int k = Math.min(room, n);
            ensure(len + k);
            System.arraycopy(b, off, buf, len, k);
            len += k;
            off += k;
            n -= k;
            if (len >= MAX_LINE) {
                emit();
            }
        }
    }

    private void append(byte b) {
        ensure(len + 1);
        buf[len++] = b;
        if (len >= MAX_LINE) {
            emit();
        }
    }

    private void ensure(int size) {
        if (size > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(size, Math.min(MAX_LINE, buf.length * 2)));
        }
    }

    private void emit() {
        int n = len;
        if (n > 0 && buf[n - 1] == '\r') {
            n--;
        }
        String s = new String(buf, 0, n, StandardCharsets.UTF_8);
        len = 0;
        if (buf.length > 64 * 1024) {
            buf = new byte[256];
        }
        lines.accept(s);
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (len > 0) {
                emit();
            }
        }
        if (onClose != null) {
            onClose.run();
        }
    }
}
