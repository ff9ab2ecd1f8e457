package io.obplay.run;

import io.obplay.inventory.Server;

/**
 * How the executor reaches hosts. One {@link Connection} per host for a whole run, reused by every step of
 * every server on that host. Step actions never know which transport they run on.
 */
public interface Transport extends AutoCloseable {

    /**
     * Returns the connection to the server's host, opening it on first use (thread-safe; concurrent callers
     * for the same host share one connection).
     *
     * @throws HostUnreachableException when the host cannot be reached or refuses us (the message says why
     *                                  and, for host keys, how to accept the key)
     */
    Connection connect(Server server) throws HostUnreachableException, InterruptedException;

    /** Closes every connection. */
    @Override
    void close();
}
