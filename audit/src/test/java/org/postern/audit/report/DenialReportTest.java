package org.postern.audit.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.query.AuditFilter;
import org.postern.audit.query.TestTrail;
import org.postern.audit.query.Trails;

/** Denied records counted per device and per reason, by the outcome rule of docs/audit.md. */
class DenialReportTest {
    @TempDir
    Path tmp;
    Trails trails;

    @BeforeEach
    void writeTrail() {
        TestTrail t = new TestTrail(tmp.resolve("gw1"), "gw-1");
        t.add("2026-11-29T09:00:00.000Z", "access.denied", "device", "laptop-1", "dest", "old.internal:22", "reason", "policy.no_rule")
                .add("2026-11-30T09:00:00.000Z", "access.denied", "device", "laptop-1", "dest", "secret.internal:22", "reason", "policy.no_rule")
                .add("2026-11-30T09:01:00.000Z", "access.denied", "device", "laptop-1", "dest", "secret.internal:22", "reason", "policy.no_rule")
                .add("2026-11-30T09:02:00.000Z", "access.denied", "device", "laptop-1", "dest", "db1.internal:5432", "reason", "access.outside_hours")
                .add("2026-11-30T10:00:00.000Z", "posture.decision", "device", "laptop-2", "result", "non_compliant",
                        "reasons", List.of("os.too_old", "disk.not_encrypted"))
                .add("2026-11-30T10:00:01.000Z", "posture.decision", "device", "laptop-2", "result", "compliant", "reasons", List.of())
                .add("2026-11-30T10:30:00.000Z", "session.end", "device", "laptop-2", "session", "s2", "reason", "non_compliant")
                .add("2026-11-30T10:40:00.000Z", "session.end", "device", "laptop-1", "session", "s1", "reason", "client_closed")
                .add("2026-11-30T11:00:00.000Z", "tls.rejected", "source", "198.51.100.7:4000", "reason", "cert.unknown_ca")
                .add("2026-11-30T11:05:00.000Z", "flow.open", "device", "laptop-1", "dest", "db1.internal:5432");
        trails = TestTrail.open(new ArrayList<>(), t.dir);
    }

    @Test
    void counts_perDevice_perReason_andBoth_inThePeriod() {
        AuditFilter since30 = new AuditFilter(Instant.parse("2026-11-30T00:00:00Z"), null, null, null, List.of(), null, null, null, false);
        DenialReport.Result r = DenialReport.run(trails.stream(), since30);
        assertThat(r.denied()).isEqualTo(6);
        assertThat(r.byDevice()).containsExactly(entry("-", 1L), entry("laptop-1", 3L), entry("laptop-2", 2L));
        assertThat(r.byReason()).containsExactly(entry("access.outside_hours", 1L), entry("cert.unknown_ca", 1L),
                entry("disk.not_encrypted", 1L), entry("non_compliant", 1L), entry("os.too_old", 1L), entry("policy.no_rule", 2L));
        assertThat(r.byDeviceAndReason().get("laptop-2")).containsExactly(entry("disk.not_encrypted", 1L), entry("non_compliant", 1L),
                entry("os.too_old", 1L));
        assertThat(r.byDeviceAndReason().get("-")).containsExactly(entry("cert.unknown_ca", 1L));
    }

    @Test
    void theFilter_narrowsWhatIsCounted() {
        AuditFilter laptop1 = new AuditFilter(null, null, "laptop-1", null, List.of(), null, null, "policy.no_rule", false);
        DenialReport.Result r = DenialReport.run(trails.stream(), laptop1);
        assertThat(r.denied()).isEqualTo(3);
        assertThat(r.byReason()).containsExactly(entry("policy.no_rule", 3L));
    }
}
