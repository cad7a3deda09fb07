package org.postern.config.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.ConfigException;

/** Remote-work hours of an access rule: reading, edges (from inclusive, to exclusive), exceptions, DST. */
class HoursTest {

    static final ZoneId CASABLANCA = ZoneId.of("Africa/Casablanca");
    static final ZoneId PARIS = ZoneId.of("Europe/Paris");
    static final Set<DayOfWeek> WEEKDAYS = EnumSet.range(DayOfWeek.MONDAY, DayOfWeek.FRIDAY);
    static final Hours OFFICE = new Hours(List.of(new Hours.Window(WEEKDAYS, 8 * 60, 18 * 60)),
            Set.of(LocalDate.parse("2026-12-25")));

    @TempDir
    Path dir;

    private AccessRules load(String access) throws IOException {
        return GatewaySettings.load(Files.writeString(dir.resolve("gateway.yaml"), "access:\n" + access)).access();
    }

    private List<String> problems(String access) throws IOException {
        Path f = Files.writeString(dir.resolve("gateway.yaml"), "access:\n" + access);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> GatewaySettings.load(f));
        assertThat(e).as("expected problems").isNotNull();
        return e.problems().stream().map(p -> p.replace(f.toString(), "gateway.yaml")).toList();
    }

    private static final String RULE = "  rules:\n    - name: staff\n      groups: [staff]\n      to: [\"10.0.0.0/8:443\"]\n";

    @Test
    void read_windowsZoneAndExceptions() throws IOException {
        AccessRules a = load(RULE + "      hours:\n        - {days: [mon, tue, wed, thu, fri], from: \"08:00\", to: \"18:00\"}\n"
                + "        - {days: [sat], from: \"09:00\", to: \"24:00\"}\n"
                + "      except: [\"2026-12-25\", \"2027-01-01\"]\n"
                + "  timeZone: Africa/Casablanca\n  endSessionsAtWindowEnd: true\n");
        assertThat(a.timeZone()).isEqualTo(CASABLANCA);
        assertThat(a.endSessionsAtWindowEnd()).isTrue();
        Hours h = a.rules().get(0).hours();
        assertThat(h).isNotNull();
        assertThat(h.windows()).containsExactly(new Hours.Window(WEEKDAYS, 480, 1080),
                new Hours.Window(EnumSet.of(DayOfWeek.SATURDAY), 540, 1440));
        assertThat(h.except()).containsExactly(LocalDate.parse("2026-12-25"), LocalDate.parse("2027-01-01"));
    }

    @Test
    void absent_alwaysOpen_utc_admissionOnly() throws IOException {
        AccessRules a = load(RULE);
        assertThat(a.rules().get(0).hours()).isNull();
        assertThat(a.timeZone()).isEqualTo(ZoneId.of("UTC"));
        assertThat(a.endSessionsAtWindowEnd()).isFalse();
    }

    @Test
    void badValues_nameTheKeyExpectedAndFound() throws IOException {
        assertThat(problems(RULE + "  timeZone: Mars/Olympus\n")).containsExactly(
                "gateway.yaml: access.timeZone: expected a time-zone id of the IANA database like Africa/Casablanca,"
                        + " Europe/Paris or UTC, found \"Mars/Olympus\"");
        assertThat(problems(RULE + "      hours:\n        - {days: [mon, funday], from: \"08:00\", to: \"18:00\"}\n"))
                .containsExactly("gateway.yaml: access.rules[0].hours[0].days[1]: expected a day of mon, tue, wed, thu,"
                        + " fri, sat, sun, found \"funday\"");
        assertThat(problems(RULE + "      hours:\n        - {days: [mon], from: \"18:00\", to: \"08:00\"}\n"))
                .containsExactly("gateway.yaml: access.rules[0].hours[0].to: expected a time after from 18:00 (a window"
                        + " never crosses midnight: write 22:00-24:00 and 00:00-06:00 as two windows), found 08:00");
        assertThat(problems(RULE + "      hours:\n        - {days: [mon], from: \"8h\", to: \"25:00\"}\n"))
                .containsExactly(
                        "gateway.yaml: access.rules[0].hours[0].from: expected a time HH:MM between \"00:00\" and \"24:00\","
                                + " like \"08:00\", found \"8h\"",
                        "gateway.yaml: access.rules[0].hours[0].to: expected a time HH:MM between \"00:00\" and \"24:00\","
                                + " like \"08:00\", found \"25:00\"");
        assertThat(problems(RULE + "      hours:\n        - {from: \"08:00\", to: \"18:00\"}\n")).containsExactly(
                "gateway.yaml: access.rules[0].hours[0].days: expected a list of days like [mon, tue, wed, thu, fri], found none");
        assertThat(problems(RULE + "      hours: []\n")).containsExactly(
                "gateway.yaml: access.rules[0].hours: expected at least one window like {days: [mon, fri], from: \"08:00\","
                        + " to: \"18:00\"}, found none (leave hours out for a rule that is always open)");
        assertThat(problems(RULE + "      hours:\n        - {days: [mon], from: \"08:00\", to: \"18:00\"}\n"
                + "      except: [\"25/12/2026\"]\n")).containsExactly(
                "gateway.yaml: access.rules[0].except[0]: expected a date YYYY-MM-DD like \"2026-12-25\", found \"25/12/2026\"");
        assertThat(problems(RULE + "      except: [\"2026-12-25\"]\n")).containsExactly(
                "gateway.yaml: access.rules[0].except: expected except only beside hours (the closed dates of a rule's"
                        + " windows), found except without hours");
        assertThat(problems(RULE + "      hours:\n        - {days: [mon], from: \"08:00\", to: \"18:00\", until: \"19:00\"}\n"))
                .singleElement().asString().contains("access.rules[0].hours[0].until: unknown key");
    }

    @Test
    void overlappingWindows_areFine() throws IOException {
        AccessRules a = load(RULE + "      hours:\n        - {days: [mon], from: \"08:00\", to: \"12:00\"}\n"
                + "        - {days: [mon], from: \"10:00\", to: \"18:00\"}\n");
        Instant mondayNoon = Instant.parse("2026-12-07T12:30:00Z");
        assertThat(a.rules().get(0).hours().openUntil(mondayNoon, ZoneOffset.UTC))
                .contains(Instant.parse("2026-12-07T18:00:00Z"));
    }

    @Test
    void window_crossingMidnight_isRefusedByTheRecordToo() {
        assertThatThrownBy(() -> new Hours.Window(WEEKDAYS, 22 * 60, 6 * 60)).hasMessage("hours window: expected from"
                + " before to (a window never crosses midnight: write 22:00-24:00 and 00:00-06:00 as two windows),"
                + " found from 22:00 to 06:00");
    }

    // Casablanca is UTC+1 outside Ramadan (no DST in winter): 08:00 local is 07:00Z on Monday 2026-12-07.

    @Test
    void edges_fromInclusive_toExclusive() {
        assertThat(OFFICE.isOpen(Instant.parse("2026-12-07T06:59:59Z"), CASABLANCA)).as("07:59:59 local").isFalse();
        assertThat(OFFICE.isOpen(Instant.parse("2026-12-07T07:00:00Z"), CASABLANCA)).as("08:00:00 local").isTrue();
        assertThat(OFFICE.isOpen(Instant.parse("2026-12-07T16:59:59Z"), CASABLANCA)).as("17:59:59 local").isTrue();
        assertThat(OFFICE.isOpen(Instant.parse("2026-12-07T17:00:00Z"), CASABLANCA)).as("18:00:00 local").isFalse();
        assertThat(OFFICE.openUntil(Instant.parse("2026-12-07T07:00:00Z"), CASABLANCA))
                .contains(Instant.parse("2026-12-07T17:00:00Z"));
    }

    @Test
    void weekend_andClosedDate_areClosed_nextOpeningSkipsThem() {
        Instant saturday = Instant.parse("2026-12-12T10:00:00Z");
        assertThat(OFFICE.isOpen(saturday, CASABLANCA)).isFalse();
        assertThat(OFFICE.nextOpening(saturday, CASABLANCA).orElseThrow().toInstant())
                .isEqualTo(Instant.parse("2026-12-14T07:00:00Z"));
        Instant christmas = Instant.parse("2026-12-25T10:00:00Z"); // a Friday
        assertThat(OFFICE.isOpen(christmas, CASABLANCA)).isFalse();
        assertThat(OFFICE.nextOpening(christmas, CASABLANCA).orElseThrow().toInstant())
                .as("Friday 25th closed, then the weekend: Monday 28th").isEqualTo(Instant.parse("2026-12-28T07:00:00Z"));
    }

    @Test
    void dst_paris_wallClockWindowsFollowTheChange() {
        Hours h = new Hours(List.of(new Hours.Window(EnumSet.allOf(DayOfWeek.class), 8 * 60, 18 * 60)), Set.of());
        // Sunday 2027-03-28 the clocks go forward at 02:00 (UTC+1 -> UTC+2)
        assertThat(h.isOpen(Instant.parse("2027-03-27T07:00:00Z"), PARIS)).as("Saturday 08:00 CET").isTrue();
        assertThat(h.isOpen(Instant.parse("2027-03-28T06:30:00Z"), PARIS)).as("Sunday 08:30 CEST").isTrue();
        assertThat(h.isOpen(Instant.parse("2027-03-28T05:59:59Z"), PARIS)).as("Sunday 07:59:59 CEST").isFalse();
        assertThat(h.nextOpening(Instant.parse("2027-03-27T20:00:00Z"), PARIS).orElseThrow().toInstant())
                .as("after the change 08:00 is 06:00Z").isEqualTo(Instant.parse("2027-03-28T06:00:00Z"));
        // Sunday 2026-10-25 the clocks go back at 03:00 (UTC+2 -> UTC+1): 18:00 local is 17:00Z
        assertThat(h.openUntil(Instant.parse("2026-10-25T10:00:00Z"), PARIS)).contains(Instant.parse("2026-10-25T17:00:00Z"));
        assertThat(h.openUntil(Instant.parse("2026-10-24T10:00:00Z"), PARIS)).contains(Instant.parse("2026-10-24T16:00:00Z"));
    }

    @Test
    void dst_windowStartingInTheSkippedHour_opensAfterIt() {
        Hours h = new Hours(List.of(new Hours.Window(EnumSet.of(DayOfWeek.SUNDAY), 2 * 60 + 30, 4 * 60)), Set.of());
        // 02:30 does not exist in Paris on 2027-03-28: the window opens at 03:00 CEST = 01:00Z
        assertThat(h.nextOpening(Instant.parse("2027-03-27T12:00:00Z"), PARIS).orElseThrow().toInstant())
                .isEqualTo(Instant.parse("2027-03-28T01:00:00Z"));
        assertThat(h.isOpen(Instant.parse("2027-03-28T01:00:00Z"), PARIS)).isTrue();
    }

    @Test
    void ramadan_casablanca_shiftsTheUtcTimesOfTheSameWindow() {
        // Morocco moves from UTC+1 to UTC+0 during Ramadan (2026: from 2026-02-15 to 2026-03-22, as tzdata records it)
        Instant before = Instant.parse("2026-02-09T07:00:00Z"); // Monday, UTC+1: 08:00 local
        Instant during = Instant.parse("2026-03-02T07:00:00Z"); // Monday, UTC+0: 07:00 local
        assertThat(OFFICE.isOpen(before, CASABLANCA)).isTrue();
        assertThat(CASABLANCA.getRules().getOffset(during)).as("tzdata: Ramadan offset").isEqualTo(ZoneOffset.UTC);
        assertThat(OFFICE.isOpen(during, CASABLANCA)).as("07:00 local during Ramadan").isFalse();
        assertThat(OFFICE.isOpen(during.plusSeconds(3600), CASABLANCA)).as("08:00 local during Ramadan").isTrue();
    }

    @Test
    void nightShift_twoWindows_openUntilJoinsThem() {
        Hours night = new Hours(List.of(new Hours.Window(EnumSet.of(DayOfWeek.MONDAY), 22 * 60, 1440),
                new Hours.Window(EnumSet.of(DayOfWeek.TUESDAY), 0, 6 * 60)), Set.of());
        assertThat(night.openUntil(Instant.parse("2026-12-07T23:00:00Z"), ZoneOffset.UTC))
                .contains(Instant.parse("2026-12-08T06:00:00Z"));
        assertThat(night.isOpen(Instant.parse("2026-12-08T06:00:00Z"), ZoneOffset.UTC)).isFalse();
    }

    @Test
    void closedForAYear_hasNoNextOpening() {
        Hours h = new Hours(List.of(new Hours.Window(EnumSet.of(DayOfWeek.MONDAY), 480, 600)),
                java.util.stream.Stream.iterate(LocalDate.parse("2026-12-07"), d -> d.plusWeeks(1)).limit(60)
                        .collect(java.util.stream.Collectors.toSet()));
        assertThat(h.nextOpening(Instant.parse("2026-12-06T00:00:00Z"), ZoneOffset.UTC)).isEmpty();
    }

    @Test
    void dst_windowAcrossTheSpringForwardGap_isShorterInRealTime_andEndsOnTheWallClock() {
        // Paris, Sunday 2027-03-28: 02:00 CET jumps to 03:00 CEST (01:00Z). A 01:00-04:00 window lasts two real hours.
        Hours h = new Hours(List.of(new Hours.Window(EnumSet.of(DayOfWeek.SUNDAY), 60, 4 * 60)), Set.of());
        Instant before = Instant.parse("2027-03-28T00:30:00Z"); // 01:30 CET
        assertThat(h.isOpen(before, PARIS)).isTrue();
        assertThat(h.openUntil(before, PARIS)).as("04:00 CEST").contains(Instant.parse("2027-03-28T02:00:00Z"));
        assertThat(h.isOpen(Instant.parse("2027-03-28T01:00:00Z"), PARIS)).as("03:00 CEST, right after the gap").isTrue();
        assertThat(h.isOpen(Instant.parse("2027-03-28T01:59:59Z"), PARIS)).as("03:59:59 CEST").isTrue();
        assertThat(h.isOpen(Instant.parse("2027-03-28T02:00:00Z"), PARIS)).as("04:00 CEST").isFalse();
    }

    @Test
    void dst_windowEndingInTheSpringForwardGap_endsWhereTheGapEnds() {
        // 00:00-02:30 on the day 02:00-03:00 does not exist: the window ends at 03:00 CEST, the first instant after it
        Hours h = new Hours(List.of(new Hours.Window(EnumSet.of(DayOfWeek.SUNDAY), 0, 2 * 60 + 30)), Set.of());
        assertThat(h.openUntil(Instant.parse("2027-03-28T00:59:59Z"), PARIS)).contains(Instant.parse("2027-03-28T01:00:00Z"));
        assertThat(h.isOpen(Instant.parse("2027-03-28T01:00:00Z"), PARIS)).as("03:00 CEST").isFalse();
    }

    @Test
    void dst_fallBack_theRepeatedHourIsInsideTwice_andTheWindowEndsOnItsSecondPass() {
        // Paris, Sunday 2026-10-25: 03:00 CEST goes back to 02:00 CET (01:00Z); 02:00-03:00 local happens twice
        Hours h = new Hours(List.of(new Hours.Window(EnumSet.of(DayOfWeek.SUNDAY), 2 * 60, 3 * 60)), Set.of());
        Instant first = Instant.parse("2026-10-25T00:30:00Z");  // 02:30 CEST
        Instant second = Instant.parse("2026-10-25T01:30:00Z"); // 02:30 CET
        assertThat(h.isOpen(first, PARIS)).isTrue();
        assertThat(h.isOpen(second, PARIS)).isTrue();
        assertThat(h.openUntil(first, PARIS)).as("03:00 CET, two real hours after 02:00 CEST")
                .contains(Instant.parse("2026-10-25T02:00:00Z"));
        assertThat(h.openUntil(second, PARIS)).contains(Instant.parse("2026-10-25T02:00:00Z"));
        assertThat(h.isOpen(Instant.parse("2026-10-25T02:00:00Z"), PARIS)).as("03:00 CET").isFalse();
        assertThat(h.isOpen(Instant.parse("2026-10-24T23:59:59Z"), PARIS)).as("01:59:59 CEST").isFalse();
    }

    @Test
    void dst_exceptOnTheDayOfTheChange_closesTheWholeLocalDay_23hOr25h() {
        Hours allDay = new Hours(List.of(new Hours.Window(EnumSet.allOf(DayOfWeek.class), 0, 1440)),
                Set.of(LocalDate.parse("2026-10-25"), LocalDate.parse("2027-03-28")));
        // 2026-10-25 in Paris is 25 hours long: 2026-10-24T22:00Z to 2026-10-25T23:00Z
        assertThat(allDay.isOpen(Instant.parse("2026-10-24T21:59:59Z"), PARIS)).as("Saturday 23:59:59 CEST").isTrue();
        assertThat(allDay.openUntil(Instant.parse("2026-10-24T10:00:00Z"), PARIS)).as("ends where the closed day begins")
                .contains(Instant.parse("2026-10-24T22:00:00Z"));
        assertThat(allDay.isOpen(Instant.parse("2026-10-24T22:00:00Z"), PARIS)).as("Sunday 00:00 CEST").isFalse();
        assertThat(allDay.isOpen(Instant.parse("2026-10-25T01:30:00Z"), PARIS)).as("the repeated hour").isFalse();
        assertThat(allDay.isOpen(Instant.parse("2026-10-25T22:59:59Z"), PARIS)).as("Sunday 23:59:59 CET").isFalse();
        assertThat(allDay.nextOpening(Instant.parse("2026-10-25T12:00:00Z"), PARIS).orElseThrow().toInstant())
                .as("Monday 00:00 CET").isEqualTo(Instant.parse("2026-10-25T23:00:00Z"));
        // 2027-03-28 is 23 hours long: 2027-03-27T23:00Z to 2027-03-28T22:00Z
        assertThat(allDay.isOpen(Instant.parse("2027-03-27T22:59:59Z"), PARIS)).isTrue();
        assertThat(allDay.isOpen(Instant.parse("2027-03-27T23:00:00Z"), PARIS)).isFalse();
        assertThat(allDay.isOpen(Instant.parse("2027-03-28T21:59:59Z"), PARIS)).isFalse();
        assertThat(allDay.isOpen(Instant.parse("2027-03-28T22:00:00Z"), PARIS)).as("Monday 00:00 CEST").isTrue();
    }

    @Test
    void warnBeforeWindowEnd_defaultTenMinutes_setAndBoundsNamed() throws IOException {
        assertThat(load(RULE).warnBeforeWindowEnd()).isEqualTo(java.time.Duration.ofMinutes(10));
        assertThat(load(RULE + "  warnBeforeWindowEnd: 25m\n").warnBeforeWindowEnd()).isEqualTo(java.time.Duration.ofMinutes(25));
        assertThat(load(RULE + "  warnBeforeWindowEnd: 0s\n").warnBeforeWindowEnd()).isZero();
        assertThat(load(RULE + "  warnBeforeWindowEnd: 23h59m\n").warnBeforeWindowEnd())
                .isEqualTo(java.time.Duration.ofMinutes(24 * 60 - 1));
        for (String bad : List.of("24h", "1d", "-5m", "10", "ten", "2d", "500ms", "1500ms")) {
            assertThat(problems(RULE + "  warnBeforeWindowEnd: \"" + bad + "\"\n")).as(bad).containsExactly(
                    "gateway.yaml: access.warnBeforeWindowEnd: expected a duration in whole seconds, at least 0s and less than 24h,"
                            + " like 10m, found \"" + bad + "\"");
        }
        assertThatThrownBy(() -> new AccessRules(List.of(), ZoneOffset.UTC, true, java.time.Duration.ofHours(24)))
                .hasMessage("access.warnBeforeWindowEnd: expected a duration in whole seconds, at least 0s and less than 24h, like 10m,"
                        + " found 1d");
        assertThatThrownBy(() -> new AccessRules(List.of(), ZoneOffset.UTC, true, java.time.Duration.ofMinutes(-1)))
                .hasMessage("access.warnBeforeWindowEnd: expected a duration in whole seconds, at least 0s and less than 24h, like 10m,"
                        + " found PT-1M");
        assertThatThrownBy(() -> new AccessRules(List.of(), ZoneOffset.UTC, true, java.time.Duration.ofMillis(500)))
                .as("sent to the agent in whole seconds: 500ms would be 0, no warning")
                .hasMessageStartingWith("access.warnBeforeWindowEnd: expected a duration in whole seconds,");
    }

    @Test
    void anyOpenFor_onlyRulesOfTheGroups_alwaysOpenCounts() {
        AccessRules.Rule office = new AccessRules.Rule("office", List.of("staff"), List.of(Destination.parse("10.0.0.0/8:443")),
                AccessRules.Rule.DEFAULT_PROTOCOLS, OFFICE);
        AccessRules.Rule admins = new AccessRules.Rule("admins", List.of("admins"), List.of(Destination.parse("10.0.0.0/8:22")));
        AccessRules a = new AccessRules(List.of(office, admins), CASABLANCA, true);
        Instant mondayNoon = Instant.parse("2026-12-07T11:00:00Z");
        Instant mondayEvening = Instant.parse("2026-12-07T17:00:00Z");
        assertThat(a.anyOpenFor(Set.of("staff"), mondayNoon)).isTrue();
        assertThat(a.anyOpenFor(Set.of("staff"), mondayEvening)).as("18:00 local: its only rule closed").isFalse();
        assertThat(a.anyOpenFor(Set.of("staff", "admins"), mondayEvening)).as("an always-open rule of another group").isTrue();
        assertThat(a.anyOpenFor(Set.of("guests"), mondayNoon)).as("no rule names them").isFalse();
    }
}
