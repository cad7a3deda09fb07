package org.postern.pki.registry;

import java.util.Locale;

/** Where a device stands. Only {@code ACTIVE} devices may hold a live session. */
public enum DeviceStatus {
    /** Registered, holds an unused enrollment token, no certificate yet. */
    PENDING,
    /** Enrolled; its current certificate is good. */
    ACTIVE,
    /** Temporarily barred: certificates on hold (CRL reason certificateHold) until resumed. */
    SUSPENDED,
    /** Permanently barred: certificates revoked, tokens void. */
    REVOKED;

    /** The lower-case name used in the CLI, JSON and the database. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static DeviceStatus fromWire(String s) {
        for (DeviceStatus v : values()) {
            if (v.wireName().equals(s)) {
                return v;
            }
        }
        throw new IllegalArgumentException("device status: expected pending|active|suspended|revoked, found \"" + s + "\"");
    }
}
