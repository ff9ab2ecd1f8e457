package io.obplay.run.transport;

import io.obplay.inventory.TransportKind;
import io.obplay.run.Transport;

/** Picks the transport for an inventory's {@code transport} setting. */
public final class Transports {
    private Transports() {
    }

    /** A new transport of this kind with default settings. */
    public static Transport forKind(TransportKind kind) {
        return forKind(kind, SshTransport.Options.defaults());
    }

    /** A new transport of this kind; {@code ssh} tunes the SSH transport (ignored for LOCAL). */
    public static Transport forKind(TransportKind kind, SshTransport.Options ssh) {
        if (kind == null) {
            kind = TransportKind.SSH;
        }
        switch (kind) {
            case LOCAL:
                return new LocalTransport(ssh.killGrace());
            case SSH:
            default:
                return new SshTransport(ssh);
        }
    }
}
