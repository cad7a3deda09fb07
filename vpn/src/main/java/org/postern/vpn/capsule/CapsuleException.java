package org.postern.vpn.capsule;

import java.io.Serial;

/**
 * A capsule, varint or HTTP datagram that breaks its RFC's rules. RFC 9297 §3.3 treats a malformed
 * capsule as an error of the whole request stream, so the caller aborts the CONNECT-IP stream; the
 * message says what was expected and what was found. Unchecked so that per-packet code paths need no
 * try blocks; without a stack trace, so a hostile peer cannot make the gateway pay for one.
 */
public final class CapsuleException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    public CapsuleException(String message) {
        super(message, null, false, false);
    }
}
