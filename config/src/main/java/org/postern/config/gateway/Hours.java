package org.postern.config.gateway;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.postern.config.ConfigReader;

/**
 * The hours of remote work of one access rule ({@code hours:} and {@code except:}), read on the
 * wall clock of {@code access.timeZone}. A rule with hours is open when the local date is not one
 * of {@code except} and one of its windows names the local day and {@code from <= local time < to}:
 * {@code from} inclusive, {@code to} exclusive, so {@code 08:00–18:00} admits 08:00:00 and refuses
 * 18:00:00.
 *
 * <p>A window never crosses midnight: {@code from} must come before {@code to}, and {@code to} may be
 * {@code "24:00"} (the end of the day). A night shift is two windows, {@code 22:00–24:00} on one day
 * and {@code 00:00–06:00} on the next; {@link #openUntil} joins them, so a live session admitted at
 * 23:00 runs to 06:00. Refusing crossing windows keeps "which day does this window belong to, and
 * which date does an exception close" without a second answer.
 *
 * <p>Daylight saving: the windows are wall-clock times. On the day the clocks go forward, a window
 * starting in the skipped hour opens at the first wall-clock instant after it; on the day they go
 * back, a window covers the repeated hour twice (it lasts one hour longer in real time).
 *
 * @param windows at least one
 * @param except  local dates on which the rule is closed all day (public holidays)
 */
public record Hours(List<Window> windows, Set<LocalDate> except) {

    /** How far ahead {@link #nextOpening} looks: a rule closed for longer is reported as never opening. */
    static final int LOOKAHEAD_DAYS = 400;

    public Hours {
        windows = List.copyOf(Objects.requireNonNull(windows, "windows"));
        if (windows.isEmpty()) {
            throw new IllegalArgumentException("hours: expected at least one window, found none");
        }
        except = Collections.unmodifiableSet(new TreeSet<>(Objects.requireNonNull(except, "except")));
    }

    /**
     * One window: on each of {@code days}, from minute {@code from} of the day (inclusive) to minute
     * {@code to} (exclusive); {@code to} = 1440 is the end of the day.
     */
    public record Window(Set<DayOfWeek> days, int from, int to) {
        public Window {
            Objects.requireNonNull(days, "days");
            if (days.isEmpty()) {
                throw new IllegalArgumentException("hours window: expected at least one day, found none");
            }
            days = Collections.unmodifiableSet(EnumSet.copyOf(days));
            if (from < 0 || from >= 1440 || to < 1 || to > 1440) {
                throw new IllegalArgumentException("hours window: expected times between 00:00 and 24:00, found "
                        + clock(from) + "-" + clock(to));
            }
            if (from >= to) {
                throw new IllegalArgumentException("hours window: expected from before to (a window never crosses"
                        + " midnight: write 22:00-24:00 and 00:00-06:00 as two windows), found from " + clock(from)
                        + " to " + clock(to));
            }
        }

        /** {@code 08:00-18:00 mon,tue}, as the detail and the audit trail show it. */
        @Override
        public String toString() {
            return clock(from) + "-" + clock(to) + " " + days.stream().map(Hours::dayName)
                    .reduce((a, b) -> a + "," + b).orElse("");
        }
    }

    /** Whether the rule is open at {@code instant} in {@code zone}. */
    public boolean isOpen(Instant instant, ZoneId zone) {
        ZonedDateTime t = instant.atZone(zone);
        return openWindowEnd(t.toLocalDate(), t.toLocalTime().toSecondOfDay()) >= 0;
    }

    /**
     * When the window open at {@code instant} closes, following windows that start exactly where it
     * ends (a night shift written as two windows); empty when the rule is closed at {@code instant}.
     */
    public Optional<Instant> openUntil(Instant instant, ZoneId zone) {
        ZonedDateTime t = instant.atZone(zone);
        LocalDate date = t.toLocalDate();
        int end = openWindowEnd(date, t.toLocalTime().toSecondOfDay());
        if (end < 0) {
            return Optional.empty();
        }
        // Bounded: a rule open around the clock for LOOKAHEAD_DAYS is reported as closing then.
        for (int i = 0; i < LOOKAHEAD_DAYS && end == 1440 * 60; i++) {
            LocalDate next = date.plusDays(1);
            int more = openWindowEnd(next, 0);
            if (more < 0) {
                break;
            }
            date = next;
            end = more;
        }
        return Optional.of(at(date, end / 60, zone).toInstant());
    }

    /** The next instant after {@code instant} at which a window opens; empty when none does within about a year. */
    public Optional<ZonedDateTime> nextOpening(Instant instant, ZoneId zone) {
        ZonedDateTime t = instant.atZone(zone);
        LocalDate date = t.toLocalDate();
        for (int i = 0; i < LOOKAHEAD_DAYS; i++, date = date.plusDays(1)) {
            if (except.contains(date)) {
                continue;
            }
            DayOfWeek dow = date.getDayOfWeek();
            LocalDate d = date;
            Optional<ZonedDateTime> first = windows.stream().filter(w -> w.days().contains(dow))
                    .map(w -> at(d, w.from(), zone)).filter(s -> s.isAfter(t))
                    .min(Comparator.naturalOrder());
            if (first.isPresent()) {
                return first;
            }
        }
        return Optional.empty();
    }

    /** The end (second of the day, up to 86400) of the latest window open at {@code second} of {@code date}; -1 when none. */
    private int openWindowEnd(LocalDate date, int second) {
        if (except.contains(date)) {
            return -1;
        }
        int end = -1;
        for (Window w : windows) {
            if (w.days().contains(date.getDayOfWeek()) && w.from() * 60 <= second && second < w.to() * 60) {
                end = Math.max(end, w.to() * 60);
            }
        }
        // A window that starts where an open one ends continues it (08:00-12:00 and 12:00-18:00).
        boolean grew = end >= 0;
        while (grew) {
            grew = false;
            for (Window w : windows) {
                if (w.days().contains(date.getDayOfWeek()) && w.from() * 60 <= end && w.to() * 60 > end) {
                    end = w.to() * 60;
                    grew = true;
                }
            }
        }
        return end;
    }

    /** Minute {@code minute} (0..1440) of {@code date} in {@code zone}; 1440 is the next day's start. */
    private static ZonedDateTime at(LocalDate date, int minute, ZoneId zone) {
        if (minute >= 1440) {
            return date.plusDays(1).atStartOfDay(zone);
        }
        java.time.LocalDateTime local = date.atTime(LocalTime.ofSecondOfDay(minute * 60L));
        java.time.zone.ZoneOffsetTransition gap = zone.getRules().getTransition(local);
        if (gap != null && gap.isGap()) {
            // 02:30 does not exist that day: the window is open from the first instant after the gap (03:00),
            // as isOpen sees it, not 03:30 where ZonedDateTime.of would shift it
            return gap.getInstant().atZone(zone);
        }
        // in an overlap (clocks going back), the earlier of the two instants
        return ZonedDateTime.of(local, zone);
    }

    // ---- reading ------------------------------------------------------------------------------

    static final String EXPECTED_DAY = "a day of mon, tue, wed, thu, fri, sat, sun";
    static final String EXPECTED_TIME = "a time HH:MM between \"00:00\" and \"24:00\", like \"08:00\"";
    private static final Pattern TIME = Pattern.compile("([01][0-9]|2[0-4]):([0-5][0-9])");

    static String dayName(DayOfWeek d) {
        return d.name().substring(0, 3).toLowerCase(Locale.ROOT);
    }

    static @Nullable DayOfWeek parseDay(String s) {
        for (DayOfWeek d : DayOfWeek.values()) {
            if (dayName(d).equals(s.trim().toLowerCase(Locale.ROOT))) {
                return d;
            }
        }
        return null;
    }

    /** {@code HH:MM} as minutes of the day, 0..1440; -1 when malformed. */
    static int parseTime(String s) {
        Matcher m = TIME.matcher(s.trim());
        if (!m.matches()) {
            return -1;
        }
        int minutes = Integer.parseInt(m.group(1)) * 60 + Integer.parseInt(m.group(2));
        return minutes > 1440 ? -1 : minutes;
    }

    static String clock(int minute) {
        return String.format(Locale.ROOT, "%02d:%02d", minute / 60, minute % 60);
    }

    /**
     * Binds a rule's {@code hours:} and {@code except:}; null when it has none (always open) or has
     * problems (each reported; {@code ok[0]} set false then).
     */
    static @Nullable Hours read(ConfigReader r, boolean[] ok) {
        List<Window> windows = new ArrayList<>();
        boolean hasHours = r.has("hours");
        int asked = r.listSize("hours");
        List<Window> read = r.list("hours", Hours::readWindow);
        if (asked == 0) {
            r.report("hours", "expected at least one window like {days: [mon, fri], from: \"08:00\", to: \"18:00\"},"
                    + " found none (leave hours out for a rule that is always open)");
            ok[0] = false;
        }
        if (hasHours && read.size() != asked) {
            ok[0] = false; // a window with problems (reported) or hours that is not a list (reported)
        }
        windows.addAll(read);
        Set<LocalDate> except = new TreeSet<>();
        List<String> dates = r.stringList("except", null);
        if (dates != null) {
            if (!hasHours) {
                r.report("except", "expected except only beside hours (the closed dates of a rule's windows),"
                        + " found except without hours");
                ok[0] = false;
            }
            for (int i = 0; i < dates.size(); i++) {
                try {
                    except.add(LocalDate.parse(dates.get(i).trim()));
                } catch (java.time.format.DateTimeParseException e) {
                    r.report("except[" + i + "]", "expected a date YYYY-MM-DD like \"2026-12-25\", found \""
                            + dates.get(i) + "\"");
                    ok[0] = false;
                }
            }
        } else if (r.has("except")) {
            ok[0] = false; // not a list: reported by the reader
        }
        if (!hasHours || !ok[0] || windows.isEmpty()) {
            return null;
        }
        return new Hours(windows, except);
    }

    /** One element of {@code hours}; null when it has problems (each reported). */
    private static @Nullable Window readWindow(ConfigReader r) {
        boolean ok = true;
        Set<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
        List<String> names = r.stringList("days", null);
        if (names == null) {
            ok = false;
            if (!r.has("days")) {
                r.report("days", "expected a list of days like [mon, tue, wed, thu, fri], found none");
            }
        } else {
            if (names.isEmpty()) {
                r.report("days", "expected at least one day (mon … sun), found an empty list");
                ok = false;
            }
            for (int i = 0; i < names.size(); i++) {
                DayOfWeek d = parseDay(names.get(i));
                if (d == null) {
                    r.report("days[" + i + "]", "expected " + EXPECTED_DAY + ", found \"" + names.get(i) + "\"");
                    ok = false;
                } else {
                    days.add(d);
                }
            }
        }
        int from = time(r, "from");
        int to = time(r, "to");
        if (from < 0 || to < 0) {
            ok = false;
        } else if (from == 1440) {
            r.report("from", "expected a time before \"24:00\", found \"24:00\"");
            ok = false;
        } else if (to == 0) {
            r.report("to", "expected a time after \"00:00\" (\"24:00\" is the end of the day), found \"00:00\"");
            ok = false;
        } else if (from >= to) {
            r.report("to", "expected a time after from " + clock(from) + " (a window never crosses midnight: write"
                    + " 22:00-24:00 and 00:00-06:00 as two windows), found " + clock(to));
            ok = false;
        }
        return ok ? new Window(days, from, to) : null;
    }

    private static int time(ConfigReader r, String key) {
        if (!r.has(key)) {
            r.report(key, "expected " + EXPECTED_TIME + ", found none");
            return -1;
        }
        Integer m = r.value(key, -1, EXPECTED_TIME, s -> {
            int v = parseTime(s);
            if (v < 0) {
                throw new org.postern.config.InvalidValueException(EXPECTED_TIME, s);
            }
            return v;
        });
        return m;
    }
}
