package io.obplay.run.gate;

/**
 * Looks once (obshell's {@code ExecutableTask.Execute} in small): one request, one query, one command run. A check
 * never throws for what it saw; a refused connection, a bad answer or a failed query is an observation that did
 * not pass, in words.
 */
public interface GateCheck {

    Observation check(int attempt) throws InterruptedException;
}
