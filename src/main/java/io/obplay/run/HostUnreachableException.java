package io.obplay.run;

/** A host could not be reached, or refused us: connect failure, authentication, host key, lost connection. */
public class HostUnreachableException extends Exception {
    private final String host;

    public HostUnreachableException(String host, String message, Throwable cause) {
        super(message, cause);
        this.host = host;
    }

    public HostUnreachableException(String host, String message) {
        this(host, message, null);
    }

    public String host() {
        return host;
    }
}
