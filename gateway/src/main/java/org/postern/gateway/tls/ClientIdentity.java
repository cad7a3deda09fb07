package org.postern.gateway.tls;

import java.math.BigInteger;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import org.postern.keys.Fingerprints;
import org.postern.pki.ca.Profiles;
import org.postern.pki.registry.Device;

/**
 * Who is on the other end of a connection: the device a client certificate was issued to, as
 * {@link ClientIdentityHandler} established it after the handshake (registry checked). Handlers
 * further down read it from the channel attribute {@link #KEY}; absent means no client
 * certificate was presented (EST enrollment, CRL and OCSP are still served).
 *
 * @param deviceId    from the certificate's SAN URI {@code urn:postern:device:<id>}
 * @param certificate the leaf client certificate
 * @param serial      its serial number
 * @param sha256      lower-case hex SHA-256 of its DER encoding
 */
public record ClientIdentity(String deviceId, X509Certificate certificate, BigInteger serial, String sha256) {

    /** The channel attribute holding the identity of a verified device connection. */
    public static final AttributeKey<ClientIdentity> KEY = AttributeKey.valueOf(ClientIdentity.class, "identity");

    public ClientIdentity {
        Device.checkId(deviceId);
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(sha256, "sha256");
    }

    /**
     * The identity a device certificate names.
     *
     * @throws IllegalArgumentException the certificate has no SAN URI {@code urn:postern:device:<id>}
     *                                  (a server or admin certificate, or one from another PKI)
     */
    public static ClientIdentity of(X509Certificate certificate) {
        Objects.requireNonNull(certificate, "certificate");
        return new ClientIdentity(deviceId(certificate), certificate, certificate.getSerialNumber(),
                Fingerprints.sha256(certificate));
    }

    /**
     * The identity established on this channel, if a device certificate was accepted. An HTTP/2
     * stream is a child channel: its identity is the connection's.
     */
    public static Optional<ClientIdentity> of(Channel channel) {
        for (Channel c = channel; c != null; c = c.parent()) {
            ClientIdentity id = c.attr(KEY).get();
            if (id != null) {
                return Optional.of(id);
            }
        }
        return Optional.empty();
    }

    /** Serial as lower-case hex, the way the PKI's audit events name serials ({@code certSerial}). */
    public String serialHex() {
        return serial.toString(16);
    }

    private static String deviceId(X509Certificate certificate) {
        Collection<List<?>> sans;
        try {
            sans = certificate.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new IllegalArgumentException("client certificate " + certificate.getSubjectX500Principal()
                    + ": cannot read its subject alternative names: " + e.getMessage(), e);
        }
        if (sans != null) {
            for (List<?> san : sans) {
                // 6 = uniformResourceIdentifier (RFC 5280 GeneralName)
                if (Integer.valueOf(6).equals(san.get(0)) && san.get(1) instanceof String uri
                        && uri.startsWith(Profiles.DEVICE_URN) && uri.length() > Profiles.DEVICE_URN.length()) {
                    return uri.substring(Profiles.DEVICE_URN.length());
                }
            }
        }
        throw new IllegalArgumentException("client certificate " + certificate.getSubjectX500Principal()
                + ": expected a SAN URI " + Profiles.DEVICE_URN + "<id>, found none (not a device certificate)");
    }
}
