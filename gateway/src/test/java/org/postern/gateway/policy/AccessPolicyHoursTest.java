package org.postern.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Clock;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.AccessRules.Rule;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.Hours;
import org.postern.config.gateway.Protocol;

/** Remote-work hours in the one access decision, on an injected clock. */
class AccessPolicyHoursTest {

    private static final Set<String> STAFF = Set.of("staff");
    private static final ZoneId CASABLANCA = ZoneId.of("Africa/Casablanca");
    private static final InetAddress DB = InetAddress.ofLiteral("10.0.0.5");
    private static final Hours OFFICE = new Hours(List.of(new Hours.Window(EnumSet.range(DayOfWeek.MONDAY,
            DayOfWeek.FRIDAY), 8 * 60, 18 * 60)), Set.of(LocalDate.parse("2026-12-25")));

    private static Rule windowed(String name, String to, Hours hours) {
        return new Rule(name, List.of("staff"), List.of(Destination.parse(to)), Rule.DEFAULT_PROTOCOLS, hours);
    }

    private static AccessPolicy policy(Instant now, Rule... rules) {
        return AccessPolicy.of(new AccessRules(List.of(rules), CASABLANCA, false), new ForbiddenAddresses(Set.of()),
                Clock.fixed(now, ZoneOffset.UTC));
    }

    private static AccessDecision.Denied denied(AccessDecision d) {
        assertThat(d).isInstanceOf(AccessDecision.Denied.class);
        return (AccessDecision.Denied) d;
    }

    @Test
    void inside_allowedWithTheWindowsEnd_outside_refusedWithTheNextOpening() {
        Rule office = windowed("office", "10.0.0.0/24:5432", OFFICE);
        assertThat(policy(Instant.parse("2026-12-07T07:00:00Z"), office).decide(STAFF, "10.0.0.5", 5432, DB))
                .as("Monday 08:00 local: from is inclusive")
                .isEqualTo(new AccessDecision.Allowed("office", Instant.parse("2026-12-07T17:00:00Z")));
        AccessDecision.Denied d = denied(policy(Instant.parse("2026-12-07T17:00:00Z"), office)
                .decide(STAFF, "10.0.0.5", 5432, DB));
        assertThat(d.reason()).isEqualTo("access.outside_hours").isEqualTo(AccessDecision.OUTSIDE_HOURS);
        assertThat(d.remedy()).isEqualTo("access opens Tuesday 08:00 Africa/Casablanca");
        assertThat(d.detail()).isEqualTo("groups [staff] asked for 10.0.0.5:5432 at 2026-12-07T18:00 Africa/Casablanca,"
                + " outside the hours of office (08:00-18:00 mon,tue,wed,thu,fri; closed [2026-12-25]);"
                + " access opens Tuesday 08:00 Africa/Casablanca");
    }

    @Test
    void closedDate_remedySkipsItAndTheWeekend() {
        AccessDecision.Denied d = denied(policy(Instant.parse("2026-12-25T09:00:00Z"), windowed("office", "10.0.0.0/24:5432", OFFICE))
                .decide(STAFF, "10.0.0.5", 5432, DB));
        assertThat(d.remedy()).isEqualTo("access opens Monday 08:00 Africa/Casablanca");
    }

    @Test
    void remedyMoreThanAWeekAway_namesTheDate() {
        Hours january = new Hours(OFFICE.windows(), Set.of(LocalDate.parse("2026-12-28"), LocalDate.parse("2026-12-29"),
                LocalDate.parse("2026-12-30"), LocalDate.parse("2026-12-31"), LocalDate.parse("2027-01-01")));
        AccessDecision.Denied d = denied(policy(Instant.parse("2026-12-26T09:00:00Z"), windowed("office", "10.0.0.0/24:5432", january))
                .decide(STAFF, "10.0.0.5", 5432, DB));
        assertThat(d.remedy()).isEqualTo("access opens Monday 2027-01-04 08:00 Africa/Casablanca");
    }

    @Test
    void alwaysOpenRule_winsOverAWindowedOne_soTheFlowIsNotTiedToAWindow() {
        Rule office = windowed("office", "10.0.0.0/24:5432", OFFICE);
        Rule oncall = new Rule("oncall", List.of("staff"), List.of(Destination.parse("10.0.0.5:5432")));
        assertThat(policy(Instant.parse("2026-12-07T10:00:00Z"), office, oncall).decide(STAFF, "10.0.0.5", 5432, DB))
                .isEqualTo(new AccessDecision.Allowed("oncall"));
        assertThat(policy(Instant.parse("2026-12-12T10:00:00Z"), office, oncall).decide(STAFF, "10.0.0.5", 5432, DB))
                .isEqualTo(new AccessDecision.Allowed("oncall"));
    }

    @Test
    void noMatchingRule_staysNoRule_notOutsideHours() {
        Rule office = windowed("office", "10.0.0.0/24:5432", OFFICE);
        assertThat(denied(policy(Instant.parse("2026-12-12T10:00:00Z"), office).decide(STAFF, "10.0.0.5", 22, DB)).reason())
                .isEqualTo(AccessDecision.NO_RULE);
    }

    @Test
    void vpnProtocols_getTheSameHours() {
        Rule dns = new Rule("dns", List.of("staff"), List.of(Destination.parse("10.0.0.53:53")), EnumSet.of(Protocol.UDP), OFFICE);
        InetAddress resolver = InetAddress.ofLiteral("10.0.0.53");
        assertThat(policy(Instant.parse("2026-12-12T10:00:00Z"), dns).decide(STAFF, Protocol.UDP, "10.0.0.53", 53, resolver))
                .isInstanceOf(AccessDecision.Denied.class)
                .extracting(d -> ((AccessDecision.Denied) d).reason()).isEqualTo("access.outside_hours");
    }

    @Test
    void forbiddenAddressNamedByAWindowedRule_isOpenOnlyInItsHours() {
        Rule local = windowed("local", "127.0.0.1:8080", OFFICE);
        InetAddress lo = InetAddress.ofLiteral("127.0.0.1");
        assertThat(policy(Instant.parse("2026-12-07T10:00:00Z"), local).decide(STAFF, "127.0.0.1", 8080, lo))
                .isInstanceOf(AccessDecision.Allowed.class);
        assertThat(denied(policy(Instant.parse("2026-12-12T10:00:00Z"), local).decide(STAFF, "127.0.0.1", 8080, lo)).reason())
                .isEqualTo("access.outside_hours");
    }

    @Test
    void version_changesWithHours_butNotForRulesWithout() {
        Rule plain = new Rule("r", List.of("staff"), List.of(Destination.parse("10.0.0.5:22")));
        assertThat(AccessPolicyVersion.digest(new AccessRules(List.of(plain))))
                .isEqualTo(AccessPolicyVersion.digest(new AccessRules(List.of(plain), CASABLANCA, false)));
        String withHours = AccessPolicyVersion.digest(new AccessRules(List.of(windowed("r", "10.0.0.5:22", OFFICE))));
        assertThat(withHours).isNotEqualTo(AccessPolicyVersion.digest(new AccessRules(List.of(plain))));
        assertThat(withHours).isNotEqualTo(AccessPolicyVersion.digest(
                new AccessRules(List.of(windowed("r", "10.0.0.5:22", OFFICE)), CASABLANCA, false)));
    }
}
