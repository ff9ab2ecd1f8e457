package io.obplay.run.transport;

import com.jcraft.jsch.Channel;
import com.jcraft.jsch.ChannelDirectTCPIP;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Proxy;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.SocketFactory;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;

/**
 * ProxyJump: the target's SSH stream runs in a {@code direct-tcpip} channel of the bastion's (shared) session.
 */
final class JumpProxy implements Proxy {

    /** The bastion could not open the forwarded connection. */
    static final class ForwardFailure extends JSchException {
        private static final long serialVersionUID = 1L;
        final int reasonCode;

        ForwardFailure(String message, int reasonCode, Throwable cause) {
            super(message, cause);
            this.reasonCode = reasonCode;
        }
    }

    /** RFC 4254 5.1 reason codes. */
    static final int ADMINISTRATIVELY_PROHIBITED = 1;
    static final int CONNECT_FAILED = 2;

    private final Session bastion;
    private final Pipe pipe = new Pipe(256 * 1024);
    private volatile ChannelDirectTCPIP channel;
    private volatile OutputStream out;

    JumpProxy(Session bastion) {
        this.bastion = bastion;
    }

    @Override
    public void connect(SocketFactory socketFactory, String host, int port, int timeout) throws Exception {
        Channel c = bastion.getStreamForwarder(host, port);
        ChannelDirectTCPIP ch = (ChannelDirectTCPIP) c;
        ch.setOutputStream(pipe.sink);
        channel = ch;
        try {
            ch.connect(timeout);
        } catch (JSchException e) {
            int code = ch.getExitStatus();
            throw new ForwardFailure(e.getMessage(), code, e);
        }
        if (!ch.isConnected()) {
            throw new ForwardFailure("channel is not opened.", ch.getExitStatus(), null);
        }
        out = ch.getOutputStream();
    }

    @Override
    public InputStream getInputStream() {
        return pipe.source;
    }

    @Override
    public OutputStream getOutputStream() {
        return out;
    }

    @Override
    public Socket getSocket() {
        return null;
    }

    @Override
    public void close() {
        ChannelDirectTCPIP ch = channel;
        if (ch != null) {
            ch.disconnect();
        }
        try {
            pipe.sink.close();
            pipe.source.close();
        } catch (java.io.IOException cannotHappen) {
            // Pipe's streams do not throw on close
        }
    }
}
