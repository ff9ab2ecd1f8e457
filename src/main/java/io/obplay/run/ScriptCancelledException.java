package io.obplay.run;

/**
 * {@link Connection#run} was interrupted after the script had started: obplay tried to end it. {@link
 * #leftRunning()} is null when its processes were proved gone, else one clause saying what may still run on
 * the host, with its pid. (A plain {@link InterruptedException} from {@code run} means the script never
 * started.)
 */
public final class ScriptCancelledException extends InterruptedException {
    private static final long serialVersionUID = 1L;
    private final String leftRunning;

    public ScriptCancelledException(String leftRunning) {
        super(leftRunning == null ? "cancelled; the script and its processes were ended" : "cancelled; " + leftRunning);
        this.leftRunning = leftRunning;
    }

    public String leftRunning() {
        return leftRunning;
    }
}
