package io.obplay.shim.auth;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An authenticated request: the decrypted JSON body ({@code {}} when the request had none) and who signed it.
 * The body is not parsed here: a body that is not the JSON an endpoint expects is the endpoint's 400
 * {@code Common.BindJsonFailed}.
 */
public record Verified(byte[] jsonBody, Identity who) {

    private static final byte[] EMPTY_OBJECT = {'{', '}'};

    public Verified {
        Objects.requireNonNull(who, "who");
        jsonBody = jsonBody == null || jsonBody.length == 0 ? EMPTY_OBJECT.clone() : jsonBody.clone();
    }

    @Override
    public byte[] jsonBody() {
        return jsonBody.clone();
    }

    /** The body as UTF-8 text. */
    public String bodyText() {
        return new String(jsonBody, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "Verified[" + who + ", " + jsonBody.length + " body bytes]";
    }
}
