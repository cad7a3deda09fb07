package org.postern.agent.vpn;

import java.io.IOException;

import org.jspecify.annotations.Nullable;

/** The gateway answered a CONNECT-IP request with something other than 200. */
public final class ConnectIpRefusedException extends IOException {
    private final int status;
    private final @Nullable String reason;

    public ConnectIpRefusedException(int status, @Nullable String reason, String message) {
        super("the gateway refused CONNECT-IP: " + status + (reason == null ? "" : " " + reason)
                + (message.isBlank() ? "" : ": " + message.strip()));
        this.status = status;
        this.reason = reason;
    }

    /** The HTTP status the gateway answered. */
    public int status() {
        return status;
    }

    /** Its {@code postern-reason} header, when it sent one. */
    public @Nullable String reason() {
        return reason;
    }
}
