package org.postern.pki.registry;

import java.math.BigInteger;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.jspecify.annotations.Nullable;

/**
 * The device registry: devices, the certificates issued to them, enrollment tokens (hashed) and
 * revocations. {@link SqliteRegistry} keeps it in one file in the data directory, for one gateway;
 * {@link PostgresRegistry} in a database several gateways share. {@link Registries#open} picks one
 * from the {@code registry:} settings.
 *
 * <p>Every mutating method is one transaction: either all of it is written or none. Methods throw
 * {@link RegistryException} with a stable code on refusal, and with {@code registry.unavailable}
 * when the store cannot be read or written — callers fail closed on that.
 */
public interface Registry extends AutoCloseable {

    /** Adds a pending device with its first enrollment token. {@code device.exists} if the id is taken. */
    void addDevice(Device device, EnrollmentToken token);

    /** Adds another token for an existing device (a fresh token after an expired one). */
    void addToken(EnrollmentToken token);

    Optional<Device> device(String id);

    /** All devices, ordered by id. */
    List<Device> devices();

    /** The token with this hash (hex SHA-256 of the token text), if any. */
    Optional<EnrollmentToken> token(String hash);

    /**
     * Records a first enrollment in one transaction: marks the token used (only if still unused,
     * else {@code token.used}), stores the certificate, and makes the device active with
     * {@code enrolledAt = at}.
     */
    void completeEnrollment(String tokenHash, CertificateRecord certificate, Instant at);

    /**
     * Records a renewal or rekey: stores the new certificate and, when {@code supersede} is
     * given, marks that older certificate revoked with reason {@code superseded}.
     */
    void recordRenewal(CertificateRecord certificate, BigInteger supersede, Instant at);

    /** Stores a server, admin or OCSP responder certificate. */
    void addCertificate(CertificateRecord certificate);

    Optional<CertificateRecord> certificate(BigInteger serial);

    /** The certificates of one device, newest first. */
    List<CertificateRecord> certificatesOf(String deviceId);

    /** The certificates of one kind (admin, server, ocsp; devices have {@link #certificatesOf}), oldest first. */
    List<CertificateRecord> certificates(CertificateRecord.Kind kind);

    /**
     * Revokes one admin, server or OCSP responder certificate with {@code reason} at {@code at}.
     * An unknown serial is {@code certificate.unknown}, a revoked one {@code certificate.revoked};
     * a device's certificate is {@code certificate.device} (devices are revoked whole).
     */
    CertificateRecord revokeCertificate(BigInteger serial, RevocationReason reason, Instant at);

    /**
     * Changes a device's owner, groups or both ({@code null} keeps the current value) and returns the
     * device as it is now. An unknown id is {@code device.unknown}, a revoked device {@code device.revoked}.
     */
    Device updateDevice(String id, @Nullable String owner, @Nullable List<String> groups);

    /** Good, revoked (including on hold) or unknown. */
    CertStatus status(BigInteger serial);

    /**
     * Revokes a device: status {@code revoked}, every unrevoked certificate revoked with
     * {@code reason} at {@code at}, unused tokens voided. Revoking a revoked device is
     * {@code device.revoked}; an unknown id is {@code device.unknown}.
     */
    Device revokeDevice(String id, RevocationReason reason, Instant at);

    /** Suspends an active or pending device: its good certificates go on hold. */
    Device suspendDevice(String id, Instant at);

    /** Resumes a suspended device: its held certificates are good again. */
    Device resumeDevice(String id, Instant at);

    /**
     * Certificates revoked or on hold that have not expired at {@code now}: the CRL's entries.
     * Their {@code der} is empty: a 100,000-entry CRL needs serials and dates, not certificates.
     */
    List<CertificateRecord> revokedCertificates(Instant now);

    /** Devices that may not connect, id → status ({@code suspended} or {@code revoked}). */
    Map<String, DeviceStatus> barredDevices();

    /**
     * A number that changes whenever any connection of this or another process has committed a
     * change to the registry since the last call. Cheap (SQLite reads no table, PostgreSQL one
     * row), so a gateway can poll it several times a second and reload what it caches only when it
     * moved. SQLite counts every commit; PostgreSQL counts only what changes the revocation view
     * ({@link #barredDevices}, {@link #revokedCertificates}): revocations, suspensions,
     * resumptions and renewals, not new devices, tokens, enrollments, certificates, owners or
     * groups, CRL numbers or {@link #touchDevice}.
     */
    long changeCount();

    /**
     * Calls {@code wake} soon after a change to the registry is committed by another connection or
     * process, so a cache can reload without waiting for its next poll of {@link #changeCount()};
     * closing the returned handle stops the calls. {@code wake} runs on the registry's thread and
     * must return quickly. The default never calls it: a registry without notifications (SQLite)
     * is polled.
     */
    default AutoCloseable onChange(Runnable wake) {
        return () -> { };
    }

    /** Returns the next CRL number (monotonic, persisted). */
    BigInteger nextCrlNumber();

    /**
     * Records that a device accepted the remote-work charter, replacing its previous acceptance
     * unless that one is of a later version by the same owner (a gateway still on an older charter
     * never undoes a newer acceptance; a new owner's acceptance always replaces the previous
     * owner's). An unknown device is {@code device.unknown}, a revoked one {@code device.revoked},
     * any other state than active {@code device.state}; the acceptance must name the device's
     * current owner ({@code device.owner_changed} otherwise: the owner changed between the check and
     * the write).
     */
    void acceptCharter(CharterAcceptance acceptance);

    /** The device's latest acceptance of the remote-work charter, if it ever accepted one. */
    Optional<CharterAcceptance> charterAcceptance(String deviceId);

    /** Notes when a device was last seen and its last posture result (used by the gateway). */
    void touchDevice(String id, Instant lastSeen, String lastPosture);

    @Override
    void close();
}
