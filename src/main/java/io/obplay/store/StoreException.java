package io.obplay.store;

/**
 * The store cannot be used: it cannot be reached or opened, refused the login, has a schema newer than this obplay,
 * or failed a statement. The message says which, for people; it never holds a password.
 */
public class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }

    public StoreException(String message) {
        super(message);
    }
}
