package org.postern.pki.ocsp;

import java.io.IOException;
import java.security.cert.CertificateEncodingException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPException;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.Req;
import org.bouncycastle.cert.ocsp.RespID;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.pki.registry.CertStatus;
import org.postern.pki.registry.Registry;

/**
 * RFC 6960 OCSP answers from the live registry, signed by the delegated responder certificate.
 * Statuses come straight from the registry, so a revocation is visible on the next request. A
 * request's nonce is echoed; a request that does not parse gets {@code malformedRequest}; a
 * certificate from another issuer gets {@code unknown}.
 */
public final class OcspResponder {
    /** More serials than this in one request is abuse, not a relying party. */
    static final int MAX_REQUESTS = 16;
    private static final Duration NEXT_UPDATE = Duration.ofHours(1);

    private final CertificateAuthority ca;
    private final Registry registry;
    private final Clock clock;
    private final DigestCalculatorProvider digests;
    private final X509CertificateHolder issuer;
    private final X509CertificateHolder[] responderChain;
    private final RespID responderId;

    public OcspResponder(CertificateAuthority ca, Registry registry, Clock clock) {
        this.ca = ca;
        this.registry = registry;
        this.clock = clock;
        try {
            this.digests = new JcaDigestCalculatorProviderBuilder().build();
            this.issuer = new JcaX509CertificateHolder(ca.issuing().certificate());
            X509CertificateHolder responder = new JcaX509CertificateHolder(ca.ocsp().certificate());
            this.responderChain = new X509CertificateHolder[] {responder};
            this.responderId = new RespID(responder.getSubjectPublicKeyInfo(), digests.get(CertificateID.HASH_SHA1));
        } catch (OperatorCreationException | CertificateEncodingException | OCSPException e) {
            throw new IllegalStateException("cannot set up the OCSP responder: " + e.getMessage(), e);
        }
    }

    /** One answer: the DER response and, for the audit trail and logs, what was asked. */
    public record Answer(byte[] der, int status, String summary) {}

    public Answer respond(byte[] requestDer) {
        OCSPReq req;
        Req[] list;
        try {
            req = new OCSPReq(requestDer);
            // BouncyCastle reads the list lazily: a malformed entry throws here, not above (found
            // by OcspResponderFuzzTest)
            list = req.getRequestList();
        } catch (IOException | RuntimeException e) {
            return error(OCSPRespBuilder.MALFORMED_REQUEST, "malformed request: " + e.getMessage());
        }
        if (list.length == 0 || list.length > MAX_REQUESTS) {
            return error(OCSPRespBuilder.MALFORMED_REQUEST, "expected 1 to " + MAX_REQUESTS + " certificate ids, found " + list.length);
        }
        Instant now = clock.instant();
        BasicOCSPRespBuilder b = new BasicOCSPRespBuilder(responderId);
        StringBuilder summary = new StringBuilder();
        try {
            for (Req r : list) {
                CertificateID id = r.getCertID();
                CertificateStatus status;
                if (!issuedByUs(id)) {
                    status = new UnknownStatus();
                    summary.append(id.getSerialNumber().toString(16)).append("=unknown-issuer ");
                } else {
                    status = switch (registry.status(id.getSerialNumber())) {
                        case CertStatus.Good g -> CertificateStatus.GOOD;
                        case CertStatus.Revoked rv -> new RevokedStatus(Date.from(rv.revokedAt()), rv.reason().crlReason());
                        case CertStatus.Unknown u -> new UnknownStatus();
                    };
                    summary.append(id.getSerialNumber().toString(16)).append('=').append(name(status)).append(' ');
                }
                b.addResponse(id, status, Date.from(now), Date.from(now.plus(NEXT_UPDATE)), null);
            }
            Extension nonce = req.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
            if (nonce != null) {
                b.setResponseExtensions(new Extensions(nonce));
            }
            BasicOCSPResp basic = b.build(ca.ocsp().contentSigner(), responderChain, Date.from(now));
            return new Answer(new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, basic).getEncoded(), OCSPRespBuilder.SUCCESSFUL, summary.toString().strip());
        } catch (OCSPException | IOException e) {
            return error(OCSPRespBuilder.INTERNAL_ERROR, "cannot answer: " + e.getMessage());
        } catch (org.postern.pki.registry.RegistryException e) {
            // fail closed: an unreadable registry never answers "good"
            return error(OCSPRespBuilder.TRY_LATER, "registry unavailable: " + e.getMessage());
        }
    }

    /**
     * Whether {@code id} names our issuing CA. An id hashed with an algorithm we do not know names
     * none of our certificates: it is answered "unknown", not with an internal error (a request
     * could otherwise make the responder report itself broken; found by OcspResponderFuzzTest).
     */
    private boolean issuedByUs(CertificateID id) {
        try {
            return id.matchesIssuer(issuer, digests);
        } catch (OCSPException e) {
            return false;
        }
    }

    private static String name(CertificateStatus s) {
        return switch (s) {
            case null -> "good";
            case RevokedStatus r -> "revoked(" + CRLReason.lookup(r.hasRevocationReason() ? r.getRevocationReason() : 0) + ")";
            default -> "unknown";
        };
    }

    private static Answer error(int status, String why) {
        try {
            return new Answer(new OCSPRespBuilder().build(status, null).getEncoded(), status, why);
        } catch (OCSPException | IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
