package org.postern.gateway.policy;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.AccessRules.Rule;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.Hours;
import org.postern.config.gateway.Network;
import org.postern.config.gateway.Protocol;

/**
 * The access policy of {@code gateway.yaml}'s rules. Deny by default: a request is allowed only
 * by a rule that names one of the owner's groups and grants the protocol (TCP unless the rule
 * lists others), and a destination entry that covers the port (any port for ICMP) and either
 * names the requested host (host-name entries) or contains the resolved address (IP and CIDR entries). A forbidden address ({@link ForbiddenAddresses}) is allowed only by an
 * IP or CIDR entry lying wholly inside every forbidden range the address is in: {@code 127.0.0.1}
 * or {@code 127.0.0.0/8} opens loopback, {@code 0.0.0.0/0} does not, a host-name entry never does,
 * and {@code 169.254.0.0/16} opens link-local but not the metadata address, which must be named
 * on its own.
 *
 * <p>Remote-work hours: a rule with {@code hours:} allows only while one of its windows is open on
 * {@code clock}, read in {@code access.timeZone}. When the rules that would allow a request are all
 * closed, the refusal is {@code access.outside_hours} with the next opening as its remedy; a rule
 * without hours (always open) is preferred over one with hours when both allow, so a flow is tied
 * to a window's end only when nothing else admits it.
 */
final class RuleAccessPolicy implements AccessPolicy {

    private final List<Rule> rules;
    private final ForbiddenAddresses forbidden;
    private final String version;
    private final ZoneId zone;
    private final Clock clock;

    RuleAccessPolicy(AccessRules rules, ForbiddenAddresses forbidden, String version, Clock clock) {
        this.rules = Objects.requireNonNull(rules, "rules").rules();
        this.zone = rules.timeZone();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.forbidden = Objects.requireNonNull(forbidden, "forbidden");
        this.version = Objects.requireNonNull(version, "version");
    }

    @Override
    public String version() {
        return version;
    }

    @Override
    public AccessDecision decide(Set<String> groups, Protocol protocol, String requestedHost, int port,
                                 InetAddress resolvedAddress) {
        Objects.requireNonNull(groups, "groups");
        Objects.requireNonNull(protocol, "protocol");
        if (requestedHost == null || requestedHost.isBlank()) {
            return bad("expected a host name or IP address, found none (port " + port + ")");
        }
        String host = Destination.canonicalName(requestedHost);
        InetAddress literal = Network.parseAddress(host);
        if (literal == null && !Destination.isHostName(host)) {
            return bad("expected a host name or IP address, found \"" + requestedHost + "\" (port " + port + ")");
        }
        if (protocol.hasPorts() && (port < 1 || port > 65535)) {
            return bad("expected a port between 1 and 65535, found " + port + " (host " + host + ")");
        }
        if (resolvedAddress == null) {
            return bad("expected the address " + host + " resolved to, found none");
        }
        InetAddress address = Network.normalize(resolvedAddress);
        if (literal != null && !literal.equals(address)) {
            return bad("expected the requested address " + literal.getHostAddress() + " itself, found it resolved to "
                    + address.getHostAddress());
        }
        String asked = "groups " + show(groups) + " asked for " + target(protocol, host, port)
                + (literal == null ? " (address " + address.getHostAddress() + ")" : "");
        List<Rule> applicable = rules.stream().filter(r -> r.appliesTo(groups) && r.allows(protocol)).toList();

        Instant now = clock.instant(); // one instant for the whole decision
        List<ForbiddenAddresses.Range> ranges = forbidden.rangesOf(address);
        if (!ranges.isEmpty()) {
            List<Rule> allowing = new ArrayList<>();
            for (Rule rule : applicable) {
                for (Destination d : rule.to()) {
                    if (allowsPort(d, protocol, port) && d.target() instanceof Destination.Net net
                            && net.network().contains(address) && namesExplicitly(net.network(), ranges)) {
                        allowing.add(rule);
                        break;
                    }
                }
            }
            if (!allowing.isEmpty()) {
                return inHours(allowing, now, asked);
            }
            String why = ForbiddenAddresses.describe(ranges);
            return new AccessDecision.Denied(AccessDecision.FORBIDDEN_ADDRESS, asked + ", which is " + why
                    + "; refused unless a rule for these groups names it by IP or by a CIDR inside "
                    + ranges.stream().map(r -> r.network().toString()).collect(Collectors.joining(" and "))
                    + " (a host-name rule or a wider network does not)"
                    + matchedOtherwise(applicable, protocol, host, port, address));
        }

        List<Rule> allowing = new ArrayList<>();
        for (Rule rule : applicable) {
            for (Destination d : rule.to()) {
                if (matches(d, protocol, host, port, address)) {
                    allowing.add(rule);
                    break;
                }
            }
        }
        if (!allowing.isEmpty()) {
            return inHours(allowing, now, asked);
        }
        String known;
        if (!applicable.isEmpty()) {
            known = "rules for these groups: " + applicable.stream()
                    .map(r -> r.name() + " (to " + r.to().stream().map(Destination::toString)
                            .collect(Collectors.joining(", ")) + ")")
                    .collect(Collectors.joining("; "));
        } else if (rules.stream().anyMatch(r -> r.appliesTo(groups))) {
            known = "no rule for these groups grants " + protocol.spelling() + " (a rule grants tcp unless its"
                    + " protocols: list names others)";
        } else {
            known = "no rule names any of these groups";
        }
        return new AccessDecision.Denied(AccessDecision.NO_RULE, asked + "; no rule allows it: " + known);
    }

    /**
     * Among {@code allowing} (the rules that match, in file order), the first always-open one, else
     * the first open one by its hours, else {@code access.outside_hours} naming the next opening.
     */
    private AccessDecision inHours(List<Rule> allowing, Instant now, String asked) {
        Rule windowed = null;
        for (Rule rule : allowing) {
            if (rule.hours() == null) {
                return new AccessDecision.Allowed(rule.name());
            }
            if (windowed == null && rule.hours().isOpen(now, zone)) {
                windowed = rule;
            }
        }
        if (windowed != null) {
            Instant until = windowed.hours().openUntil(now, zone).orElseThrow();
            return new AccessDecision.Allowed(windowed.name(), until);
        }
        ZonedDateTime next = null;
        for (Rule rule : allowing) {
            Optional<ZonedDateTime> opens = rule.hours().nextOpening(now, zone);
            if (opens.isPresent() && (next == null || opens.get().isBefore(next))) {
                next = opens.get();
            }
        }
        String remedy = next == null ? "access does not open within a year; ask your administrator"
                : "access opens " + opening(next, now.atZone(zone));
        return new AccessDecision.Denied(AccessDecision.OUTSIDE_HOURS, asked + " at " + now.atZone(zone).toLocalDateTime()
                + " " + zone.getId() + ", outside the hours of "
                + allowing.stream().map(r -> r.name() + " (" + r.hours().windows().stream().map(Hours.Window::toString)
                        .collect(Collectors.joining("; "))
                        + (r.hours().except().isEmpty() ? "" : "; closed " + r.hours().except()) + ")")
                        .collect(Collectors.joining(", "))
                + "; " + remedy, remedy);
    }

    /**
     * When access opens, as the remedy says it: {@code Monday 08:00 Africa/Casablanca} within the
     * coming week, {@code Monday 2027-01-04 08:00 Africa/Casablanca} further off. English names,
     * whatever the gateway's locale: the text is a protocol string.
     */
    static String opening(ZonedDateTime next, ZonedDateTime now) {
        String day = next.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
        String time = String.format(Locale.ROOT, "%02d:%02d", next.getHour(), next.getMinute());
        boolean withinWeek = next.toLocalDate().isBefore(now.toLocalDate().plusDays(7));
        return day + (withinWeek ? "" : " " + next.toLocalDate()) + " " + time + " " + next.getZone().getId();
    }

    private static boolean matches(Destination d, Protocol protocol, String host, int port, InetAddress address) {
        if (!allowsPort(d, protocol, port)) {
            return false;
        }
        return switch (d.target()) {
            case Destination.HostName name -> name.name().equals(host);
            case Destination.Net net -> net.network().contains(address);
        };
    }

    /** Whether {@code network} lies inside every forbidden range the address is in. */
    private static boolean namesExplicitly(Network network, List<ForbiddenAddresses.Range> ranges) {
        for (ForbiddenAddresses.Range r : ranges) {
            if (!r.network().contains(network)) {
                return false;
            }
        }
        return true;
    }

    /** For a forbidden address: which rule would have matched but for the refusal, to make the detail useful. */
    private static String matchedOtherwise(List<Rule> applicable, Protocol protocol, String host, int port,
                                           InetAddress address) {
        for (Rule rule : applicable) {
            for (Destination d : rule.to()) {
                if (matches(d, protocol, host, port, address)) {
                    return "; rule " + rule.name() + " matches it only through " + d;
                }
            }
        }
        return "";
    }

    /** A rule's ports restrict TCP and UDP; ICMP echo has no port. */
    private static boolean allowsPort(Destination d, Protocol protocol, int port) {
        return !protocol.hasPorts() || d.allowsPort(port);
    }

    /** What was asked, as the detail names it: {@code 10.0.0.5:22}, {@code udp 10.0.0.53:53}, {@code icmp 10.0.0.5}. */
    private static String target(Protocol protocol, String host, int port) {
        return switch (protocol) {
            case TCP -> hostPort(host, port);
            case UDP -> "udp " + hostPort(host, port);
            case ICMP -> "icmp " + host;
        };
    }

    private static AccessDecision.Denied bad(String detail) {
        return new AccessDecision.Denied(AccessDecision.BAD_DESTINATION, detail);
    }

    private static String show(Set<String> groups) {
        return "[" + String.join(", ", new TreeSet<>(groups)) + "]";
    }

    static String hostPort(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
