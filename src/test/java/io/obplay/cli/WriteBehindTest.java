package io.obplay.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class WriteBehindTest {

    /** A slow stream that counts its flushes. */
    private static final class Sink extends ByteArrayOutputStream {
        final AtomicInteger flushes = new AtomicInteger();

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            Thread.onSpinWait();
            super.write(b, off, len);
        }

        @Override
        public void flush() {
            flushes.incrementAndGet();
        }
    }

    @Test
    void everyByteArrivesInOrderAndFlushWaitsForThem() throws IOException {
        Sink sink = new Sink();
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        Random r = new Random(14);
        try (WriteBehind w = new WriteBehind(sink)) {
            for (int i = 0; i < 400; i++) {
                byte[] chunk = new byte[r.nextInt(3) == 0 ? r.nextInt(3 * WriteBehind.BLOCK) : r.nextInt(9000)];
                r.nextBytes(chunk);
                int off = chunk.length == 0 ? 0 : r.nextInt(chunk.length);
                w.write(chunk, off, chunk.length - off);
                expected.write(chunk, off, chunk.length - off);
                w.write(i);
                expected.write(i);
                if (i % 97 == 0) {
                    w.flush();
                    assertArrayEquals(expected.toByteArray(), sink.toByteArray(), "after flush " + i);
                }
            }
        }
        assertArrayEquals(expected.toByteArray(), sink.toByteArray());
        assertEquals(6, sink.flushes.get());  // i = 0, 97, 194, 291, 388 and close; never one of its own
    }

    @Test
    void theStreamsFailureComesOutOfTheNextCallAndCloseStillEnds() {
        OutputStream failing = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        WriteBehind w = new WriteBehind(failing);
        IOException e = assertThrows(IOException.class, () -> {
            for (int i = 0; i < 20; i++) {
                w.write(new byte[WriteBehind.BLOCK]);
            }
            w.flush();
        });
        assertEquals("Broken pipe", e.getMessage());
        assertThrows(IOException.class, w::close);
        assertThrows(IOException.class, () -> w.write(1));
    }
}
