package org.postern.audit.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

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

/** One row per flow.open, its posture and policy columns taken from the flow, its session's start, or the device's last decision. */
class AccessReportTest {
    @TempDir
    Path tmp;
    Trails trails;
    final List<String> warnings = new ArrayList<>();

    @BeforeEach
    void writeTrails() {
        TestTrail gw1 = new TestTrail(tmp.resolve("gw1"), "gw-1");
        TestTrail gw2 = new TestTrail(tmp.resolve("gw2"), "gw-2");
        // a new-style session: posture and policy versions on session.start, and on the second flow too
        gw1.add("2026-11-30T10:00:00.000Z", "session.start", "session", "s1", "device", "laptop-1", "user", "alice", "via", "tls",
                        "posture", "compliant", "posturePolicy", "p7", "accessPolicy", "a3")
                .add("2026-11-30T10:05:00.000Z", "flow.open", "session", "s1", "flow", "f1", "device", "laptop-1", "user", "alice",
                        "dest", "db1.internal:5432", "destAddress", "10.0.0.5:5432")
                .add("2026-11-30T10:06:00.000Z", "flow.open", "session", "s1", "flow", "f2", "device", "laptop-1", "user", "alice",
                        "dest", "wiki.internal:443", "destAddress", "10.0.0.6:443", "posture", "compliant", "posturePolicy", "p8", "accessPolicy", "a4")
                // an old-style trail: nothing on the session or the flow, a posture decision before them
                .add("2026-11-30T11:00:00.000Z", "posture.decision", "device", "laptop-2", "user", "bob", "result", "compliant", "policyVersion", "6")
                .add("2026-11-30T11:00:01.000Z", "session.start", "session", "s2", "device", "laptop-2", "user", "bob", "via", "ssh")
                .add("2026-11-30T11:01:00.000Z", "flow.open", "session", "s2", "flow", "f3", "device", "laptop-2", "user", "bob", "via", "ssh",
                        "dest", "db1.internal:22", "destAddress", "10.0.0.5:22")
                .add("2026-11-30T11:30:00.000Z", "session.end", "session", "s1", "device", "laptop-1", "user", "alice", "reason", "client_closed")
                // a VPN flow of a session whose start is not in the trail, of a device never decided on
                .add("2026-11-30T12:00:00.000Z", "flow.open", "session", "s9", "flow", "f4", "device", "laptop-3", "user", "carol", "via", "vpn",
                        "dest", "10.0.0.7:53", "destAddress", "10.0.0.7:53", "protocol", "udp");
        // another gateway's session with the same id s1 and nothing said: gw-1's s1 must not leak into it
        gw2.add("2026-11-30T10:30:00.000Z", "session.start", "session", "s1", "device", "laptop-4", "user", "dave", "via", "tls")
                .add("2026-11-30T10:31:00.000Z", "flow.open", "session", "s1", "flow", "f1", "device", "laptop-4", "user", "dave",
                        "dest", "db1.internal:5432", "destAddress", "10.0.0.5:5432");
        trails = TestTrail.open(warnings, gw1.dir, gw2.dir);
    }

    @Test
    void rows_takeTheFlowsValues_elseTheSessionStarts_elseTheDevicesLastDecision_elseUnknown() {
        AccessReport.Result r = AccessReport.run(trails.stream(), AuditFilter.ALL, 100);
        assertThat(r.total()).isEqualTo(5);
        assertThat(r.truncated()).isFalse();
        assertThat(r.rows()).extracting(AccessReport.Row::gateway, AccessReport.Row::flow, AccessReport.Row::user, AccessReport.Row::device,
                        AccessReport.Row::dest, AccessReport.Row::via, AccessReport.Row::posture, AccessReport.Row::posturePolicy,
                        AccessReport.Row::accessPolicy)
                .containsExactly(
                        tuple("gw-1", "f1", "alice", "laptop-1", "db1.internal:5432", "connect", "compliant", "p7", "a3"),
                        tuple("gw-1", "f2", "alice", "laptop-1", "wiki.internal:443", "connect", "compliant", "p8", "a4"),
                        tuple("gw-2", "f1", "dave", "laptop-4", "db1.internal:5432", "connect", "unknown", "unknown", "unknown"),
                        tuple("gw-1", "f3", "bob", "laptop-2", "db1.internal:22", "ssh", "compliant", "6", "unknown"),
                        tuple("gw-1", "f4", "carol", "laptop-3", "10.0.0.7:53", "vpn", "unknown", "unknown", "unknown"));
        assertThat(r.rows().getFirst().time()).isEqualTo(Instant.parse("2026-11-30T10:05:00Z"));
        assertThat(r.rows().getFirst().session()).isEqualTo("s1");
        assertThat(r.rows().getFirst().destAddress()).isEqualTo("10.0.0.5:5432");
        assertThat(warnings).isEmpty();
    }

    @Test
    void filter_choosesTheRows_butTheRecordsBeforeThemStillCount() {
        // the filter's period starts after session.start and the decision: their values are still used
        AuditFilter db1After1030 = new AuditFilter(Instant.parse("2026-11-30T10:30:00Z"), null, null, null, List.of(), null,
                "db1.internal", null, false);
        AccessReport.Result r = AccessReport.run(trails.stream(), db1After1030, 100);
        assertThat(r.rows()).extracting(AccessReport.Row::gateway, AccessReport.Row::flow, AccessReport.Row::posturePolicy)
                .containsExactly(tuple("gw-2", "f1", "unknown"), tuple("gw-1", "f3", "6"));
    }

    @Test
    void run_keepsTheFirstRows_andCountsAll() {
        AccessReport.Result r = AccessReport.run(trails.stream(), AuditFilter.ALL, 2);
        assertThat(r.rows()).hasSize(2);
        assertThat(r.total()).isEqualTo(5);
        assertThat(r.truncated()).isTrue();
    }
}
