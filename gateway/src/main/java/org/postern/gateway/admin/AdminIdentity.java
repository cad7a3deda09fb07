package org.postern.gateway.admin;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.netty.util.AttributeKey;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.postern.keys.Fingerprints;
import org.postern.pki.ca.Profiles;

/**
 * Who is on the other end of an admin connection, as {@link AdminIdentityHandler} established it
 * (registry checked): the admin's name (the certificate's CN) and role.
 *
 * @param name     the certificate's CN, as given to {@code postern pki issue-admin --name}
 * @param role     from the SAN URI {@code urn:postern:role:ROLE}
 * @param serial   the certificate's serial, lower-case hex
 * @param sha256   lower-case hex SHA-256 of the certificate
 */
public record AdminIdentity(String name, AdminRole role, String serial, String sha256) {

    /** The channel attribute holding the identity of an accepted admin connection. */
    public static final AttributeKey<AdminIdentity> KEY = AttributeKey.valueOf(AdminIdentity.class, "admin");

    public AdminIdentity {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(sha256, "sha256");
    }

    /**
     * The identity an admin certificate names.
     *
     * @throws IllegalArgumentException not an admin certificate (no role URI, an unknown role, no CN)
     */
    public static AdminIdentity of(X509Certificate certificate) {
        String subject = certificate.getSubjectX500Principal().getName();
        String roleName = roleUri(certificate).orElseThrow(() -> new IllegalArgumentException("certificate " + subject
                + ": expected a SAN URI " + Profiles.ROLE_URN + "security-admin|auditor, found none (not an admin certificate)"));
        AdminRole role = AdminRole.of(roleName).orElseThrow(() -> new IllegalArgumentException("certificate " + subject
                + ": expected role security-admin or auditor, found \"" + roleName + "\""));
        RDN[] cn = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.CN);
        if (cn.length != 1) {
            throw new IllegalArgumentException("certificate " + subject + ": expected one CN naming the admin, found " + cn.length);
        }
        return new AdminIdentity(IETFUtils.valueToString(cn[0].getFirst().getValue()), role,
                certificate.getSerialNumber().toString(16), Fingerprints.sha256(certificate));
    }

    private static Optional<String> roleUri(X509Certificate certificate) {
        Collection<List<?>> sans;
        try {
            sans = certificate.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new IllegalArgumentException("certificate " + certificate.getSubjectX500Principal()
                    + ": cannot read its subject alternative names: " + e.getMessage(), e);
        }
        if (sans != null) {
            for (List<?> san : sans) {
                // 6 = uniformResourceIdentifier (RFC 5280 GeneralName)
                if (Integer.valueOf(6).equals(san.get(0)) && san.get(1) instanceof String uri
                        && uri.startsWith(Profiles.ROLE_URN)) {
                    return Optional.of(uri.substring(Profiles.ROLE_URN.length()));
                }
            }
        }
        return Optional.empty();
    }
}
