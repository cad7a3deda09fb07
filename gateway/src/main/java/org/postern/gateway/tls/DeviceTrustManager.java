package org.postern.gateway.tls;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CRLReason;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateRevokedException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.IntSupplier;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCertificateException;
import io.netty.internal.tcnative.CertificateVerifier;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditSink;
import org.postern.keys.Fingerprints;

/**
 * Decides on a device's client certificate inside the TLS handshake, for both providers (the JDK
 * calls it directly; netty-tcnative from BoringSSL's verify callback): the leaf must chain to the
 * device CA (PKIX, valid at the injected clock's now), carry EKU clientAuth and a SAN URI
 * {@code urn:postern:device:<id>}, and {@link LiveRevocations} must not bar its serial or device.
 * Anything else fails the handshake, and {@code tls.rejected} goes to the audit trail.
 *
 * <p>All of it is in memory, so it runs on the event loop inside the handshake's CPU budget. The
 * PKIX check (one signature verification) runs the first time a certificate is seen; a device that
 * reconnects with it costs a SHA-256, a validity check and two map lookups. What the client sent
 * besides its leaf is ignored: the path is the leaf and the device CA, nothing else.
 */
public final class DeviceTrustManager extends X509ExtendedTrustManager {
    static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    /** How many proven certificates are remembered (about 100 bytes each). */
    static final long VERIFIED_MAX = 100_000;

    private final X509Certificate deviceCa;
    private final X509Certificate[] acceptedIssuers;
    private final Set<TrustAnchor> anchors;
    /** SHA-256 of certificates PKIX found signed by the device CA: a device reconnecting is not verified again. */
    private final Cache<String, Boolean> verified = Caffeine.newBuilder().maximumSize(VERIFIED_MAX).build();
    private final LiveRevocations revocations;
    private final Clock clock;
    private final Rejections rejections;

    /**
     * @param caChain     the device CA chain, issuing CA first (as {@code CertificateAuthority.chain()})
     * @param revocations the live revocation view
     * @param workers     where the blocking audit write runs, never the event loop
     */
    public DeviceTrustManager(List<X509Certificate> caChain, LiveRevocations revocations, AuditSink audit, Clock clock,
                              java.util.concurrent.Executor workers) {
        if (caChain == null || caChain.isEmpty()) {
            throw new IllegalArgumentException("device trust: expected the device CA chain, issuing CA first; found none");
        }
        this.deviceCa = caChain.getFirst();
        this.acceptedIssuers = caChain.toArray(X509Certificate[]::new);
        // the issuing CA is the anchor: a device certificate is one it signed, checked with one verification
        this.anchors = Set.of(new TrustAnchor(deviceCa, null));
        this.revocations = Objects.requireNonNull(revocations, "revocations");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.rejections = new Rejections(audit, clock, workers);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain, engine == null || engine.getPeerHost() == null ? null : engine.getPeerHost() + ":" + engine.getPeerPort());
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        SocketAddress remote = socket == null ? null : socket.getRemoteSocketAddress();
        check(chain, remote instanceof InetSocketAddress a ? a.getAddress().getHostAddress() + ":" + a.getPort() : null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw notAClient();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw notAClient();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw notAClient();
    }

    /** The device CA chain: the CA names a client is asked for. */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return acceptedIssuers.clone();
    }

    private void check(X509Certificate[] chain, String source) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("client certificate: expected one, found an empty chain");
        }
        X509Certificate leaf = chain[0];
        Instant now = clock.instant();
        String sha256 = Fingerprints.sha256(leaf);
        String deviceId = null;
        // the path is proven once per certificate; validity and revocation on every handshake
        LiveRevocations.Refusal refusal = verified.getIfPresent(sha256) != null ? validity(leaf, now) : pkix(leaf, sha256, now);
        if (refusal == null) {
            refusal = deviceProfile(leaf);
        }
        if (refusal == null) {
            ClientIdentity id = ClientIdentity.of(leaf); // deviceProfile made sure it names one
            deviceId = id.deviceId();
            refusal = revocations.refusal(deviceId, id.serial());
        }
        if (refusal != null) {
            rejections.record(leaf, deviceId, source, refusal);
            throw exception(refusal);
        }
    }

    /**
     * The exception the providers turn into the TLS alert the peer sees — terse, the detail stays in
     * the audit trail. netty-tcnative maps the exception type (expired, revoked) or the error code
     * of an {@link OpenSslCertificateException} to BoringSSL's alert: {@code certificate_expired},
     * {@code certificate_revoked} (also for a suspended device: its certificate is on hold),
     * {@code unknown_ca}, {@code bad_certificate}; a stale revocation view is {@code internal_error}.
     * The JDK answers {@code certificate_unknown} to them all.
     */
    private CertificateException exception(LiveRevocations.Refusal refusal) {
        String why = refusal.why();
        return switch (refusal.reason()) {
            case "cert.expired" -> new CertificateExpiredException(why);
            case "cert.not_yet_valid" -> new CertificateNotYetValidException(why);
            case "cert.revoked", "cert.on_hold", "device.revoked", "device.suspended" -> new CertificateRevokedException(
                    Date.from(clock.instant()), refusal.reason().endsWith("revoked") ? CRLReason.UNSPECIFIED : CRLReason.CERTIFICATE_HOLD,
                    deviceCa.getSubjectX500Principal(), Map.of()) {
                @Override
                public String getMessage() {
                    return why;
                }
            };
            case "cert.unknown_ca" -> openSsl(why, () -> CertificateVerifier.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
            case "registry.unavailable" -> new CertificateException(why);
            default -> openSsl(why, () -> CertificateVerifier.X509_V_ERR_CERT_REJECTED);
        };
    }

    private static CertificateException openSsl(String why, IntSupplier x509Error) {
        // CertificateVerifier's codes come from the native library: read them only once it loaded
        return OpenSsl.isAvailable() ? new OpenSslCertificateException(why, x509Error.getAsInt()) : new CertificateException(why);
    }

    /**
     * The full PKIX check of a certificate not seen before: signed by the device CA and valid now;
     * null when it is, and then it is remembered as {@link #verified}.
     */
    private LiveRevocations.Refusal pkix(X509Certificate leaf, String sha256, Instant now) {
        try {
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false); // revocation is LiveRevocations' job, in memory
            params.setDate(Date.from(now));
            CertPathValidator.getInstance("PKIX").validate(
                    CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), params);
        } catch (CertPathValidatorException e) {
            return switch (e.getReason()) {
                case CertPathValidatorException.BasicReason.EXPIRED -> expired(leaf, now);
                case CertPathValidatorException.BasicReason.NOT_YET_VALID -> notYetValid(leaf, now);
                case CertPathValidatorException.BasicReason.INVALID_SIGNATURE, CertPathValidatorException.BasicReason.UNSPECIFIED,
                     java.security.cert.PKIXReason.NO_TRUST_ANCHOR -> unknownCa(leaf, e);
                default -> new LiveRevocations.Refusal("cert.invalid", "certificate " + describe(leaf) + ": " + e.getMessage());
            };
        } catch (InvalidAlgorithmParameterException | CertificateException | java.security.NoSuchAlgorithmException e) {
            return new LiveRevocations.Refusal("cert.invalid", "certificate " + describe(leaf) + ": cannot check it: " + e);
        }
        LiveRevocations.Refusal refusal = validity(leaf, now);
        if (refusal == null) {
            verified.put(sha256, Boolean.TRUE);
        }
        return refusal;
    }

    /** The leaf and the device CA valid now; null when they are. */
    private LiveRevocations.@Nullable Refusal validity(X509Certificate leaf, Instant now) {
        Date date = Date.from(now);
        try {
            leaf.checkValidity(date);
        } catch (CertificateExpiredException e) {
            return expired(leaf, now);
        } catch (CertificateNotYetValidException e) {
            return notYetValid(leaf, now);
        }
        try {
            deviceCa.checkValidity(date);
        } catch (CertificateExpiredException | CertificateNotYetValidException e) {
            return new LiveRevocations.Refusal("cert.ca_not_valid", "device CA " + deviceCa.getSubjectX500Principal()
                    + " is not valid now (" + now + "): " + e.getMessage());
        }
        return null;
    }

    private static LiveRevocations.Refusal expired(X509Certificate leaf, Instant now) {
        return new LiveRevocations.Refusal("cert.expired",
                "certificate " + describe(leaf) + ": expired at " + leaf.getNotAfter().toInstant() + ", now is " + now);
    }

    private static LiveRevocations.Refusal notYetValid(X509Certificate leaf, Instant now) {
        return new LiveRevocations.Refusal("cert.not_yet_valid",
                "certificate " + describe(leaf) + ": not valid before " + leaf.getNotBefore().toInstant() + ", now is " + now);
    }

    private LiveRevocations.Refusal unknownCa(X509Certificate leaf, GeneralSecurityException e) {
        return new LiveRevocations.Refusal("cert.unknown_ca", "certificate " + describe(leaf) + " issued by "
                + leaf.getIssuerX500Principal().getName() + ": expected one signed by the device CA "
                + deviceCa.getSubjectX500Principal().getName() + " (" + e.getMessage() + ")");
    }

    /** EKU clientAuth and a device SAN; null when both are there. */
    private static LiveRevocations.@Nullable Refusal deviceProfile(X509Certificate leaf) {
        try {
            List<String> eku = leaf.getExtendedKeyUsage();
            if (eku == null || !eku.contains(CLIENT_AUTH)) {
                return new LiveRevocations.Refusal("cert.not_device", "certificate " + describe(leaf)
                        + ": expected EKU clientAuth (" + CLIENT_AUTH + "), found " + (eku == null ? "no EKU" : eku));
            }
        } catch (CertificateParsingException e) {
            return new LiveRevocations.Refusal("cert.not_device", "certificate " + describe(leaf) + ": unreadable EKU: " + e.getMessage());
        }
        try {
            ClientIdentity.of(leaf);
            return null;
        } catch (IllegalArgumentException e) {
            return new LiveRevocations.Refusal("cert.not_device", e.getMessage());
        }
    }

    private static String describe(X509Certificate c) {
        return c.getSerialNumber().toString(16) + " (" + c.getSubjectX500Principal().getName() + ")";
    }

    private static CertificateException notAClient() {
        return new CertificateException("the device trust manager checks client certificates only");
    }
}
