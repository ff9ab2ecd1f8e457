package io.obplay.plan;

/** The obshell agent a sub-task runs "on": the server's host and agent port. */
public record ExecuteAgent(String ip, int port) {
}
