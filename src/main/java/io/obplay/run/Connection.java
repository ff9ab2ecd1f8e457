package io.obplay.run;

import java.time.Duration;

/** An open connection to one host: runs POSIX sh scripts there, one channel each, concurrently if asked. */
public interface Connection {

    /**
     * Runs {@code script} with /bin/sh on the host, in its own process group, feeding each line of stdout and
     * stderr to {@code output} as it arrives. When {@code timeout} passes, or the calling thread is
     * interrupted, obplay ends the script and every process it started before this returns, and says whether
     * that was proved ({@link ExecResult#leftRunning()}, {@link ScriptCancelledException#leftRunning()}).
     *
     * @return the exit status ({@link ExecResult#timedOut()} when the timeout ended it)
     * @throws HostUnreachableException when the connection is lost
     * @throws ScriptCancelledException when the calling thread was interrupted after the script started
     * @throws InterruptedException     when it was interrupted before the script started
     */
    ExecResult run(String script, Duration timeout, OutputSink output) throws HostUnreachableException, InterruptedException;
}
