package org.postern.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code postern audit report} counts the attempts outside the hours of remote work per user. */
class ReportOutsideHoursTest {

    @TempDir
    Path tmp;

    @Test
    void report_countsAccessDeniedOutsideHours_perUser_textAndCsv() throws Exception {
        Path dir = tmp.resolve("audit");
        new TestTrail(dir)
                .add("2026-11-30T10:00:00.000Z", "session.start", "session", "s1", "device", "laptop-1", "user", "alice", "via", "tls")
                .add("2026-11-30T10:00:01.000Z", "access.denied", "session", "s1", "device", "laptop-1", "user", "alice",
                        "dest", "db1.internal:5432", "reason", "access.no_rule", "detail", "x")
                .add("2026-11-30T19:00:00.000Z", "access.denied", "device", "laptop-2", "user", "bob", "dest", "db1.internal:5432",
                        "reason", "access.outside_hours", "detail", "after 18:00", "remedy", "access opens Tuesday 08:00 UTC")
                .add("2026-11-30T19:05:00.000Z", "access.denied", "device", "laptop-2", "user", "bob", "dest", "db1.internal:5432",
                        "reason", "access.outside_hours", "detail", "after 18:00", "remedy", "access opens Tuesday 08:00 UTC")
                .add("2026-11-30T20:00:00.000Z", "access.denied", "device", "laptop-1", "user", "alice", "dest", "db1.internal:5432",
                        "reason", "access.outside_hours", "detail", "after 18:00", "remedy", "access opens Tuesday 08:00 UTC")
                .add("2026-11-30T21:00:00.000Z", "session.end", "session", "s1", "device", "laptop-1", "user", "alice", "reason", "client_closed");

        AuditCommandTest.Run r = AuditCommandTest.run("audit", "report", dir.toString(), "--since", "2026-11-30", "--until", "2026-11-30");
        assertThat(r.code()).as(r.err()).isZero();
        String out = r.out().replaceAll(" +", " ");
        assertThat(out).contains("USER SESSIONS HOURS OUTSIDE HOURS\n").contains("alice 1 11.00 1\n").contains("bob 0 0.00 2\n");
        assertThat(out).contains("access.denied access.outside_hours 3\n").contains("access.denied access.no_rule 1\n");

        AuditCommandTest.Run csv = AuditCommandTest.run("audit", "report", dir.toString(), "--since", "2026-11-30", "--until", "2026-11-30", "--csv");
        assertThat(csv.code()).as(csv.err()).isZero();
        assertThat(csv.out()).contains("outside_hours,,bob,,,,2").contains("outside_hours,,alice,,,,1");
    }
}
