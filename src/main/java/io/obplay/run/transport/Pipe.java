package io.obplay.run.transport;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;

/**
 * A bounded in-memory byte pipe between two threads, with blocking reads and writes (no polling, and, unlike
 * {@link java.io.PipedInputStream}, no failure when the writing or reading thread changes or ends).
 */
final class Pipe {
    private final byte[] buf;
    private int readPos;
    private int count;
    private boolean writeClosed;
    private boolean readClosed;

    Pipe(int capacity) {
        this.buf = new byte[capacity];
    }

    final OutputStream sink = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            synchronized (Pipe.this) {
                while (len > 0) {
                    while (count == buf.length && !readClosed && !writeClosed) {
                        try {
                            Pipe.this.wait();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new InterruptedIOException();
                        }
                    }
                    if (readClosed || writeClosed) {
                        throw new IOException("pipe closed");
                    }
                    int writePos = (readPos + count) % buf.length;
                    int n = Math.min(len, Math.min(buf.length - count, buf.length - writePos));
                    System.arraycopy(b, off, buf, writePos, n);
                    count += n;
                    off += n;
                    len -= n;
                    Pipe.this.notifyAll();
                }
            }
        }

        @Override
        public void close() {
            synchronized (Pipe.this) {
                writeClosed = true;
                Pipe.this.notifyAll();
            }
        }
    };

    final InputStream source = new InputStream() {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            synchronized (Pipe.this) {
                while (count == 0 && !writeClosed && !readClosed) {
                    try {
                        Pipe.this.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException();
                    }
                }
                if (count == 0) {
                    return -1;
                }
                int n = Math.min(len, Math.min(count, buf.length - readPos));
                System.arraycopy(buf, readPos, b, off, n);
                readPos = (readPos + n) % buf.length;
                count -= n;
                Pipe.this.notifyAll();
                return n;
            }
        }

        @Override
        public int available() {
            synchronized (Pipe.this) {
                return count;
            }
        }

        @Override
        public void close() {
            synchronized (Pipe.this) {
                readClosed = true;
                Pipe.this.notifyAll();
            }
        }
    };
}
