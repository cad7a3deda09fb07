package org.postern.pki.registry;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;

/** Registry values for tests. The DER is placeholder bytes: the registry stores it, never parses it. */
final class Fixtures {
    static final Instant T0 = Instant.parse("2026-01-05T10:00:00Z");
    static final Clock CLOCK = Clock.fixed(T0, ZoneOffset.UTC);

    private Fixtures() {}

    static Device device(String id) {
        return new Device(id, "alice", List.of("admins", "dba"), DeviceStatus.PENDING, "SN-" + id, T0, null, null, null);
    }

    /** The token whose text is {@code "token-" + id + suffix}, valid a day from T0. */
    static EnrollmentToken token(String id, String suffix) {
        return new EnrollmentToken(tokenHash(id, suffix), id, T0, T0.plus(Duration.ofDays(1)), null);
    }

    static EnrollmentToken token(String id) {
        return token(id, "");
    }

    static String tokenHash(String id, String suffix) {
        return sha256("token-" + id + suffix);
    }

    static CertificateRecord deviceCert(String id, long serial, Instant issuedAt) {
        return cert(CertificateRecord.Kind.device, id, BigInteger.valueOf(serial), issuedAt);
    }

    static CertificateRecord cert(CertificateRecord.Kind kind, String deviceId, BigInteger serial, Instant issuedAt) {
        String subject = "CN=" + (deviceId != null ? deviceId : kind + "-" + serial);
        return new CertificateRecord(serial, kind, deviceId, subject, sha256(subject + "/" + serial),
                issuedAt.minus(Duration.ofMinutes(5)), issuedAt.plus(Duration.ofDays(90)), issuedAt, null, null,
                new byte[] {0x30, 0x03, 0x02, 0x01, (byte) serial.intValue()});
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Adds a device and enrolls it with certificate {@code serial} at T0 + 1 min. */
    static CertificateRecord enrolled(Registry r, String id, long serial) {
        r.addDevice(device(id), token(id));
        CertificateRecord cert = deviceCert(id, serial, T0.plusSeconds(60));
        r.completeEnrollment(tokenHash(id, ""), cert, T0.plusSeconds(60));
        return cert;
    }
}
