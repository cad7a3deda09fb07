package org.postern.gateway.selfcheck;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.Network;
import org.postern.gateway.policy.ForbiddenAddresses;

/**
 * Access rules that open what the gateway otherwise refuses, or far more than an administration
 * network. The gateway refuses loopback, link-local, metadata, multicast and its own addresses
 * unless a rule names them by IP or by a CIDR inside them ({@link ForbiddenAddresses}); such a rule
 * is what this check looks for: opening loopback, an unspecified address or a cloud metadata endpoint
 * is critical (the gateway's own services, the cloud's credentials), other link-local or multicast
 * ranges a warning. A rule for every address ({@code 0.0.0.0/0}, {@code ::/0}) is critical, one of
 * /8 or wider (IPv4) or /32 or wider (IPv6) a warning: a rule should name the admin network, not the
 * internet.
 */
public final class AccessRulesCheck implements Check {
    static final String NAME = "access-rules";
    /** IPv4 networks this wide or wider are worth a warning. */
    static final int WIDE_V4 = 8;
    /** IPv6 prefixes this wide or wider (a whole provider allocation) are worth a warning. */
    static final int WIDE_V6 = 32;
    private static final Set<String> CRITICAL_KINDS = Set.of("loopback", "unspecified", "cloud metadata");

    private final AccessRules rules;

    public AccessRulesCheck(AccessRules rules) {
        this.rules = Objects.requireNonNull(rules, "rules");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Finding> run() {
        if (rules.rules().isEmpty()) {
            return List.of(Finding.info(NAME, "no access rules: no device reaches anything (deny by default)"));
        }
        List<Finding> out = new ArrayList<>();
        for (AccessRules.Rule rule : rules.rules()) {
            for (Destination d : rule.to()) {
                if (!(d.target() instanceof Destination.Net net)) {
                    continue; // a host name never opens a forbidden address: the resolved address is checked
                }
                Network n = net.network();
                String where = "access rule " + rule.name() + " (groups " + String.join(",", rule.groups()) + ") to " + d;
                List<String> kinds = new ArrayList<>();
                for (ForbiddenAddresses.Range r : ForbiddenAddresses.fixedRanges()) {
                    if (r.network().contains(n) && !kinds.contains(r.kind())) {
                        kinds.add(r.kind());
                    }
                }
                if (!kinds.isEmpty()) {
                    boolean critical = kinds.stream().anyMatch(CRITICAL_KINDS::contains);
                    out.add(new Finding(NAME, critical ? Severity.CRITICAL : Severity.WARNING, where + " opens "
                            + String.join(", ", kinds) + " addresses, which the gateway refuses unless a rule names them",
                            "remove " + d + " from rule " + rule.name() + (critical ? "; the gateway's own services and the"
                                    + " cloud's credentials live there" : "") ));
                    continue;
                }
                boolean v4 = n.address().getAddress().length == 4;
                if (n.prefixLength() == 0) {
                    out.add(new Finding(NAME, Severity.CRITICAL, where + " opens every " + (v4 ? "IPv4" : "IPv6")
                            + " address (the gateway still refuses loopback, link-local and metadata)",
                            "name the admin networks instead, like 10.20.0.0/16:22"));
                } else if (n.prefixLength() <= (v4 ? WIDE_V4 : WIDE_V6)) {
                    out.add(new Finding(NAME, Severity.WARNING, where + " opens a /" + n.prefixLength() + " network",
                            "narrow it to the admin networks and ports the groups need"));
                }
            }
        }
        if (out.isEmpty()) {
            out.add(Finding.info(NAME, rules.rules().size() + " access rules; none opens loopback, link-local, metadata"
                    + " or a network of /" + WIDE_V4 + " (IPv4) or /" + WIDE_V6 + " (IPv6) or wider"));
        }
        return out;
    }
}
