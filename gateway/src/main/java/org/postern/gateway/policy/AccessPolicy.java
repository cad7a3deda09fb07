package org.postern.gateway.policy;

import java.net.InetAddress;
import java.time.Clock;
import java.util.Set;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Protocol;

/**
 * Decides whether a device owner's groups may reach a destination. One implementation serves the
 * CONNECT path and the SSH bastion alike, so both enforce the same rules the same way.
 *
 * <p>The caller resolves the requested host once ({@link DestinationResolver}), passes that
 * address here, and connects to that same address: the decision is about the address, so a DNS
 * answer that changes between check and connect (rebinding) cannot move the tunnel.
 */
public interface AccessPolicy {

    /**
     * @param groups          the device owner's groups
     * @param protocol        what will be sent: {@link Protocol#TCP} for CONNECT and SSH; a VPN flow's own
     * @param requestedHost   the host as the client asked for it (name or IP literal; a VPN flow's address)
     * @param port            the requested port; not checked for {@link Protocol#ICMP}
     * @param resolvedAddress the address {@code requestedHost} resolved to, which will be connected to
     * @return {@link AccessDecision.Allowed} naming the rule, or {@link AccessDecision.Denied}; never null
     */
    AccessDecision decide(Set<String> groups, Protocol protocol, String requestedHost, int port,
                          InetAddress resolvedAddress);

    /** {@link #decide(Set, Protocol, String, int, InetAddress)} for TCP: a CONNECT tunnel or an SSH forward. */
    default AccessDecision decide(Set<String> groups, String requestedHost, int port, InetAddress resolvedAddress) {
        return decide(groups, Protocol.TCP, requestedHost, port, resolvedAddress);
    }

    /**
     * The version of the rules that decide, as the audit trail names it ({@code accessPolicy}):
     * {@link AccessPolicyVersion}. For a policy that a reload may change, the version in force now;
     * use {@link #pinned()} to have a decision and its version from the same rules.
     */
    String version();

    /**
     * The policy in force now, fixed: its {@link #decide} and {@link #version()} come from the same
     * rules even when a reload swaps them meanwhile. A policy that never changes is itself.
     */
    default AccessPolicy pinned() {
        return this;
    }

    /**
     * The policy of {@code rules}: deny by default, forbidden addresses refused unless a rule names
     * them by address. Its version is generation 1 ({@link AccessPolicyVersion}).
     *
     * @param ownAddresses the gateway's own addresses, fixed (tests, tools), refused like loopback
     */
    static AccessPolicy of(AccessRules rules, Set<InetAddress> ownAddresses) {
        return of(rules, new ForbiddenAddresses(ownAddresses));
    }

    /**
     * The policy of {@code rules} against {@code forbidden}, whose own addresses may change while
     * the gateway runs ({@link OwnAddresses}): each decision checks the addresses of that moment.
     * Its version is generation 1 ({@link AccessPolicyVersion}).
     */
    static AccessPolicy of(AccessRules rules, ForbiddenAddresses forbidden) {
        return of(rules, forbidden, AccessPolicyVersion.of(rules, 1));
    }

    /** {@link #of(AccessRules, ForbiddenAddresses)} named {@code version} in the audit trail. */
    static AccessPolicy of(AccessRules rules, ForbiddenAddresses forbidden, String version) {
        return of(rules, forbidden, version, Clock.systemUTC());
    }

    /**
     * {@link #of(AccessRules, ForbiddenAddresses, String)} whose rules' hours ({@code hours:}) are
     * read on {@code clock}: the gateway passes its own, tests a fixed one.
     */
    static AccessPolicy of(AccessRules rules, ForbiddenAddresses forbidden, String version, Clock clock) {
        return new RuleAccessPolicy(rules, forbidden, version, clock);
    }

    /** {@link #of(AccessRules, ForbiddenAddresses)} whose rules' hours are read on {@code clock}. */
    static AccessPolicy of(AccessRules rules, ForbiddenAddresses forbidden, Clock clock) {
        return of(rules, forbidden, AccessPolicyVersion.of(rules, 1), clock);
    }
}
