package org.postern.pki;

/**
 * A refused PKI request. {@code code} is the stable reason (also the {@code Postern-Reason}
 * header), {@code httpStatus} what EST answers, {@code getMessage()} the short text the peer
 * sees, and {@code detail} what only the audit trail gets.
 */
public final class PkiException extends RuntimeException {
    private final String code;
    private final int httpStatus;
    private final String detail;

    public PkiException(String code, int httpStatus, String peerMessage, String detail) {
        super(peerMessage);
        this.code = code;
        this.httpStatus = httpStatus;
        this.detail = detail;
    }

    public String code() {
        return code;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public String detail() {
        return detail;
    }
}
