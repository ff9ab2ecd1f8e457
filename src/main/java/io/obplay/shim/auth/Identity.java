package io.obplay.shim.auth;

import java.util.Objects;

/** Who a request authenticated as: the OceanBase root password, the agent password, or an OCP user. */
public record Identity(Kind kind, String name) {

    public enum Kind { ROOT, AGENT, OCP }

    /** Signed with the root password in {@code X-OCS-Header}. */
    public static final Identity ROOT = new Identity(Kind.ROOT, "root");
    /** Signed with the agent password in {@code X-OCS-Agent-Header}. */
    public static final Identity AGENT = new Identity(Kind.AGENT, "agent");

    public Identity {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
    }

    /** An OCP user authenticated with HTTP Basic. */
    public static Identity ocp(String user) {
        return new Identity(Kind.OCP, user);
    }
}
