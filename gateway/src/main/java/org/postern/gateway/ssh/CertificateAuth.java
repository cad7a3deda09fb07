package org.postern.gateway.ssh;

import java.security.PublicKey;
import java.time.Instant;
import java.util.UUID;

import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKey;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.server.session.ServerSession;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.gate.Grounds;
import org.postern.gateway.gate.TunnelGate;
import org.postern.gateway.gate.Who;
import org.postern.gateway.posture.Lease;
import org.postern.pki.registry.Device;
import org.postern.protocol.Reasons;

/**
 * Public key authentication that accepts only OpenSSH user certificates from the Postern SSH user
 * CA, within their validity (by the gateway's clock), with no critical option, whose principal is
 * the login name; then the {@link TunnelGate}: the device named in the key id must be active, owned
 * by that login, and hold a live posture lease. Every refusal is an {@code access.denied} with a reason code; the
 * client sees only "Permission denied". MINA SSHD then checks the certificate's own signature and
 * the proof of possession of the key, and only after that is {@code session.start} written —
 * durably, before the session may do anything (fail closed: no trail, no session).
 */
final class CertificateAuth extends UserAuthPublicKey {

    static final String CERT_REQUIRED = Reasons.SSH_CERT_REQUIRED.code();
    static final String UNKNOWN_CA = Reasons.SSH_CERT_UNKNOWN_CA.code();
    static final String EXPIRED = Reasons.SSH_CERT_EXPIRED.code();
    static final String CERT_INVALID = Reasons.SSH_CERT_INVALID.code();
    static final String PRINCIPAL_MISMATCH = Reasons.SSH_PRINCIPAL_MISMATCH.code();
    static final String DEVICE_NOT_ACTIVE = Reasons.DEVICE_NOT_ACTIVE.code();
    static final String NO_LEASE = Reasons.NO_LEASE.code();
    static final String REGISTRY_UNAVAILABLE = Reasons.REGISTRY_UNAVAILABLE.code();
    static final String AUDIT_UNAVAILABLE = Reasons.AUDIT_UNAVAILABLE.code();

    /** Makes one per authentication request. */
    static final class Factory extends UserAuthPublicKeyFactory {
        private final BastionContext ctx;
        private final SshBastion.Sessions sessions;

        Factory(BastionContext ctx, SshBastion.Sessions sessions) {
            this.ctx = ctx;
            this.sessions = sessions;
        }

        @Override
        public UserAuthPublicKey createUserAuth(ServerSession session) {
            return new CertificateAuth(ctx, sessions);
        }
    }

    /** What the checks found for an accepted certificate. */
    private record Accepted(OpenSshCertificate cert, Device device, Lease lease, Grounds grounds) {
    }

    private final BastionContext ctx;
    private final SshBastion.Sessions sessions;

    private CertificateAuth(BastionContext ctx, SshBastion.Sessions sessions) {
        this.ctx = ctx;
        this.sessions = sessions;
    }

    @Override
    public Boolean doAuth(Buffer buffer, boolean init) throws Exception {
        ServerSession session = getServerSession();
        String login = getUsername();
        Buffer peek = new ByteArrayBuffer(buffer.array(), buffer.rpos(), buffer.available());
        boolean hasSig = peek.getBoolean();
        peek.getString(); // algorithm
        PublicKey key;
        try {
            key = peek.getPublicKey();
        } catch (RuntimeException e) {
            refuse(session, login, null, CERT_INVALID, "the public key could not be read: " + e.getMessage());
            return Boolean.FALSE;
        }
        Accepted accepted = check(session, login, key);
        if (accepted == null) {
            return Boolean.FALSE;
        }
        Boolean result = super.doAuth(buffer, init); // certificate signature, then proof of the key
        if (!Boolean.TRUE.equals(result)) {
            if (Boolean.FALSE.equals(result) && hasSig) {
                refuse(session, login, accepted.cert(), CERT_INVALID, "the certificate or the signature with its key"
                        + " did not verify (key id " + accepted.cert().getId() + ")");
            }
            return result; // null: the key is acceptable, the client is asked to prove it
        }
        return start(session, login, accepted) ? Boolean.TRUE : Boolean.FALSE;
    }

    /** The Postern checks, in order; records the first refusal. Returns null when refused. */
    private @Nullable Accepted check(ServerSession session, String login, PublicKey key) {
        if (!(key instanceof OpenSshCertificate cert)) {
            refuse(session, login, null, CERT_REQUIRED, "expected an OpenSSH user certificate from the Postern SSH user CA,"
                    + " found a plain " + KeyUtils.getKeyType(key) + " key " + KeyUtils.getFingerPrint(key));
            return null;
        }
        if (cert.getType() != OpenSshCertificate.Type.USER) {
            refuse(session, login, cert, CERT_INVALID, "expected a user certificate, found a " + cert.getType() + " certificate");
            return null;
        }
        if (!ctx.userCa().equals(cert.getCaPubKey())) {
            refuse(session, login, cert, UNKNOWN_CA, "expected a certificate signed by the Postern SSH user CA "
                    + KeyUtils.getFingerPrint(ctx.userCa()) + ", found one signed by " + KeyUtils.getFingerPrint(cert.getCaPubKey()));
            return null;
        }
        Instant now = ctx.clock().instant();
        if (!OpenSshCertificate.isValidAt(cert, now)) {
            refuse(session, login, cert, EXPIRED, "certificate valid from " + Instant.ofEpochSecond(cert.getValidAfter())
                    + " to " + Instant.ofEpochSecond(cert.getValidBefore()) + ", now is " + now);
            return null;
        }
        if (!cert.getCriticalOptions().isEmpty()) {
            refuse(session, login, cert, CERT_INVALID, "expected no critical options, found " + cert.getCriticalOptionsMap().keySet());
            return null;
        }
        if (!cert.getPrincipals().contains(login)) {
            refuse(session, login, cert, PRINCIPAL_MISMATCH, "login \"" + login + "\" is not a principal of the certificate"
                    + " (principals " + cert.getPrincipals() + ", key id " + cert.getId() + ")");
            return null;
        }
        String deviceId = cert.getId();
        try {
            Device.checkId(deviceId);
        } catch (IllegalArgumentException e) {
            refuse(session, login, cert, CERT_INVALID, "key id: " + e.getMessage());
            return null;
        }
        return switch (ctx.gate().admit(new Who(deviceId, login, SshBastion.source(session)))) {
            case GateDecision.Refusal r -> {
                refuse(session, login, cert, r.code(), r.detail(), r.remedy());
                yield null;
            }
            case GateDecision.Pass p -> new Accepted(cert, p.device(), p.lease(), p.grounds());
        };
    }

    /** Writes {@code session.start} durably and registers the session; false (refused) if the trail cannot. */
    private boolean start(ServerSession session, String login, Accepted a) {
        BastionSession s = new BastionSession(UUID.randomUUID().toString(), a.device().id(), login,
                Long.toHexString(a.cert().getSerial()), sha256(a.cert()), SshBastion.source(session),
                ctx.clock().instant(), a.lease(), session);
        try {
            // admitted on the device's lease: its posture decision, and the access policy in force
            ctx.audit().record(a.grounds().addTo(s.fill(ctx.event("session.start"))
                    .with("keyId", a.cert().getId())
                    .with("leaseUntil", a.lease().until().toString()))
                    .build());
        } catch (AuditUnavailableException e) {
            refuse(session, login, a.cert(), AUDIT_UNAVAILABLE, e.getMessage());
            return false;
        }
        session.setAttribute(BastionSession.KEY, s);
        sessions.add(s);
        return true;
    }

    private void refuse(ServerSession session, String login, OpenSshCertificate cert, String reason, String detail) {
        refuse(session, login, cert, reason, detail, null);
    }

    /** {@link #refuse(ServerSession, String, OpenSshCertificate, String, String)} with the gate's remedy in the record. */
    private void refuse(ServerSession session, String login, OpenSshCertificate cert, String reason, String detail,
                        @org.jspecify.annotations.Nullable String remedy) {
        SshBastion.markRefused(session);
        ctx.denied(ctx.event("access.denied")
                .with("device", cert != null ? cert.getId() : null)
                .with("user", AuditEvent.peerText(login))
                .with("certSerial", cert != null ? Long.toHexString(cert.getSerial()) : null)
                .with("certSha256", cert != null ? sha256(cert) : null)
                .with("source", SshBastion.source(session))
                .with("method", "publickey")
                .with("remedy", remedy), reason, detail);
    }

    static String sha256(OpenSshCertificate cert) {
        org.apache.sshd.common.util.buffer.Buffer b = new ByteArrayBuffer();
        b.putPublicKey(cert);
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(b.getCompactData());
            return java.util.HexFormat.of().formatHex(d);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
