package io.obplay.cli;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * An output stream that hands what it is given, in blocks of {@link #BLOCK} bytes, to a thread of its own that
 * writes them to the stream under it, in order: the kernel's copying of a large plan into a file or pipe (about a
 * second for the 835 MB obshell JSON of 100,000 servers x 5 steps on a 2-core VM) runs beside the making of the
 * next blocks instead of after each. Memory is bounded: at most {@link #BLOCKS} blocks exist; a writer faster
 * than the stream under it waits. {@link #flush()} returns when everything given so far is written and the stream
 * under it flushed; an exception of that stream comes out of the next write, flush or close. One writer thread.
 */
final class WriteBehind extends OutputStream {
    static final int BLOCK = 256 << 10;  // measured: 64 KB and 1 MB blocks gave less (BENCHMARKS.md §2)
    static final int BLOCKS = 4;

    /** A block to write, or a request to flush (an empty block). */
    private record Block(byte[] bytes, int length) {
    }

    private static final Block FLUSH = new Block(new byte[0], 0);
    private static final Block STOP = new Block(new byte[0], -1);

    private final OutputStream under;
    private final BlockingQueue<Block> full = new ArrayBlockingQueue<>(BLOCKS + 2);
    private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(BLOCKS);
    private final BlockingQueue<Object> flushed = new ArrayBlockingQueue<>(1);
    private final Thread thread;
    private volatile IOException failure;
    private byte[] current;
    private int used;
    private boolean closed;

    WriteBehind(OutputStream under) {
        this.under = under;
        for (int i = 0; i < BLOCKS - 1; i++) {
            free.add(new byte[BLOCK]);
        }
        current = new byte[BLOCK];
        thread = new Thread(this::drain, "obplay-write-behind");
        thread.setDaemon(true);
        thread.start();
    }

    private void drain() {
        try {
            while (true) {
                Block b = full.take();
                if (b == STOP) {
                    return;
                }
                if (failure == null) {
                    try {
                        if (b.length() > 0) {
                            under.write(b.bytes(), 0, b.length());
                        } else {
                            under.flush();
                        }
                    } catch (IOException | RuntimeException e) {
                        failure = e instanceof IOException io ? io : new IOException(e);
                    }
                }
                if (b.length() > 0) {
                    free.put(b.bytes());
                } else {
                    flushed.put(Boolean.TRUE);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void write(int b) throws IOException {
        check();
        if (used == BLOCK) {
            handOver();
        }
        current[used++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        check();
        while (len > 0) {
            if (used == BLOCK) {
                handOver();
            }
            int n = Math.min(len, BLOCK - used);
            System.arraycopy(b, off, current, used, n);
            used += n;
            off += n;
            len -= n;
        }
    }

    @Override
    public void flush() throws IOException {
        check();
        if (used > 0) {
            handOver();
        }
        try {
            full.put(FLUSH);
            flushed.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while flushing");
        }
        check();
    }

    /** Flushes, then ends the thread; does not close the stream under it. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        try {
            flush();
        } finally {
            closed = true;
            full.add(STOP);
        }
    }

    private void handOver() throws IOException {
        try {
            full.put(new Block(current, used));
            current = free.take();
            used = 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while writing");
        }
        check();
    }

    private void check() throws IOException {
        if (closed) {
            throw new IOException("stream closed");
        }
        IOException e = failure;
        if (e != null) {
            throw e;
        }
    }
}
