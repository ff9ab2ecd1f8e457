package io.obplay.shim;

import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.Scheduler;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Jetty's connector with a limit of open connections per client address: one more from an address that has
 * {@code perAddress} open is closed as it is accepted, before Jetty makes anything of it (no endpoint, no
 * buffer, no thread). Accepting runs on the selector thread (no acceptor threads), which never runs a handler.
 *
 * <p>Jetty limits connections in total ({@code NetworkConnectionLimit}) but not per address; this is the one
 * piece written here, over the selector manager's accept and close callbacks.
 */
final class AddressLimitedConnector extends ServerConnector {
    private final int perAddress;
    private final ConcurrentHashMap<InetAddress, AtomicInteger> open = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<SelectableChannel, InetAddress> counted = new ConcurrentHashMap<>();
    private final AtomicInteger refused = new AtomicInteger();

    AddressLimitedConnector(Server server, int perAddress, ConnectionFactory... factories) {
        super(server, 0, 1, factories); // no acceptor thread: the selector accepts
        this.perAddress = perAddress;
    }

    /** How many connections were closed at accept for being over the per-address limit. */
    int refused() {
        return refused.get();
    }

    @Override
    protected SelectorManager newSelectorManager(Executor executor, Scheduler scheduler, int selectors) {
        return new ServerConnectorManager(executor, scheduler, selectors) {
            @Override
            protected void accepted(SelectableChannel channel) throws IOException {
                if (!admit(channel)) {
                    refused.incrementAndGet();
                    channel.close();
                    return;
                }
                try {
                    super.accepted(channel);
                } catch (IOException | RuntimeException e) {
                    release(channel);
                    throw e;
                }
            }

            @Override
            protected void onAcceptFailed(SelectableChannel channel, Throwable failure, Object attachment) {
                release(channel);
                super.onAcceptFailed(channel, failure, attachment);
            }

            @Override
            protected void endPointClosed(EndPoint endpoint) {
                try {
                    super.endPointClosed(endpoint);
                } finally {
                    if (endpoint.getTransport() instanceof SelectableChannel c) {
                        release(c);
                    }
                }
            }
        };
    }

    private boolean admit(SelectableChannel channel) throws IOException {
        if (!(channel instanceof SocketChannel sc) || !(sc.getRemoteAddress() instanceof InetSocketAddress a)) {
            return true;
        }
        InetAddress addr = a.getAddress();
        AtomicInteger n = open.computeIfAbsent(addr, k -> new AtomicInteger());
        synchronized (n) {
            if (n.get() >= perAddress) {
                if (n.get() == 0) {
                    open.remove(addr, n);
                }
                return false;
            }
            n.incrementAndGet();
        }
        counted.put(channel, addr);
        return true;
    }

    private void release(SelectableChannel channel) {
        InetAddress addr = counted.remove(channel);
        if (addr == null) {
            return;
        }
        open.computeIfPresent(addr, (k, n) -> {
            synchronized (n) {
                return n.decrementAndGet() <= 0 ? null : n;
            }
        });
    }
}
