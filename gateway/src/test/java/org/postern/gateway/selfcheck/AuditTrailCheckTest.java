package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.AuditEvent;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.SharedAuditTrail;

/** On a real trail, written by the PKI commands' writer and signed with DATA/audit.key. */
class AuditTrailCheckTest {
    @TempDir
    Path data;
    Path trail;

    @BeforeEach
    void writeTrail() throws Exception {
        // as the PKI commands write their trail (PkiContext.auditTrail in cli): DATA/audit.key, audit.pub beside it
        AuditKeys keys = AuditKeys.loadOrCreate(data.resolve("audit.key"), new SecureRandom());
        keys.exportPublicKey(data.resolve("audit.pub"));
        trail = data.resolve(Selfcheck.PKI_TRAIL);
        try (var audit = new SharedAuditTrail(trail, "pki@test", keys)) {
            for (int i = 0; i < 3; i++) {
                audit.record(AuditEvent.of("pki.token.create", Instant.now()).with("device", "laptop-" + i).build());
            }
        }
    }

    private List<Finding> run(boolean siemed, String siemAddress, Path cursor) throws Exception {
        return new AuditTrailCheck(List.of(new AuditTrailCheck.Trail(trail, siemed)), data.resolve("audit.pub"), siemAddress,
                cursor).run();
    }

    @Test
    void intact_isInfo() throws Exception {
        List<Finding> f = run(false, null, null);
        assertThat(Findings.of(f, Severity.CRITICAL)).isEmpty();
        assertThat(Findings.of(f, Severity.WARNING)).isEmpty();
        assertThat(f.getFirst().message()).startsWith("the audit trail " + trail + " verifies: ");
    }

    @Test
    void editedRecord_isCritical() throws Exception {
        Path segment;
        try (var s = Files.list(trail)) {
            segment = s.filter(p -> p.getFileName().toString().startsWith("segment-")).sorted().findFirst().orElseThrow();
        }
        String text = Files.readString(segment, StandardCharsets.UTF_8);
        Files.writeString(segment, text.replace("laptop-1", "laptop-9"), StandardCharsets.UTF_8);
        Finding c = Findings.only(run(false, null, null), Severity.CRITICAL);
        assertThat(c.message()).startsWith("the audit trail " + trail + " is broken: edited at " + segment.getFileName());
        assertThat(c.fix()).startsWith("do not open the gateway");
    }

    @Test
    void missingPublicKey_isWarning() throws Exception {
        Files.delete(data.resolve("audit.pub"));
        Finding w = Findings.only(run(false, null, null), Severity.WARNING);
        assertThat(w.message()).startsWith("cannot verify the audit trails: the audit public key");
    }

    @Test
    void noSiem_isWarning() throws Exception {
        Finding w = Findings.only(run(true, null, null), Severity.WARNING);
        assertThat(w.message()).isEqualTo("audit.siem is not configured: the audit trail exists only on this host");
    }

    @Test
    void siemLag_fromTheCursor() throws Exception {
        Path cursor = data.resolve("audit/siem.cursor");
        Files.writeString(cursor, "postern-siem-cursor/1 seq=1\n");
        List<Finding> f = run(true, "siem.example.org:6514", cursor);
        assertThat(f).extracting(Finding::message).anyMatch(m -> m.matches(
                "audit\\.siem forwards to siem\\.example\\.org:6514, \\d+ records behind"));
        assertThat(Findings.of(f, Severity.WARNING)).isEmpty();
    }

    @Test
    void siemFarBehind_isWarning() throws Exception {
        Path cursor = data.resolve("audit/siem.cursor");
        Files.writeString(cursor, "postern-siem-cursor/1 seq=2\n");
        // a lag bound of 2 records instead of 1000: the same comparison without writing a thousand records
        Finding w = Findings.only(new AuditTrailCheck(List.of(new AuditTrailCheck.Trail(trail, true)),
                data.resolve("audit.pub"), "siem.example.org:6514", cursor, 2).run(), Severity.WARNING);
        assertThat(w.message()).matches("audit\\.siem at siem\\.example\\.org:6514 is \\d+ records behind \\(confirmed seq 2 of \\d+\\)");
    }

    @Test
    void noTrailYet_isInfo_emptyTrailDirectory_isWarning() throws Exception {
        Path none = data.resolve("audit/trail");
        List<Finding> f = new AuditTrailCheck(List.of(new AuditTrailCheck.Trail(none, false)), data.resolve("audit.pub"), null,
                null).run();
        assertThat(f).singleElement().extracting(Finding::message).isEqualTo("no audit trail yet in " + none
                + " (nothing has written one)");
        Files.createDirectories(none);
        Finding w = Findings.only(new AuditTrailCheck(List.of(new AuditTrailCheck.Trail(none, false)), data.resolve("audit.pub"),
                null, null).run(), Severity.WARNING);
        assertThat(w.message()).isEqualTo("the audit trail directory " + none + " holds no segment");
    }
}
