package org.postern.audit.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.query.TestTrail;

/** The dashboard's days on a hand-computed trail: the remote-work report's figures per day, and denials per day. */
class DailyActivityTest {
    @TempDir
    Path tmp;

    @Test
    void days_countSessionsHoursComplianceAndDenials_asComputedByHand() {
        TestTrail t = new TestTrail(tmp.resolve("gw1"), "gw-1");
        // before the period: s0 runs 23:00 .. 01:00, its hour inside the period counts, its start does not
        t.add("2026-11-29T23:00:00.000Z", "session.start", "session", "s0", "device", "laptop-1", "user", "alice")
                .add("2026-11-30T01:00:00.000Z", "session.end", "session", "s0", "device", "laptop-1", "user", "alice", "reason", "client_closed")
                .add("2026-11-30T08:00:00.000Z", "posture.decision", "device", "laptop-2", "user", "bob", "result", "non_compliant",
                        "reasons", List.of("os.too_old"))
                .add("2026-11-30T08:05:00.000Z", "posture.decision", "device", "laptop-1", "user", "alice", "result", "compliant", "reasons", List.of())
                // s1 crosses midnight: 2 h on the 30th, 1 h on the 1st, started on the 30th
                .add("2026-11-30T22:00:00.000Z", "session.start", "session", "s1", "device", "laptop-1", "user", "alice")
                .add("2026-12-01T01:00:00.000Z", "session.end", "session", "s1", "device", "laptop-1", "user", "alice", "reason", "client_closed")
                .add("2026-12-01T09:00:00.000Z", "posture.decision", "device", "laptop-1", "user", "alice", "result", "compliant", "reasons", List.of())
                // s2 never ends: counts until the gateway's last record or the period's end, whichever is earlier
                .add("2026-12-01T10:00:00.000Z", "session.start", "session", "s2", "device", "laptop-1", "user", "alice")
                .add("2026-12-01T11:00:00.000Z", "access.denied", "session", "s2", "device", "laptop-1", "reason", "policy.no_rule")
                .add("2026-12-01T12:00:00.000Z", "audit.checkpoint", "reason", "interval")
                // after the period
                .add("2026-12-02T09:00:00.000Z", "access.denied", "device", "laptop-1", "reason", "policy.no_rule");
        // the period ends at 12:00 on the 1st, before the gateway's last record (2 Dec): s2 counts 10:00 .. 12:00
        DailyActivity.Result r = DailyActivity.run(TestTrail.open(new ArrayList<>(), t.dir).stream(),
                Instant.parse("2026-11-30T00:00:00Z"), Instant.parse("2026-12-01T12:00:00Z"));
        assertThat(r.days()).extracting(DailyActivity.Day::day)
                .containsExactly(LocalDate.parse("2026-11-30"), LocalDate.parse("2026-12-01"));
        DailyActivity.Day d30 = r.days().get(0);
        assertThat(d30.sessionsStarted()).isEqualTo(1);
        assertThat(d30.sessionTime()).isEqualTo(Duration.ofHours(3));
        assertThat(d30.sessionHours()).isEqualTo(3.0);
        assertThat(d30.postureDecisions()).isEqualTo(2);
        assertThat(d30.compliant()).isEqualTo(1);
        assertThat(d30.complianceRate()).isEqualTo(0.5);
        assertThat(d30.denialsByReason()).containsExactly(entry("os.too_old", 1L));
        DailyActivity.Day d1 = r.days().get(1);
        assertThat(d1.sessionsStarted()).isEqualTo(1);
        assertThat(d1.sessionTime()).isEqualTo(Duration.ofHours(1 + 2)); // s1's last hour, s2 10:00 .. the period's end 12:00
        assertThat(d1.postureDecisions()).isEqualTo(1);
        assertThat(d1.complianceRate()).isEqualTo(1.0);
        assertThat(d1.denialsByReason()).containsExactly(entry("policy.no_rule", 1L));
    }

    @Test
    void everyDayIsListed_emptyOnesToo_andAPeriodIsChecked() {
        TestTrail t = new TestTrail(tmp.resolve("gw1"), "gw-1");
        t.add("2026-11-30T08:00:00.000Z", "session.start", "session", "s1", "device", "laptop-1", "user", "alice")
                .add("2026-11-30T09:00:00.000Z", "session.end", "session", "s1", "device", "laptop-1", "user", "alice", "reason", "client_closed");
        DailyActivity.Result r = DailyActivity.run(TestTrail.open(new ArrayList<>(), t.dir).stream(),
                Instant.parse("2026-11-28T00:00:00Z"), Instant.parse("2026-12-01T00:00:00Z"));
        assertThat(r.days()).hasSize(3);
        assertThat(r.days().get(0).sessionsStarted()).isZero();
        assertThat(r.days().get(0).complianceRate()).isNull();
        assertThat(r.days().get(2).sessionTime()).isEqualTo(Duration.ofHours(1));
        assertThatThrownBy(() -> new DailyActivity(Instant.parse("2026-11-28T00:00:00Z"), Instant.parse("2026-11-28T00:00:00Z")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected a non-empty period");
        assertThatThrownBy(() -> new DailyActivity(Instant.parse("2000-01-01T00:00:00Z"), Instant.parse("2026-11-28T00:00:00Z")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected at most 3660 days");
    }
}
