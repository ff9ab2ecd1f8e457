package io.obplay.run.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LineSplitterTest {

    @Test
    void splitsAcrossWritesHandlesCrlfUtf8AndAFinalLineWithoutNewline() {
        List<String> lines = new ArrayList<>();
        AtomicInteger closed = new AtomicInteger();
        LineSplitter s = new LineSplitter(lines::add, closed::incrementAndGet);
        byte[] b = "one\r\ntw".getBytes(StandardCharsets.UTF_8);
        s.write(b, 0, b.length);
        assertEquals(List.of("one"), lines);
        byte[] c = "o\n\nthr\u00e9e \u4e2d".getBytes(StandardCharsets.UTF_8);
        for (byte x : c) {
            s.write(x); // byte by byte: multi-byte characters survive
        }
        assertEquals(List.of("one", "two", ""), lines);
        s.close();
        s.close();
        assertEquals(List.of("one", "two", "", "thr\u00e9e \u4e2d"), lines);
        assertEquals(1, closed.get());
    }

    @Test
    void veryLongLinesAreCut() {
        List<String> lines = new ArrayList<>();
        LineSplitter s = new LineSplitter(lines::add, null);
        byte[] big = new byte[LineSplitter.MAX_LINE + 10];
        java.util.Arrays.fill(big, (byte) 'x');
        s.write(big, 0, big.length);
        s.close();
        assertEquals(2, lines.size());
        assertEquals(LineSplitter.MAX_LINE, lines.get(0).length());
        assertEquals(10, lines.get(1).length());
    }
}
