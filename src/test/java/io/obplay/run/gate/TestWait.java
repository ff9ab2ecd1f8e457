package io.obplay.run.gate;

import java.util.function.BooleanSupplier;

final class TestWait {
    private TestWait() {
    }

    /** Polls every 20 ms for up to 5 s. */
    static boolean until(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }
}
