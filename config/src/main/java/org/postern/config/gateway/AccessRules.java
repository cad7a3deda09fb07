package org.postern.config.gateway;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.postern.config.ConfigReader;
import org.postern.config.Durations;
import org.postern.config.InvalidValueException;

/**
 * The {@code access:} section of {@code gateway.yaml}: named rules, each letting some groups reach
 * some destinations. Deny by default: with no rules (the default) nobody reaches anything.
 *
 * <pre>{@code
 * access:
 *   rules:
 *     - name: admins-ssh
 *       groups: [admins]
 *       to: ["10.20.0.0/16:22", "db1.admin.internal:5432", "[2001:db8::/32]:443", "10.30.0.5:8000-8100"]
 *     - name: admins-dns-ping
 *       groups: [admins]
 *       protocols: [udp, icmp]      # absent = [tcp]
 *       to: ["10.20.0.53:53"]
 *     - name: staff-office-hours     # remote-work hours: open only in these windows
 *       groups: [staff]
 *       to: ["10.40.0.0/16:443"]
 *       hours:
 *         - {days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00"}
 *       except: ["2026-12-25"]       # closed all day
 *   timeZone: Africa/Casablanca      # the wall clock of every rule's hours; default UTC
 *   endSessionsAtWindowEnd: false    # true: a tunnel admitted by a rule with hours ends when its window does
 *   warnBeforeWindowEnd: 10m         # the agent warns its user this long before (0s: no warning)
 * }</pre>
 *
 * @param timeZone               the zone whose wall clock {@link Hours} are read on
 * @param endSessionsAtWindowEnd whether a live flow admitted by a rule with hours is closed at the end of the
 *                               window that admitted it (reason {@code outside_hours}): CONNECT tunnels, SSH
 *                               forwards and VPN flows, and a session none of whose rules is open any more;
 *                               otherwise the hours decide only admissions
 * @param warnBeforeWindowEnd    how long before a tunnel's window ends the agent warns its user (sent to it with
 *                               the window's end); zero: no warning
 */
public record AccessRules(List<Rule> rules, ZoneId timeZone, boolean endSessionsAtWindowEnd,
                          Duration warnBeforeWindowEnd) {

    /** The zone of the hours when {@code access.timeZone} is not set (the region id, so remedies say "UTC", not "Z"). */
    public static final ZoneId DEFAULT_TIME_ZONE = ZoneId.of("UTC");
    /** The agent's warning lead when {@code access.warnBeforeWindowEnd} is not set. */
    public static final Duration DEFAULT_WARN_BEFORE_WINDOW_END = Duration.ofMinutes(10);
    /**
     * The longest lead, exclusive: a day. A lead of a day or more would warn before the window even
     * opened (no window is longer than a day), which is a typo, not a choice.
     */
    public static final Duration MAX_WARN_BEFORE_WINDOW_END = Duration.ofDays(1);
    /** Whole seconds: the agent is told the lead in seconds, so 500ms would reach it as 0, "no warning". */
    static final String EXPECTED_WARN = "a duration in whole seconds, at least 0s and less than 24h, like 10m";

    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    static final String EXPECTED_NAME = "a rule name of letters, digits, '.', '_' or '-', like admins-ssh";

    public AccessRules {
        rules = List.copyOf(Objects.requireNonNull(rules, "rules"));
        Objects.requireNonNull(timeZone, "timeZone");
        Objects.requireNonNull(warnBeforeWindowEnd, "warnBeforeWindowEnd");
        if (!validWarning(warnBeforeWindowEnd)) {
            throw new IllegalArgumentException("access.warnBeforeWindowEnd: expected " + EXPECTED_WARN + ", found "
                    + Durations.format(warnBeforeWindowEnd));
        }
        Set<String> seen = new LinkedHashSet<>();
        for (Rule r : rules) {
            if (!seen.add(r.name())) {
                throw new IllegalArgumentException("access.rules: expected each rule name once, found \""
                        + r.name() + "\" twice");
            }
        }
    }

    /** A lead the agent can be told: whole seconds, at least 0 and less than a day. */
    private static boolean validWarning(Duration d) {
        return !d.isNegative() && d.compareTo(MAX_WARN_BEFORE_WINDOW_END) < 0 && d.getNano() == 0;
    }

    /** Rules whose hours (if any) are read in UTC, live flows left alone at a window's end. */
    public AccessRules(List<Rule> rules) {
        this(rules, DEFAULT_TIME_ZONE, false);
    }

    /** Rules whose hours are read in {@code timeZone}, the agent warned the default 10 minutes before a window's end. */
    public AccessRules(List<Rule> rules, ZoneId timeZone, boolean endSessionsAtWindowEnd) {
        this(rules, timeZone, endSessionsAtWindowEnd, DEFAULT_WARN_BEFORE_WINDOW_END);
    }

    /** These settings with other rules (the same zone, end-of-window choice and warning lead). */
    public AccessRules withRules(List<Rule> other) {
        return new AccessRules(other, timeZone, endSessionsAtWindowEnd, warnBeforeWindowEnd);
    }

    /**
     * Whether any rule naming one of {@code ownerGroups} is open at {@code instant}: an always-open
     * one, or one with hours inside a window. False when every rule of these groups is closed (or
     * none names them): nothing could admit a tunnel of theirs now, whatever its destination.
     */
    public boolean anyOpenFor(Set<String> ownerGroups, Instant instant) {
        for (Rule r : rules) {
            if (r.appliesTo(ownerGroups) && (r.hours() == null || r.hours().isOpen(instant, timeZone))) {
                return true;
            }
        }
        return false;
    }

    /** No rules: nobody reaches anything. */
    public static AccessRules denyAll() {
        return new AccessRules(List.of());
    }

    /** Binds the {@code access:} section. */
    public static AccessRules read(ConfigReader r) {
        List<Rule> rules = r.list("rules", Rule::read);
        Map<String, Integer> firstIndex = new HashMap<>();
        List<Rule> unique = new ArrayList<>(rules.size());
        for (int i = 0; i < rules.size(); i++) {
            Rule rule = rules.get(i);
            Integer before = firstIndex.putIfAbsent(rule.name(), i);
            if (before != null) {
                // Index among the rules that bound; rules with problems are already reported.
                r.report("rules", "expected each rule name once, found \"" + rule.name() + "\" more than once");
            } else {
                unique.add(rule);
            }
        }
        ZoneId zone = r.value("timeZone", DEFAULT_TIME_ZONE, "a time zone like Africa/Casablanca or UTC", s -> {
            try {
                return ZoneId.of(s.trim());
            } catch (DateTimeException e) {
                throw new InvalidValueException("a time-zone id of the IANA database like Africa/Casablanca,"
                        + " Europe/Paris or UTC", s);
            }
        });
        boolean endAtWindowEnd = r.bool("endSessionsAtWindowEnd", false);
        Duration warn = r.value("warnBeforeWindowEnd", DEFAULT_WARN_BEFORE_WINDOW_END, EXPECTED_WARN, s -> {
            Duration d;
            try {
                d = Durations.parse(s);
            } catch (InvalidValueException e) {
                throw new InvalidValueException(EXPECTED_WARN, s);
            }
            if (!validWarning(d)) {
                throw new InvalidValueException(EXPECTED_WARN, s);
            }
            return d;
        });
        return new AccessRules(unique, zone, endAtWindowEnd, warn);
    }

    /**
     * One named rule. A device whose owner is in any of {@code groups} may reach any of {@code to}
     * with any of {@code protocols}.
     *
     * @param name      names the rule in decisions and in the audit trail
     * @param groups    owner groups, compared exactly
     * @param to        destinations
     * @param protocols what may be sent there: {@code tcp} (the default, all CONNECT and SSH ever
     *                  ask for), {@code udp}, {@code icmp} (echo requests, the ports ignored); UDP
     *                  and ICMP only where a rule names them
     * @param hours     when the rule is open ({@code hours:} and {@code except:}), or null: always open
     */
    public record Rule(String name, List<String> groups, List<Destination> to, Set<Protocol> protocols,
                       @Nullable Hours hours) {

        /** What a rule grants when it names no protocol. */
        public static final Set<Protocol> DEFAULT_PROTOCOLS = Set.of(Protocol.TCP);

        public Rule {
            Objects.requireNonNull(name, "name");
            if (!NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("access rule name: expected " + EXPECTED_NAME + ", found \""
                        + name + "\"");
            }
            groups = List.copyOf(Objects.requireNonNull(groups, "groups"));
            to = List.copyOf(Objects.requireNonNull(to, "to"));
            if (groups.isEmpty() || groups.stream().anyMatch(String::isBlank)) {
                throw new IllegalArgumentException("access rule " + name + ": expected at least one group, found "
                        + groups);
            }
            if (to.isEmpty()) {
                throw new IllegalArgumentException("access rule " + name + ": expected at least one destination, found none");
            }
            Objects.requireNonNull(protocols, "protocols");
            if (protocols.isEmpty()) {
                throw new IllegalArgumentException("access rule " + name + ": expected at least one protocol ("
                        + Protocol.EXPECTED + "), found none");
            }
            protocols = Collections.unmodifiableSet(EnumSet.copyOf(protocols));
        }

        /** A rule that is always open. */
        public Rule(String name, List<String> groups, List<Destination> to, Set<Protocol> protocols) {
            this(name, groups, to, protocols, null);
        }

        /** A rule for TCP only, as every rule was before VPN flows. */
        public Rule(String name, List<String> groups, List<Destination> to) {
            this(name, groups, to, DEFAULT_PROTOCOLS);
        }

        /** This rule with other destinations (the VPN mode's resolved ones), its hours kept. */
        public Rule withTo(List<Destination> other) {
            return new Rule(name, groups, other, protocols, hours);
        }

        /** Whether this rule grants {@code protocol}. */
        public boolean allows(Protocol protocol) {
            return protocols.contains(protocol);
        }

        /** Whether any of {@code ownerGroups} is one of this rule's groups. */
        public boolean appliesTo(Set<String> ownerGroups) {
            for (String g : groups) {
                if (ownerGroups.contains(g)) {
                    return true;
                }
            }
            return false;
        }

        /** Binds one element of {@code access.rules}; null when it has problems (each reported). */
        static @Nullable Rule read(ConfigReader r) {
            boolean ok = true;
            String name = r.value("name", null, EXPECTED_NAME, s -> {
                if (!NAME.matcher(s).matches()) {
                    throw new InvalidValueException(EXPECTED_NAME, s);
                }
                return s;
            });
            if (name == null) {
                ok = false; // a wrong value is reported by the reader; a missing one here
                if (!r.has("name")) {
                    r.report("name", "expected " + EXPECTED_NAME + ", found none");
                }
            }
            List<String> groups = r.stringList("groups", null);
            if (groups == null) {
                ok = false;
                if (!r.has("groups")) {
                    r.report("groups", "expected a list of groups like [admins], found none");
                }
            } else {
                if (groups.isEmpty()) {
                    r.report("groups", "expected at least one group, found an empty list");
                    ok = false;
                }
                for (int i = 0; i < groups.size(); i++) {
                    if (groups.get(i).isBlank()) {
                        r.report("groups[" + i + "]", "expected a group name, found \"" + groups.get(i) + "\"");
                        ok = false;
                    }
                }
            }
            List<String> entries = r.stringList("to", null);
            List<Destination> to = new ArrayList<>();
            if (entries == null) {
                ok = false;
                if (!r.has("to")) {
                    r.report("to", "expected a list of destinations like [\"10.20.0.0/16:22\"], found none");
                }
            } else {
                if (entries.isEmpty()) {
                    r.report("to", "expected at least one destination, found an empty list");
                    ok = false;
                }
                for (int i = 0; i < entries.size(); i++) {
                    try {
                        to.add(Destination.parse(entries.get(i)));
                    } catch (InvalidValueException e) {
                        r.report("to[" + i + "]", e.getMessage());
                        ok = false;
                    }
                }
            }
            Set<Protocol> protocols = EnumSet.noneOf(Protocol.class);
            List<String> names = r.stringList("protocols", null);
            if (names == null) {
                if (!r.has("protocols")) {
                    protocols.addAll(DEFAULT_PROTOCOLS);
                } else {
                    ok = false; // not a list: reported by the reader
                }
            } else {
                if (names.isEmpty()) {
                    r.report("protocols", "expected at least one of tcp, udp, icmp, found an empty list");
                    ok = false;
                }
                for (int i = 0; i < names.size(); i++) {
                    Protocol p = Protocol.parse(names.get(i)).orElse(null);
                    if (p == null) {
                        r.report("protocols[" + i + "]", "expected " + Protocol.EXPECTED + ", found \"" + names.get(i) + "\"");
                        ok = false;
                    } else {
                        protocols.add(p);
                    }
                }
            }
            boolean[] hoursOk = {true};
            Hours hours = Hours.read(r, hoursOk);
            ok &= hoursOk[0];
            return ok ? new Rule(name, groups, to, protocols, hours) : null;
        }
    }
}
