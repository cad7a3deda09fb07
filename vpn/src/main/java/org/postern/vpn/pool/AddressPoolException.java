package org.postern.vpn.pool;

import java.io.Serial;

/** A refused assignment: the pool is exhausted, or a requested address is outside, reserved or taken. */
public final class AddressPoolException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    public AddressPoolException(String message) {
        super(message);
    }
}
