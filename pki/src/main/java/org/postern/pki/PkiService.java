package org.postern.pki;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.function.Supplier;

import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x500.style.RFC4519Style;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.config.PkiSettings;
import org.postern.config.Secret;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.keys.Fingerprints;
import org.postern.keys.KeyFiles;
import org.postern.keys.Pem;
import org.postern.keys.SecureFiles;
import org.postern.pki.ca.Profiles;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.registry.CertStatus;
import org.postern.pki.registry.CertificateRecord;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.EnrollmentToken;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RegistryException;
import org.postern.pki.registry.RevocationReason;

/**
 * What IT security and enrolling devices do with the PKI: register devices with one-time tokens,
 * enroll and re-enroll over EST, revoke, suspend and resume, issue server and admin certificates.
 * Every operation, allowed or refused, goes to the audit sink. The CA is unlocked only when an
 * operation signs something, so {@code device add} needs no passphrase.
 */
public final class PkiService {

    private static final int TOKEN_BYTES = 32;

    private final Supplier<CertificateAuthority> ca;
    private final Registry registry;
    private final AuditSink audit;
    private final PkiSettings settings;
    private final Clock clock;
    private final SecureRandom random;
    private final Supplier<CrlPublisher> crl;
    private final Profiles profiles;

    public PkiService(Supplier<CertificateAuthority> ca, Registry registry, AuditSink audit, PkiSettings settings,
                      Clock clock, SecureRandom random, Supplier<CrlPublisher> crl) {
        this.ca = ca;
        this.registry = registry;
        this.audit = audit;
        this.settings = settings;
        this.clock = clock;
        this.random = random;
        this.crl = crl;
        this.profiles = new Profiles(random);
    }

    public Registry registry() {
        return registry;
    }

    public PkiSettings settings() {
        return settings;
    }

    /** A registered device and the one-time token it enrolls with (shown once, stored hashed). */
    public record NewDevice(Device device, Secret token, Instant expiresAt) {}

    public NewDevice addDevice(String id, String owner, List<String> groups, String hardwareSerial, Duration tokenTtl, String actor) {
        Instant now = clock.instant();
        Device device = new Device(id, owner, groups, DeviceStatus.PENDING, hardwareSerial, now, null, null, null);
        Secret token = newTokenSecret();
        Duration ttl = tokenTtl != null ? tokenTtl : settings.enrollment().tokenTtl();
        EnrollmentToken stored = new EnrollmentToken(hash(token), id, now, now.plus(ttl), null);
        registry.addDevice(device, stored);
        audit.record(AuditEvent.of("pki.token.create", now).with("device", id).with("user", owner)
                .with("groups", groups).with("expiresAt", stored.expiresAt().toString()).with("actor", actor).build());
        return new NewDevice(device, token, stored.expiresAt());
    }

    /** A fresh token for a registered, non-revoked device (the first expired, or the key was lost). */
    public NewDevice newToken(String id, Duration tokenTtl, String actor) {
        Instant now = clock.instant();
        Device device = registry.device(id).orElseThrow(() -> new RegistryException("device.unknown", "no device " + id + " in the registry"));
        if (device.status() == DeviceStatus.REVOKED) {
            throw new RegistryException("device.revoked", "device " + id + " is revoked; register it under a new id");
        }
        Secret token = newTokenSecret();
        EnrollmentToken stored = new EnrollmentToken(hash(token), id, now, now.plus(tokenTtl != null ? tokenTtl : settings.enrollment().tokenTtl()), null);
        registry.addToken(stored);
        audit.record(AuditEvent.of("pki.token.create", now).with("device", id).with("user", device.owner())
                .with("expiresAt", stored.expiresAt().toString()).with("actor", actor).build());
        return new NewDevice(device, token, stored.expiresAt());
    }

    /**
     * EST simpleenroll: the token (as Basic password or Bearer) names the device; the CSR gives
     * only the key. Checks run before anything is written; the token is consumed in the same
     * transaction that stores the certificate.
     */
    public X509Certificate enroll(String basicUser, Secret token, byte[] body, String source) {
        Instant now = clock.instant();
        String device = basicUser;
        try {
            PKCS10CertificationRequest csr = Csrs.parseAndCheck(Csrs.base64(body));
            if (token == null) {
                throw new PkiException("est.no_token", 401, "enrollment token required",
                        "no enrollment token: expected HTTP Basic (password) or Bearer authorization");
            }
            EnrollmentToken t = registry.token(hash(token)).orElseThrow(() -> new PkiException("est.bad_token", 401,
                    "enrollment token not accepted", "no such enrollment token (user \"" + basicUser + "\")"));
            device = t.deviceId();
            if (basicUser != null && !basicUser.isEmpty() && !basicUser.equals(t.deviceId())) {
                throw new PkiException("est.bad_token", 401, "enrollment token not accepted",
                        "the token belongs to device " + t.deviceId() + " but the Basic user is \"" + basicUser + "\"");
            }
            if (t.used()) {
                throw new PkiException("est.token_used", 401, "enrollment token not accepted",
                        "the token of device " + t.deviceId() + " was already used at " + t.usedAt());
            }
            if (!now.isBefore(t.expiresAt())) {
                throw new PkiException("est.token_expired", 401, "enrollment token not accepted",
                        "the token of device " + t.deviceId() + " expired at " + t.expiresAt());
            }
            Device d = activeOrPending(t.deviceId());
            X509Certificate cert = issueDevice(d, Csrs.publicKey(csr), now);
            CertificateRecord issued = record(cert, CertificateRecord.Kind.device, d.id(), now);
            try {
                registry.completeEnrollment(t.hash(), issued, now);
            } catch (RegistryException e) {
                if (e.code().equals("token.used")) {
                    throw new PkiException("est.token_used", 401, "enrollment token not accepted",
                            "the token of device " + t.deviceId() + " was used by a concurrent enrollment");
                }
                throw e;
            }
            audit.record(certEvent("pki.enroll", now, d, issued, source).build());
            return cert;
        } catch (PkiException e) {
            audit.record(denied("pki.enroll.denied", now, device, source, e).build());
            throw e;
        } catch (RegistryException e) {
            audit.record(AuditEvent.of("pki.enroll.denied", now).with("device", device).with("source", source)
                    .with("reason", e.code()).with("detail", e.getMessage()).build());
            throw new PkiException(e.code(), 503, "registry unavailable", e.getMessage());
        }
    }

    /**
     * EST simplereenroll: the TLS client certificate names the device; renew (same key) or rekey
     * (new key). RFC 7030 §4.2.2 wants the CSR subject to match; a CSR naming another device is
     * refused.
     */
    public X509Certificate reenroll(X509Certificate current, byte[] body, String source) {
        Instant now = clock.instant();
        String device = null;
        try {
            if (current == null) {
                throw new PkiException("est.no_client_cert", 401, "client certificate required",
                        "simplereenroll needs the device's current certificate as TLS client certificate; none was presented");
            }
            BigInteger serial = current.getSerialNumber();
            CertStatus status = registry.status(serial);
            CertificateRecord rec = switch (status) {
                case CertStatus.Good g -> g.certificate();
                case CertStatus.Revoked r -> {
                    device = r.certificate().deviceId(); // the audit record names whose certificate it was
                    throw new PkiException("est.cert_revoked", 403, "certificate revoked",
                            "client certificate " + serial.toString(16) + " of device " + r.certificate().deviceId() + " was revoked at "
                                    + r.revokedAt() + " (" + r.reason() + ")");
                }
                case CertStatus.Unknown u -> throw new PkiException("est.cert_unknown", 403, "certificate not known",
                        "client certificate " + serial.toString(16) + " is not in the registry");
            };
            if (rec.kind() != CertificateRecord.Kind.device || !Fingerprints.sha256(current).equals(rec.sha256())) {
                throw new PkiException("est.cert_unknown", 403, "certificate not known",
                        "client certificate " + serial.toString(16) + " is not a device certificate of this registry");
            }
            device = rec.deviceId();
            PKCS10CertificationRequest csr = Csrs.parseAndCheck(Csrs.base64(body));
            String csrCn = commonName(csr);
            if (csrCn != null && !csrCn.equals(device)) {
                throw new PkiException("est.device_mismatch", 403, "CSR names another device",
                        "the TLS client certificate is device " + device + "'s but the CSR subject names \"" + csrCn + "\"");
            }
            Device d = registry.device(device).orElseThrow();
            if (d.status() != DeviceStatus.ACTIVE) {
                throw new PkiException("est.device_" + d.status().wireName(), 403, "device not active",
                        "device " + device + " is " + d.status().wireName() + "; only active devices renew");
            }
            X509Certificate cert = issueDevice(d, Csrs.publicKey(csr), now);
            CertificateRecord issued = record(cert, CertificateRecord.Kind.device, device, now);
            registry.recordRenewal(issued, null, now);
            boolean rekey = !current.getPublicKey().equals(cert.getPublicKey());
            audit.record(certEvent("pki.renew", now, d, issued, source).with("rekey", rekey)
                    .with("previousSerial", serial.toString(16)).build());
            return cert;
        } catch (PkiException e) {
            audit.record(denied("pki.renew.denied", now, device, source, e)
                    .with("certSerial", current == null ? null : current.getSerialNumber().toString(16)).build());
            throw e;
        } catch (RegistryException e) {
            audit.record(AuditEvent.of("pki.renew.denied", now).with("device", device).with("source", source)
                    .with("reason", e.code()).with("detail", e.getMessage()).build());
            throw new PkiException(e.code(), 503, "registry unavailable", e.getMessage());
        }
    }

    /** Records a refusal that happened before a request reached the service (an oversized body, say). */
    public void refused(String type, String source, String reason, String detail) {
        audit.record(AuditEvent.of(type, clock.instant()).with("source", source).with("reason", reason).with("detail", detail).build());
    }

    public Device revoke(String id, RevocationReason reason, String actor) {
        Instant now = clock.instant();
        Device d = registry.revokeDevice(id, reason, now);
        audit.record(AuditEvent.of("pki.revoke", now).with("device", id).with("user", d.owner())
                .with("reason", reason.name()).with("actor", actor).build());
        crl.get().publish();
        return d;
    }

    public Device suspend(String id, String actor) {
        Instant now = clock.instant();
        Device d = registry.suspendDevice(id, now);
        audit.record(AuditEvent.of("pki.suspend", now).with("device", id).with("user", d.owner()).with("actor", actor).build());
        crl.get().publish();
        return d;
    }

    public Device resume(String id, String actor) {
        Instant now = clock.instant();
        Device d = registry.resumeDevice(id, now);
        audit.record(AuditEvent.of("pki.resume", now).with("device", id).with("user", d.owner()).with("actor", actor).build());
        crl.get().publish();
        return d;
    }

    /**
     * Changes a registered device's owner, groups or both ({@code null} keeps the value); audited as
     * {@code pki.device.update} with the previous and the new values. Takes effect at the device's
     * next decision: the gateway reads owner and groups from the registry for every tunnel.
     */
    public Device updateDevice(String id, @Nullable String owner, @Nullable List<String> groups, String actor) {
        if (owner == null && groups == null) {
            throw new IllegalArgumentException("device update: expected --owner USER, --groups G1,G2 or both, found neither");
        }
        Instant now = clock.instant();
        Device before = registry.device(Device.checkId(id))
                .orElseThrow(() -> new RegistryException("device.unknown", "no device " + id + " in the registry"));
        Device after = registry.updateDevice(id, owner, groups);
        audit.record(AuditEvent.of("pki.device.update", now).with("device", id).with("user", after.owner())
                .with("previousOwner", before.owner()).with("groups", after.groups()).with("previousGroups", before.groups())
                .with("actor", actor).build());
        return after;
    }

    /** An admin certificate with the name (CN) and role (OU) it was issued for. */
    public record AdminCertificate(CertificateRecord record, String name, String role) {

        /** {@code good}, {@code expired}, or {@code revoked (REASON) at TIME}. */
        public String status(Instant now) {
            if (record.revoked()) {
                return "revoked (" + record.revocationReason() + ") at " + record.revokedAt();
            }
            return record.notAfter().isAfter(now) ? "good" : "expired";
        }
    }

    /** Every admin certificate the CA issued, oldest first. */
    public List<AdminCertificate> adminCertificates() {
        return registry.certificates(CertificateRecord.Kind.admin).stream().map(PkiService::admin).toList();
    }

    /**
     * Revokes one admin certificate: the registry marks it (the gateway's admin listener and OCSP
     * answer from there at once), the CRL is re-signed, and {@code pki.admin.revoke} is audited.
     */
    public AdminCertificate revokeAdmin(BigInteger serial, RevocationReason reason, String actor) {
        Instant now = clock.instant();
        CertificateRecord r = registry.certificate(serial).orElseThrow(() -> new RegistryException("certificate.unknown",
                "no certificate with serial " + serial.toString(16) + " in the registry (see postern pki admin list)"));
        if (r.kind() != CertificateRecord.Kind.admin) {
            throw new RegistryException("certificate.not_admin", "certificate " + serial.toString(16) + " is a " + r.kind()
                    + " certificate (" + r.subject() + "), not an admin certificate");
        }
        AdminCertificate revoked = admin(registry.revokeCertificate(serial, reason, now));
        audit.record(AuditEvent.of("pki.admin.revoke", now).with("user", revoked.name()).with("role", revoked.role())
                .with("certSerial", serial.toString(16)).with("certSha256", r.sha256()).with("reason", reason.name())
                .with("actor", actor).build());
        crl.get().publish();
        return revoked;
    }

    private static AdminCertificate admin(CertificateRecord r) {
        X500Name subject = new X500Name(RFC4519Style.INSTANCE, r.subject());
        return new AdminCertificate(r, rdn(subject, BCStyle.CN), rdn(subject, BCStyle.OU));
    }

    private static String rdn(X500Name name, org.bouncycastle.asn1.ASN1ObjectIdentifier type) {
        RDN[] found = name.getRDNs(type);
        return found.length == 0 ? "?" : IETFUtils.valueToString(found[0].getFirst().getValue());
    }

    /** A certificate and the key made for it, for a server or an admin (not devices: those bring a CSR). */
    public record Issued(X509Certificate certificate, KeyPair keys) {

        /** Writes {@code dir/BASE.key} (0600, PKCS#8) and {@code dir/BASE.crt} (leaf, then {@code caChain}). */
        public Files writeTo(Path dir, String base, List<X509Certificate> caChain) throws IOException {
            java.nio.file.Files.createDirectories(dir);
            Files f = new Files(dir.resolve(base + ".crt"), dir.resolve(base + ".key"));
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(certificate);
            chain.addAll(caChain);
            SecureFiles.replace(f.key(), KeyFiles.plainPem(keys.getPrivate()), true);
            SecureFiles.replace(f.certificate(), Pem.encodeAll(chain).getBytes(StandardCharsets.US_ASCII), false);
            return f;
        }

        /** Where {@link #writeTo} put them. */
        public record Files(Path certificate, Path key) {}
    }

    public Issued issueServer(List<String> dnsNames, List<String> ipAddresses, String actor) {
        if (dnsNames.isEmpty() && ipAddresses.isEmpty()) {
            throw new IllegalArgumentException("issue-server: expected at least one --dns NAME or --ip ADDR, found none");
        }
        Instant now = clock.instant();
        KeyPair kp = KeyFiles.generateP256(random);
        CertificateAuthority authority = ca.get();
        X509Certificate cert = profiles.server(dnsNames, ipAddresses, authority.name(), kp.getPublic(), authority.issuing(),
                profiles.newSerial(), now, settings.certificates().serverLifetime());
        registry.addCertificate(record(cert, CertificateRecord.Kind.server, null, now));
        audit.record(AuditEvent.of("pki.issue", now).with("kind", "server").with("subject", cert.getSubjectX500Principal().getName())
                .with("certSerial", cert.getSerialNumber().toString(16)).with("certSha256", Fingerprints.sha256(cert)).with("actor", actor).build());
        return new Issued(cert, kp);
    }

    /** Checks an admin's name and role as {@link #issueAdmin} takes them; a bad one is an IllegalArgumentException naming the option. */
    public static void checkAdmin(String name, String role) {
        if (!role.equals("security-admin") && !role.equals("auditor")) {
            throw new IllegalArgumentException("issue-admin --role: expected security-admin or auditor, found \"" + role + "\"");
        }
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")) {
            throw new IllegalArgumentException("issue-admin --name: expected letters, digits, '.', '_', '@' or '-', found \"" + name + "\"");
        }
    }

    public Issued issueAdmin(String name, String role, String actor) {
        checkAdmin(name, role);
        Instant now = clock.instant();
        KeyPair kp = KeyFiles.generateP256(random);
        CertificateAuthority authority = ca.get();
        X509Certificate cert = profiles.admin(name, role, authority.name(), kp.getPublic(), authority.issuing(),
                profiles.newSerial(), now, settings.certificates().adminLifetime());
        registry.addCertificate(record(cert, CertificateRecord.Kind.admin, null, now));
        audit.record(AuditEvent.of("pki.issue", now).with("kind", "admin").with("user", name).with("role", role)
                .with("certSerial", cert.getSerialNumber().toString(16)).with("certSha256", Fingerprints.sha256(cert)).with("actor", actor).build());
        return new Issued(cert, kp);
    }

    private X509Certificate issueDevice(Device d, PublicKey key, Instant now) {
        CertificateAuthority authority = ca.get();
        return profiles.device(d.id(), authority.name(), key, authority.issuing(), profiles.newSerial(), now,
                settings.certificates().deviceLifetime(), settings.crlUrl(), settings.ocspUrl());
    }

    private Device activeOrPending(String id) {
        Device d = registry.device(id).orElseThrow(() -> new PkiException("est.bad_token", 401, "enrollment token not accepted",
                "the token names device " + id + " which is not in the registry"));
        return switch (d.status()) {
            case PENDING, ACTIVE -> d;
            case SUSPENDED, REVOKED -> throw new PkiException("est.device_" + d.status().wireName(), 403, "device may not enroll",
                    "device " + id + " is " + d.status().wireName() + "; its token is not honoured");
        };
    }

    private Secret newTokenSecret() {
        byte[] b = new byte[TOKEN_BYTES];
        random.nextBytes(b);
        return Secret.of(Base64.getUrlEncoder().withoutPadding().encodeToString(b));
    }

    /** Tokens carry 256 random bits, so a plain SHA-256 is enough to make the stored form useless to a thief. */
    static String hash(Secret token) {
        return Fingerprints.sha256(token.reveal().getBytes(StandardCharsets.UTF_8));
    }

    private static CertificateRecord record(X509Certificate cert, CertificateRecord.Kind kind, String deviceId, Instant now) {
        try {
            return new CertificateRecord(cert.getSerialNumber(), kind, deviceId, cert.getSubjectX500Principal().getName(),
                    Fingerprints.sha256(cert), cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant(), now, null, null, cert.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String commonName(PKCS10CertificationRequest csr) {
        RDN[] cn = csr.getSubject().getRDNs(BCStyle.CN);
        return cn.length == 0 ? null : IETFUtils.valueToString(cn[0].getFirst().getValue());
    }

    /** From the record, not the certificate: its fingerprint is computed once per issuance. */
    private static AuditEvent.Builder certEvent(String type, Instant now, Device d, CertificateRecord issued, String source) {
        return AuditEvent.of(type, now).with("device", d.id()).with("user", d.owner())
                .with("certSerial", issued.serial().toString(16)).with("certSha256", issued.sha256())
                .with("notAfter", issued.notAfter().toString()).with("source", source);
    }

    private static AuditEvent.Builder denied(String type, Instant now, String device, String source, PkiException e) {
        return AuditEvent.of(type, now).with("device", device).with("source", source).with("reason", e.code()).with("detail", e.detail());
    }
}
