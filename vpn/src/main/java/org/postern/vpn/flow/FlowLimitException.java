package org.postern.vpn.flow;

import java.io.Serial;

/**
 * A new flow refused because the session already tracks its maximum number of flows. Without a
 * stack trace: a device can trigger it per packet.
 */
public final class FlowLimitException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    public FlowLimitException(String message) {
        super(message, null, false, false);
    }
}
