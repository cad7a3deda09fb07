package org.postern.pki.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.postern.pki.registry.Fixtures.T0;
import static org.postern.pki.registry.Fixtures.cert;
import static org.postern.pki.registry.Fixtures.device;
import static org.postern.pki.registry.Fixtures.deviceCert;
import static org.postern.pki.registry.Fixtures.enrolled;
import static org.postern.pki.registry.Fixtures.token;
import static org.postern.pki.registry.Fixtures.tokenHash;

import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.AbstractThrowableAssert;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What every {@link Registry} must do, whatever stores it: run by {@link SqliteRegistryContractTest}
 * on a file and by {@link PostgresRegistryContractTest} on a real PostgreSQL. "Another instance" is
 * a second registry on the same store, as a second gateway or a {@code postern pki} process holds.
 */
abstract class RegistryContract {
    static final Instant T1 = T0.plusSeconds(3600);
    static final Instant T2 = T0.plusSeconds(7200);

    Registry registry;

    /** A new registry instance on this test's store (an empty one at the first call of a test). */
    abstract Registry open();

    /** Runs SQL on the store behind the registry's back, as an operator with a database shell would. */
    abstract void execute(String sql);

    /** How the registry names its store in messages: {@code registry.db}, {@code postgresql://…}. */
    abstract String storeName();

    /** Empties the store before a test when it outlives one (a database server shared by a class). */
    void resetStore() {
    }

    @BeforeEach
    void openRegistry() {
        resetStore();
        registry = open();
    }

    @AfterEach
    void closeRegistry() {
        registry.close();
    }

    static AbstractThrowableAssert<?, ? extends Throwable> assertRefused(ThrowingCallable call, String code) {
        return assertThatThrownBy(call)
                .isInstanceOfSatisfying(RegistryException.class, e -> assertThat(e.code()).isEqualTo(code));
    }

    // ---- devices and tokens

    @Test
    void addDevice_newId_isPendingWithItsToken() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));

        assertThat(registry.device("laptop-1")).contains(device("laptop-1"));
        assertThat(registry.token(tokenHash("laptop-1", ""))).contains(token("laptop-1"));
    }

    @Test
    void addDevice_takenId_isRefusedAndKeepsTheFirst() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));
        Device other = new Device("laptop-1", "bob", List.of(), DeviceStatus.PENDING, null, T1, null, null, null);

        assertRefused(() -> registry.addDevice(other, token("laptop-1", "-2")), "device.exists")
                .hasMessage("device laptop-1 already exists");
        assertThat(registry.device("laptop-1")).contains(device("laptop-1"));
        assertThat(registry.token(tokenHash("laptop-1", "-2"))).isEmpty();
    }

    @Test
    void addDevice_tokenForAnotherDevice_isRejected() {
        assertThatThrownBy(() -> registry.addDevice(device("laptop-1"), token("laptop-2")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("addDevice: token is for device laptop-2, expected laptop-1");
    }

    @Test
    void addDevice_reusedTokenHash_rollsBackTheDevice() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));
        EnrollmentToken sameHash = new EnrollmentToken(tokenHash("laptop-1", ""), "laptop-2", T0, T1, null);

        assertRefused(() -> registry.addDevice(device("laptop-2"), sameHash), "token.exists");
        assertThat(registry.device("laptop-2")).isEmpty();
    }

    @Test
    void addDevice_noGroupsNoSerial_roundTrips() {
        Device bare = new Device("bare", "bob", List.of(), DeviceStatus.PENDING, null, T0, null, null, null);
        registry.addDevice(bare, token("bare"));

        assertThat(registry.device("bare")).contains(bare);
    }

    @Test
    void devices_areOrderedById() {
        for (String id : List.of("c", "a", "b")) {
            registry.addDevice(device(id), token(id));
        }

        assertThat(registry.devices()).extracting(Device::id).containsExactly("a", "b", "c");
    }

    @Test
    void device_unknownId_isEmpty() {
        assertThat(registry.device("nope")).isEmpty();
        assertThat(registry.token("00")).isEmpty();
    }

    @Test
    void addToken_existingDevice_isStored() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));
        registry.addToken(token("laptop-1", "-2"));

        assertThat(registry.token(tokenHash("laptop-1", "-2"))).contains(token("laptop-1", "-2"));
    }

    @Test
    void addToken_unknownDevice_isRefused() {
        assertRefused(() -> registry.addToken(token("ghost")), "device.unknown").hasMessage("no device with id \"ghost\"");
    }

    @Test
    void addToken_revokedDevice_isRefused() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));
        registry.revokeDevice("laptop-1", RevocationReason.lost, T1);

        assertRefused(() -> registry.addToken(token("laptop-1", "-2")), "device.revoked");
    }

    @Test
    void touchDevice_recordsLastSeenAndPosture() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));
        registry.touchDevice("laptop-1", T1, "compliant");

        Device d = registry.device("laptop-1").orElseThrow();
        assertThat(d.lastSeen()).isEqualTo(T1);
        assertThat(d.lastPosture()).isEqualTo("compliant");
    }

    @Test
    void touchDevice_unknownId_isRefused() {
        assertRefused(() -> registry.touchDevice("ghost", T1, "compliant"), "device.unknown");
    }

    // ---- enrollment

    @Test
    void completeEnrollment_freshToken_activatesDeviceAndStoresCertificate() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));
        CertificateRecord cert = deviceCert("laptop-1", 101, T1);

        registry.completeEnrollment(tokenHash("laptop-1", ""), cert, T1);

        Device d = registry.device("laptop-1").orElseThrow();
        assertThat(d.status()).isEqualTo(DeviceStatus.ACTIVE);
        assertThat(d.enrolledAt()).isEqualTo(T1);
        assertThat(registry.token(tokenHash("laptop-1", "")).orElseThrow().usedAt()).isEqualTo(T1);
        assertThat(registry.certificate(BigInteger.valueOf(101))).hasValueSatisfying(r -> {
            assertThat(r).usingRecursiveComparison().isEqualTo(cert);
            assertThat(r.der()).isEqualTo(cert.der());
        });
    }

    @Test
    void completeEnrollment_reusedToken_isRefused() {
        enrolled(registry, "laptop-1", 101);

        assertRefused(() -> registry.completeEnrollment(tokenHash("laptop-1", ""), deviceCert("laptop-1", 102, T1), T1), "token.used")
                .hasMessageContaining("already used at " + T0.plusSeconds(60));
        assertThat(registry.certificate(BigInteger.valueOf(102))).isEmpty();
    }

    @Test
    void completeEnrollment_unknownToken_isRefused() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));

        assertRefused(() -> registry.completeEnrollment(tokenHash("laptop-1", "-other"), deviceCert("laptop-1", 101, T1), T1), "token.unknown");
    }

    @Test
    void completeEnrollment_expiredToken_isRefused() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));
        Instant late = T0.plus(Duration.ofDays(2));

        assertRefused(() -> registry.completeEnrollment(tokenHash("laptop-1", ""), deviceCert("laptop-1", 101, late), late), "token.expired");
        assertThat(registry.device("laptop-1").orElseThrow().status()).isEqualTo(DeviceStatus.PENDING);
    }

    @Test
    void completeEnrollment_certificateForAnotherDevice_isRejected() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));
        registry.addDevice(device("laptop-2"), token("laptop-2"));

        assertThatThrownBy(() -> registry.completeEnrollment(tokenHash("laptop-1", ""), deviceCert("laptop-2", 101, T1), T1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(registry.token(tokenHash("laptop-1", "")).orElseThrow().used()).isFalse();
    }

    @Test
    void completeEnrollment_suspendedPendingDevice_isRefused() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));
        registry.suspendDevice("laptop-1", T1);

        assertRefused(() -> registry.completeEnrollment(tokenHash("laptop-1", ""), deviceCert("laptop-1", 101, T2), T2), "device.state")
                .hasMessage("device laptop-1 is suspended; resume it before it enrolls");
    }

    @Test
    void completeEnrollment_duplicateSerial_isRefusedAndTokenStaysUnused() {
        enrolled(registry, "laptop-1", 101);
        registry.addDevice(device("laptop-2"), token("laptop-2"));

        assertRefused(() -> registry.completeEnrollment(tokenHash("laptop-2", ""), deviceCert("laptop-2", 101, T1), T1), "certificate.exists");
        assertThat(registry.token(tokenHash("laptop-2", "")).orElseThrow().used()).isFalse();
        assertThat(registry.device("laptop-2").orElseThrow().status()).isEqualTo(DeviceStatus.PENDING);
    }

    // ---- renewal and other certificates

    @Test
    void recordRenewal_supersede_revokesTheOldCertificateAsSuperseded() {
        enrolled(registry, "laptop-1", 101);
        CertificateRecord renewed = deviceCert("laptop-1", 102, T1);

        registry.recordRenewal(renewed, BigInteger.valueOf(101), T1);

        assertThat(registry.status(BigInteger.valueOf(102))).isInstanceOf(CertStatus.Good.class);
        assertThat(registry.status(BigInteger.valueOf(101))).isInstanceOfSatisfying(CertStatus.Revoked.class, s -> {
            assertThat(s.revokedAt()).isEqualTo(T1);
            assertThat(s.reason()).isEqualTo(RevocationReason.superseded);
            assertThat(s.certificate().revocationReason()).isEqualTo(RevocationReason.superseded);
        });
        assertThat(registry.certificatesOf("laptop-1")).extracting(CertificateRecord::serial)
                .containsExactly(BigInteger.valueOf(102), BigInteger.valueOf(101));
    }

    @Test
    void recordRenewal_withoutSupersede_keepsTheOldCertificateGood() {
        enrolled(registry, "laptop-1", 101);
        registry.recordRenewal(deviceCert("laptop-1", 102, T1), null, T1);

        assertThat(registry.status(BigInteger.valueOf(101))).isInstanceOf(CertStatus.Good.class);
        assertThat(registry.status(BigInteger.valueOf(102))).isInstanceOf(CertStatus.Good.class);
    }

    @Test
    void recordRenewal_supersedingAnotherDevicesCertificate_isRefused() {
        enrolled(registry, "laptop-1", 101);
        enrolled(registry, "laptop-2", 201);

        assertRefused(() -> registry.recordRenewal(deviceCert("laptop-1", 102, T1), BigInteger.valueOf(201), T1), "certificate.unknown")
                .hasMessage("certificate c9 is not a certificate of device laptop-1");
        assertThat(registry.certificate(BigInteger.valueOf(102))).isEmpty();
        assertThat(registry.status(BigInteger.valueOf(201))).isInstanceOf(CertStatus.Good.class);
    }

    @Test
    void recordRenewal_supersedingRevokedCertificate_isRefused() {
        enrolled(registry, "laptop-1", 101);
        registry.recordRenewal(deviceCert("laptop-1", 102, T1), BigInteger.valueOf(101), T1);

        assertRefused(() -> registry.recordRenewal(deviceCert("laptop-1", 103, T2), BigInteger.valueOf(101), T2), "certificate.revoked");
    }

    @Test
    void recordRenewal_suspendedDevice_isRefused() {
        enrolled(registry, "laptop-1", 101);
        registry.suspendDevice("laptop-1", T1);

        assertRefused(() -> registry.recordRenewal(deviceCert("laptop-1", 102, T2), BigInteger.valueOf(101), T2), "device.state");
    }

    @Test
    void recordRenewal_revokedDevice_isRefused() {
        enrolled(registry, "laptop-1", 101);
        registry.revokeDevice("laptop-1", RevocationReason.lost, T1);

        assertRefused(() -> registry.recordRenewal(deviceCert("laptop-1", 102, T2), null, T2), "device.revoked");
    }

    @Test
    void recordRenewal_unknownDevice_isRefused() {
        assertRefused(() -> registry.recordRenewal(deviceCert("ghost", 102, T2), null, T2), "device.unknown");
    }

    @Test
    void addCertificate_serverCertificate_isStoredWithoutDevice() {
        BigInteger serial = new BigInteger("00f3a91c2b4d5e6f7081", 16);
        CertificateRecord server = cert(CertificateRecord.Kind.server, null, serial, T0);

        registry.addCertificate(server);

        assertThat(registry.certificate(serial)).hasValueSatisfying(r -> assertThat(r).usingRecursiveComparison().isEqualTo(server));
        assertThat(registry.status(serial)).isInstanceOf(CertStatus.Good.class);
    }

    @Test
    void addCertificate_duplicateSerial_isRefused() {
        registry.addCertificate(cert(CertificateRecord.Kind.admin, null, BigInteger.TEN, T0));

        assertRefused(() -> registry.addCertificate(cert(CertificateRecord.Kind.ocsp, null, BigInteger.TEN, T1)), "certificate.exists");
    }

    @Test
    void addCertificate_deviceCertificate_isRejected() {
        assertThatThrownBy(() -> registry.addCertificate(deviceCert("laptop-1", 5, T0))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void status_unknownSerial_isUnknown() {
        assertThat(registry.status(BigInteger.valueOf(999))).isEqualTo(new CertStatus.Unknown());
        assertThat(registry.certificate(BigInteger.valueOf(999))).isEmpty();
    }

    @Test
    void certificatesOf_unknownDevice_isEmpty() {
        assertThat(registry.certificatesOf("ghost")).isEmpty();
    }

    // ---- revocation, suspension

    @Test
    void revokeDevice_revokesGoodCertificatesAndVoidsUnusedTokens() {
        enrolled(registry, "laptop-1", 101);
        registry.recordRenewal(deviceCert("laptop-1", 102, T1), BigInteger.valueOf(101), T1);
        registry.addToken(token("laptop-1", "-spare"));

        Device revoked = registry.revokeDevice("laptop-1", RevocationReason.keyCompromise, T2);

        assertThat(revoked.status()).isEqualTo(DeviceStatus.REVOKED);
        assertThat(registry.device("laptop-1")).contains(revoked);
        assertThat(registry.status(BigInteger.valueOf(102))).isInstanceOfSatisfying(CertStatus.Revoked.class, s -> {
            assertThat(s.revokedAt()).isEqualTo(T2);
            assertThat(s.reason()).isEqualTo(RevocationReason.keyCompromise);
        });
        // the superseded certificate keeps its reason and time
        assertThat(registry.status(BigInteger.valueOf(101))).isInstanceOfSatisfying(CertStatus.Revoked.class,
                s -> assertThat(s.reason()).isEqualTo(RevocationReason.superseded));
        assertRefused(() -> registry.completeEnrollment(tokenHash("laptop-1", "-spare"), deviceCert("laptop-1", 103, T2), T2), "device.revoked");
    }

    @Test
    void barredDevices_listsSuspendedAndRevokedOnly() {
        enrolled(registry, "laptop-1", 101);
        enrolled(registry, "laptop-2", 102);
        enrolled(registry, "laptop-3", 103);
        registry.addDevice(device("laptop-4"), token("laptop-4"));
        registry.suspendDevice("laptop-2", T1);
        registry.revokeDevice("laptop-3", RevocationReason.lost, T1);

        assertThat(registry.barredDevices()).containsExactly(
                java.util.Map.entry("laptop-2", DeviceStatus.SUSPENDED), java.util.Map.entry("laptop-3", DeviceStatus.REVOKED));
        registry.resumeDevice("laptop-2", T2);
        assertThat(registry.barredDevices()).containsOnlyKeys("laptop-3");
    }

    @Test
    void changeCount_movesOnCommitsOfThisAndAnotherHandle_notOnReads() {
        enrolled(registry, "laptop-1", 101);
        long before = registry.changeCount();
        assertThat(registry.changeCount()).as("no commit in between").isEqualTo(before);
        registry.suspendDevice("laptop-1", T1);
        long afterOwn = registry.changeCount();
        assertThat(afterOwn).as("a commit by this registry's writer").isNotEqualTo(before);

        registry.devices();
        registry.barredDevices();
        assertThat(registry.changeCount()).as("reads are not changes").isEqualTo(afterOwn);

        // a second instance on the same store, as a `postern pki device suspend` process or another gateway holds
        try (Registry other = open()) {
            other.resumeDevice("laptop-1", T2);
        }
        assertThat(registry.changeCount()).as("a commit by another handle").isNotEqualTo(afterOwn);
    }

    @Test
    void changeCount_closedRegistry_isUnavailable() {
        registry.close();
        assertRefused(() -> registry.changeCount(), "registry.unavailable").hasMessageContaining("is closed");
    }

    @Test
    void revokeDevice_voidedToken_isRefusedAsVoid() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));
        registry.revokeDevice("laptop-1", RevocationReason.retired, T1);
        // even if the device row were changed by hand, the voided token stays unusable
        execute("UPDATE devices SET status = 'pending'");

        assertRefused(() -> registry.completeEnrollment(tokenHash("laptop-1", ""), deviceCert("laptop-1", 101, T2), T2), "token.void")
                .hasMessageContaining("voided at " + T1);
    }

    @Test
    void revokeDevice_alreadyRevoked_isRefused() {
        enrolled(registry, "laptop-1", 101);
        registry.revokeDevice("laptop-1", RevocationReason.lost, T1);

        assertRefused(() -> registry.revokeDevice("laptop-1", RevocationReason.retired, T2), "device.revoked")
                .hasMessage("device laptop-1 is already revoked");
        assertThat(registry.status(BigInteger.valueOf(101))).isInstanceOfSatisfying(CertStatus.Revoked.class,
                s -> assertThat(s.reason()).isEqualTo(RevocationReason.lost));
    }

    @Test
    void revokeDevice_unknownId_isRefused() {
        assertRefused(() -> registry.revokeDevice("ghost", RevocationReason.lost, T1), "device.unknown");
    }

    @Test
    void revokeDevice_suspendedDevice_turnsHoldIntoRevocation() {
        enrolled(registry, "laptop-1", 101);
        registry.suspendDevice("laptop-1", T1);

        registry.revokeDevice("laptop-1", RevocationReason.lost, T2);

        assertThat(registry.status(BigInteger.valueOf(101))).isInstanceOfSatisfying(CertStatus.Revoked.class, s -> {
            assertThat(s.reason()).isEqualTo(RevocationReason.lost);
            assertThat(s.revokedAt()).isEqualTo(T1);
        });
        assertRefused(() -> registry.resumeDevice("laptop-1", T2), "device.state");
    }

    @Test
    void suspendDevice_activeDevice_putsCertificatesOnHold() {
        enrolled(registry, "laptop-1", 101);

        Device d = registry.suspendDevice("laptop-1", T1);

        assertThat(d.status()).isEqualTo(DeviceStatus.SUSPENDED);
        assertThat(registry.status(BigInteger.valueOf(101))).isInstanceOfSatisfying(CertStatus.Revoked.class, s -> {
            assertThat(s.reason()).isEqualTo(RevocationReason.certificateHold);
            assertThat(s.revokedAt()).isEqualTo(T1);
        });
    }

    @Test
    void suspendDevice_suspendedOrRevoked_isRefused() {
        enrolled(registry, "laptop-1", 101);
        registry.suspendDevice("laptop-1", T1);
        enrolled(registry, "laptop-2", 201);
        registry.revokeDevice("laptop-2", RevocationReason.lost, T1);

        assertRefused(() -> registry.suspendDevice("laptop-1", T2), "device.state")
                .hasMessage("device laptop-1 is suspended; only an active or pending device can be suspended");
        assertRefused(() -> registry.suspendDevice("laptop-2", T2), "device.state")
                .hasMessage("device laptop-2 is revoked; only an active or pending device can be suspended");
        assertRefused(() -> registry.suspendDevice("ghost", T2), "device.unknown");
    }

    @Test
    void resumeDevice_suspendedActive_clearsHoldOnly() {
        enrolled(registry, "laptop-1", 101);
        registry.recordRenewal(deviceCert("laptop-1", 102, T1), BigInteger.valueOf(101), T1);
        registry.suspendDevice("laptop-1", T1);

        Device d = registry.resumeDevice("laptop-1", T2);

        assertThat(d.status()).isEqualTo(DeviceStatus.ACTIVE);
        assertThat(registry.status(BigInteger.valueOf(102))).isInstanceOf(CertStatus.Good.class);
        assertThat(registry.status(BigInteger.valueOf(101))).isInstanceOfSatisfying(CertStatus.Revoked.class,
                s -> assertThat(s.reason()).isEqualTo(RevocationReason.superseded));
    }

    @Test
    void resumeDevice_suspendedPending_returnsToPending() {
        registry.addDevice(device("laptop-1"), token("laptop-1"));
        registry.suspendDevice("laptop-1", T1);

        assertThat(registry.resumeDevice("laptop-1", T2).status()).isEqualTo(DeviceStatus.PENDING);
        registry.completeEnrollment(tokenHash("laptop-1", ""), deviceCert("laptop-1", 101, T2), T2);
        assertThat(registry.device("laptop-1").orElseThrow().status()).isEqualTo(DeviceStatus.ACTIVE);
    }

    @Test
    void resumeDevice_notSuspended_isRefused() {
        enrolled(registry, "laptop-1", 101);

        assertRefused(() -> registry.resumeDevice("laptop-1", T1), "device.state")
                .hasMessage("device laptop-1 is active; only a suspended device can be resumed");
        assertRefused(() -> registry.resumeDevice("ghost", T1), "device.unknown");
    }

    // ---- CRL

    @Test
    void revokedCertificates_listsRevokedAndHeldUntilTheyExpire() {
        CertificateRecord lost = enrolled(registry, "lost", 1);
        enrolled(registry, "held", 2);
        enrolled(registry, "fine", 3);
        registry.revokeDevice("lost", RevocationReason.lost, T1);
        registry.suspendDevice("held", T1);

        assertThat(registry.revokedCertificates(T2)).extracting(CertificateRecord::serial)
                .containsExactly(BigInteger.ONE, BigInteger.TWO);
        assertThat(registry.revokedCertificates(lost.notAfter())).isEmpty();
    }

    @Test
    void nextCrlNumber_isMonotonicAndSurvivesReopen() {
        assertThat(registry.nextCrlNumber()).isEqualTo(BigInteger.ONE);
        assertThat(registry.nextCrlNumber()).isEqualTo(BigInteger.TWO);
        registry.close();
        registry = open();

        assertThat(registry.nextCrlNumber()).isEqualTo(BigInteger.valueOf(3));
    }

    // ---- lifecycle

    @Test
    void closedRegistry_isUnavailable() {
        registry.close();

        assertRefused(() -> registry.device("laptop-1"), "registry.unavailable").hasMessageContaining("is closed");
        assertRefused(() -> registry.nextCrlNumber(), "registry.unavailable").hasMessageContaining(storeName() + " is closed");
        registry.close(); // idempotent
    }

    @Test
    void open_tooNewSchema_isRefusedWithBothVersions() {
        execute("INSERT INTO schema_version (version, applied_at) VALUES (7, 0)");

        assertRefused(this::open, "registry.too_new")
                .hasMessageStartingWith(storeName() + " is at schema version 7, this Postern knows up to 2");
    }

    // ---- the remote-work charter

    static final String SHA_A = "a".repeat(64);
    static final String SHA_B = "0123456789abcdef".repeat(4);

    @Test
    void acceptCharter_roundTrip_latestAcceptanceWins() {
        enrolled(registry, "laptop-1", 101);
        assertThat(registry.charterAcceptance("laptop-1")).isEmpty();

        registry.acceptCharter(new CharterAcceptance("laptop-1", "alice", 1, SHA_A, T1));
        assertThat(registry.charterAcceptance("laptop-1")).contains(new CharterAcceptance("laptop-1", "alice", 1, SHA_A, T1));

        registry.acceptCharter(new CharterAcceptance("laptop-1", "alice", 2, SHA_B, T2));
        assertThat(registry.charterAcceptance("laptop-1")).contains(new CharterAcceptance("laptop-1", "alice", 2, SHA_B, T2));
        // another instance (a second gateway) sees it
        try (Registry other = open()) {
            assertThat(other.charterAcceptance("laptop-1")).contains(new CharterAcceptance("laptop-1", "alice", 2, SHA_B, T2));
        }
    }

    @Test
    void acceptCharter_unknownRevokedOrOtherOwner_isRefused() {
        assertRefused(() -> registry.acceptCharter(new CharterAcceptance("ghost", "alice", 1, SHA_A, T1)), "device.unknown");
        enrolled(registry, "laptop-1", 101);
        assertRefused(() -> registry.acceptCharter(new CharterAcceptance("laptop-1", "bob", 1, SHA_A, T1)), "device.owner_changed")
                .hasMessage("device laptop-1 is owned by alice, not by bob who accepted the charter");
        registry.revokeDevice("laptop-1", RevocationReason.retired, T1);
        assertRefused(() -> registry.acceptCharter(new CharterAcceptance("laptop-1", "alice", 1, SHA_A, T1)), "device.revoked");
        assertThat(registry.charterAcceptance("laptop-1")).isEmpty();
    }

    @Test
    void acceptCharter_suspendedOrPendingDevice_isRefused() {
        enrolled(registry, "laptop-1", 101);
        registry.suspendDevice("laptop-1", T1);
        assertRefused(() -> registry.acceptCharter(new CharterAcceptance("laptop-1", "alice", 1, SHA_A, T1)), "device.state")
                .hasMessage("device laptop-1 is suspended; only an active device can accept the charter");
        assertThat(registry.charterAcceptance("laptop-1")).isEmpty();
        registry.resumeDevice("laptop-1", T2);
        registry.acceptCharter(new CharterAcceptance("laptop-1", "alice", 1, SHA_A, T2));
        assertThat(registry.charterAcceptance("laptop-1")).isPresent();
    }

    /** Two gateways on one registry, one still on the previous charter: the older acceptance does not undo the newer. */
    @Test
    void acceptCharter_olderVersion_keepsTheNewer_unlessTheOwnerChanged() {
        enrolled(registry, "laptop-1", 101);
        registry.acceptCharter(new CharterAcceptance("laptop-1", "alice", 2, SHA_B, T1));
        try (Registry gatewayB = open()) {
            gatewayB.acceptCharter(new CharterAcceptance("laptop-1", "alice", 1, SHA_A, T2));
        }
        assertThat(registry.charterAcceptance("laptop-1")).contains(new CharterAcceptance("laptop-1", "alice", 2, SHA_B, T1));
        // the same version again (another text of it) is recorded: the latest words shown win
        registry.acceptCharter(new CharterAcceptance("laptop-1", "alice", 2, SHA_A, T2));
        assertThat(registry.charterAcceptance("laptop-1")).contains(new CharterAcceptance("laptop-1", "alice", 2, SHA_A, T2));
        // a new owner's acceptance replaces the previous owner's, whatever its version
        registry.updateDevice("laptop-1", "bob", List.of("dev"));
        registry.acceptCharter(new CharterAcceptance("laptop-1", "bob", 1, SHA_B, T2));
        assertThat(registry.charterAcceptance("laptop-1")).contains(new CharterAcceptance("laptop-1", "bob", 1, SHA_B, T2));
    }

    @Test
    void charterAcceptance_badValues_areRefusedByTheRecord() {
        assertThatThrownBy(() -> new CharterAcceptance("laptop-1", "alice", 0, SHA_A, T1))
                .hasMessage("charter version: expected a positive integer, found 0");
        assertThatThrownBy(() -> new CharterAcceptance("laptop-1", "alice", 1, "ABC", T1))
                .hasMessage("charter sha256: expected 64 lower-case hex digits, found \"ABC\"");
    }

    // ---- across instances (gateways)

    /**
     * The token race of two gateways: two instances on one store, one thread each, released together;
     * repeated, since one lucky ordering proves nothing. Exactly one enrollment wins each time.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void completeEnrollment_sameTokenAtOnceFromTwoInstances_exactlyOneWins() throws Exception {
        int rounds = 50;
        try (Registry other = open(); ExecutorService pool = Executors.newFixedThreadPool(2)) {
            for (int round = 0; round < rounds; round++) {
                String id = "laptop-" + round;
                registry.addDevice(device(id), token(id));
                CountDownLatch start = new CountDownLatch(1);
                List<Future<String>> racers = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    Registry r = t == 0 ? registry : other;
                    CertificateRecord cert = deviceCert(id, 1000L * round + t + 1, T1);
                    racers.add(pool.submit(() -> {
                        start.await(10, TimeUnit.SECONDS);
                        try {
                            r.completeEnrollment(tokenHash(id, ""), cert, T1);
                            return "ok";
                        } catch (RegistryException e) {
                            return e.code();
                        }
                    }));
                }
                start.countDown();
                List<String> outcomes = List.of(racers.get(0).get(30, TimeUnit.SECONDS), racers.get(1).get(30, TimeUnit.SECONDS));
                assertThat(outcomes).as("round %d", round).containsExactlyInAnyOrder("ok", "token.used");
                assertThat(registry.certificatesOf(id)).as("round %d", round).hasSize(1);
            }
        }
    }

    @Test
    void revocationByAnotherInstance_isSeenAtOnce() {
        enrolled(registry, "laptop-1", 101);
        try (Registry other = open()) {
            assertThat(other.device("laptop-1").orElseThrow().status()).isEqualTo(DeviceStatus.ACTIVE);
            other.revokeDevice("laptop-1", RevocationReason.keyCompromise, T1);
        }
        assertThat(registry.barredDevices()).containsEntry("laptop-1", DeviceStatus.REVOKED);
        assertThat(registry.status(BigInteger.valueOf(101))).isInstanceOf(CertStatus.Revoked.class);
    }
}
