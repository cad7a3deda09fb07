package org.postern.agent.session;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * The gateways {@code up} connects to, in the order it tries them (docs/agent.md "Failover"):
 * agent.yaml's {@code gateways} in their order, each host name expanded to every address it
 * resolves to, so one name with several addresses is several gateways. The first candidate is
 * tried first; whenever the one in use fails, the next one is, wrapping around after the last
 * (round robin). Names are resolved again at each wrap, so a DNS change shows within one round.
 *
 * <p>A candidate keeps the host name of its URL: TLS sends it as SNI and checks the gateway's
 * certificate against it, whatever address the connection goes to. A name that does not resolve
 * stays one candidate without an address; connecting to it fails saying so, and it is skipped like
 * any gateway that cannot be reached.
 */
final class GatewayCandidates {
    /** Every address of a host name (a literal is its own address, without DNS). */
    @FunctionalInterface
    interface Resolver {
        List<InetAddress> resolve(String host) throws UnknownHostException;

        Resolver SYSTEM = host -> List.of(InetAddress.getAllByName(host));
    }

    /**
     * One place to connect to.
     *
     * @param gateway the URL as agent.yaml (or enrollment) gives it: its host is the TLS name
     * @param address where to connect; null when the name did not resolve (connecting then fails saying why)
     */
    record Candidate(URI gateway, @Nullable InetAddress address) {
        Candidate {
            Objects.requireNonNull(gateway, "gateway");
        }

        String host() {
            return gateway.getHost();
        }

        int port() {
            return gateway.getPort() > 0 ? gateway.getPort() : 443;
        }

        /** {@code host:port}, the HTTP/2 {@code :authority} of the requests to it. */
        String authority() {
            return host() + ":" + port();
        }

        /** As the agent prints it: {@code gw.example.org:8443 at 192.0.2.10}; an address literal once: {@code 127.0.0.1:8443}. */
        String describe() {
            if (address == null || address.getHostAddress().equals(stripBrackets(host()))) {
                return authority();
            }
            return authority() + " at " + address.getHostAddress();
        }

        private static String stripBrackets(String host) {
            return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        }
    }

    private final List<URI> gateways;
    private final Resolver resolver;
    private List<Candidate> round = List.of();
    private int next;

    GatewayCandidates(List<URI> gateways, Resolver resolver) {
        if (gateways.isEmpty()) {
            throw new IllegalArgumentException("expected at least one gateway, found none");
        }
        this.gateways = List.copyOf(gateways);
        this.resolver = Objects.requireNonNull(resolver, "resolver");
    }

    /** The candidate to try now: the one after the last one tried, the first after the last. */
    Candidate next() {
        if (next >= round.size()) {
            round = resolve();
            next = 0;
        }
        return round.get(next++);
    }

    /** Makes {@link #next()} return the last candidate again: the one that refused this laptop. */
    void again() {
        if (next > 0) {
            next--;
        }
    }

    /** How many candidates the current round has (at least one): attempts before a wait. */
    int size() {
        return Math.max(1, round.size());
    }

    private List<Candidate> resolve() {
        List<Candidate> out = new ArrayList<>();
        for (URI g : gateways) {
            List<InetAddress> addresses;
            try {
                addresses = resolver.resolve(g.getHost());
            } catch (UnknownHostException e) {
                addresses = List.of();
            }
            if (addresses.isEmpty()) {
                out.add(new Candidate(g, null));
            }
            for (InetAddress a : addresses) {
                Candidate c = new Candidate(g, a);
                if (!out.contains(c)) {
                    out.add(c);
                }
            }
        }
        return List.copyOf(out);
    }
}
