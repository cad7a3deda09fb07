package org.postern.gateway.policy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Objects;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.Network;

/**
 * Resolves a requested host once, for the access check and the connect that follows, so both use
 * the same address. An IP literal is taken as is (no DNS). A host name is looked up; if any of its
 * addresses is forbidden ({@link ForbiddenAddresses}) the name is refused, since a DNS answer
 * pointing at loopback or metadata is either a mistake or an attack, and a host-name rule may
 * never open such an address. Otherwise the first address is used.
 *
 * <p>Typical use: {@code resolve(host, port)}, then on {@link Resolved}
 * {@code policy.decide(groups, host, port, resolved.address())}, then connect to {@code resolved.address()}.
 */
public final class DestinationResolver {

    /** Looks a host name up; {@code InetAddress::getAllByName} in production, a map in tests. */
    @FunctionalInterface
    public interface Lookup {
        /** The system resolver. */
        Lookup SYSTEM = host -> List.of(InetAddress.getAllByName(host));

        List<InetAddress> lookup(String host) throws UnknownHostException;
    }

    /** The outcome of resolving one requested host. */
    public sealed interface Resolution permits Resolved, Refused, Unresolved {
    }

    /** Resolved to {@code address} (normalized); check it with the policy and connect to it. */
    public record Resolved(String host, int port, InetAddress address) implements Resolution {
    }

    /** Refused before any policy: a malformed request or a name resolving to a forbidden address. */
    public record Refused(AccessDecision.Denied denial) implements Resolution {
    }

    /** The name does not resolve (an unreachable destination, not a policy denial). */
    public record Unresolved(String host, String detail) implements Resolution {
    }

    private final ForbiddenAddresses forbidden;
    private final Lookup lookup;

    public DestinationResolver(ForbiddenAddresses forbidden, Lookup lookup) {
        this.forbidden = Objects.requireNonNull(forbidden, "forbidden");
        this.lookup = Objects.requireNonNull(lookup, "lookup");
    }

    /** Resolves with the system resolver. */
    public static DestinationResolver system(ForbiddenAddresses forbidden) {
        return new DestinationResolver(forbidden, Lookup.SYSTEM);
    }

    public Resolution resolve(String requestedHost, int port) {
        if (requestedHost == null || requestedHost.isBlank()) {
            return refused(AccessDecision.BAD_DESTINATION, "expected a host name or IP address, found none");
        }
        String host = Destination.canonicalName(requestedHost);
        if (port < 1 || port > 65535) {
            return refused(AccessDecision.BAD_DESTINATION,
                    "expected a port between 1 and 65535, found " + port + " (host " + host + ")");
        }
        InetAddress literal = Network.parseAddress(host);
        if (literal != null) {
            return new Resolved(host, port, literal); // the policy decides whether a rule names it
        }
        if (!Destination.isHostName(host)) {
            return refused(AccessDecision.BAD_DESTINATION,
                    "expected a host name or IP address, found \"" + requestedHost + "\"");
        }
        List<InetAddress> addresses;
        try {
            addresses = lookup.lookup(host);
        } catch (UnknownHostException e) {
            return new Unresolved(host, host + " does not resolve: " + e.getMessage());
        }
        if (addresses == null || addresses.isEmpty()) {
            return new Unresolved(host, host + " resolves to no address");
        }
        for (InetAddress a : addresses) {
            List<ForbiddenAddresses.Range> ranges = forbidden.rangesOf(a);
            if (!ranges.isEmpty()) {
                return refused(AccessDecision.FORBIDDEN_ADDRESS, RuleAccessPolicy.hostPort(host, port)
                        + " resolves to " + Network.normalize(a).getHostAddress() + ", which is "
                        + ForbiddenAddresses.describe(ranges) + "; a host name never reaches such an address");
            }
        }
        return new Resolved(host, port, Network.normalize(addresses.get(0)));
    }

    private static Refused refused(String reason, String detail) {
        return new Refused(new AccessDecision.Denied(reason, detail));
    }
}
