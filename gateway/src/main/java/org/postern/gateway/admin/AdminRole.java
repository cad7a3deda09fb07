package org.postern.gateway.admin;

import java.util.Optional;

/**
 * What an admin certificate lets its holder do on the admin listener, from its SAN URI
 * {@code urn:postern:role:ROLE} ({@code postern pki issue-admin --role}).
 */
public enum AdminRole {
    /** Reads everything and may act: end sessions, reload the configuration. */
    SECURITY_ADMIN("security-admin"),
    /** Reads only: sessions, health, metrics. */
    AUDITOR("auditor");

    private final String wireName;

    AdminRole(String wireName) {
        this.wireName = wireName;
    }

    /** As in the certificate and the audit trail: {@code security-admin} or {@code auditor}. */
    public String wireName() {
        return wireName;
    }

    /** Whether this role may change the gateway's state (kill a session, reload). */
    public boolean mayAct() {
        return this == SECURITY_ADMIN;
    }

    public static Optional<AdminRole> of(String wireName) {
        for (AdminRole r : values()) {
            if (r.wireName.equals(wireName)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }
}
