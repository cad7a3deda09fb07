package org.postern.agent.vpn;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

import io.netty.channel.EventLoop;
import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.Network;
import org.postern.vpn.transport.IpLink;

/**
 * The gateway's 200 to CONNECT-IP: the open link, the event loop it belongs to (the VPN engine
 * runs its packet work there, {@link IpLink}'s thread model), and what the answer's header fields
 * pushed: {@code postern-vpn-dns} (resolver addresses) and {@code postern-vpn-search} (domains).
 */
public record ConnectIpAnswer(IpLink link, EventLoop loop, List<InetAddress> dnsServers, List<String> searchDomains) {
    /** Response header: the resolvers the gateway pushes, {@code 10.88.0.5, 10.88.0.6}. */
    static final String DNS_HEADER = "postern-vpn-dns";
    /** Response header: the search domains it pushes, {@code admin.internal, corp.internal}. */
    static final String SEARCH_HEADER = "postern-vpn-search";
    /** Request header: the agent asks for the whole IPv4 (and IPv6) range to be routed to it. */
    static final String FULL_TUNNEL_HEADER = "postern-vpn-full-tunnel";

    public ConnectIpAnswer {
        Objects.requireNonNull(link, "link");
        Objects.requireNonNull(loop, "loop");
        dnsServers = List.copyOf(dnsServers);
        searchDomains = List.copyOf(searchDomains);
    }

    /**
     * Reads the pushed DNS from a response's header fields. Only IP literals count as resolvers:
     * anything else is skipped (never resolved through DNS, which is what is being configured).
     */
    static ConnectIpAnswer of(IpLink link, EventLoop loop, Function<String, @Nullable CharSequence> header) {
        List<InetAddress> dns = new ArrayList<>();
        for (String item : items(header.apply(DNS_HEADER))) {
            InetAddress a = Network.parseAddress(item);
            if (a != null) {
                dns.add(a);
            }
        }
        return new ConnectIpAnswer(link, loop, dns, items(header.apply(SEARCH_HEADER)));
    }

    private static List<String> items(@Nullable CharSequence value) {
        if (value == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String part : value.toString().split(",")) {
            String p = part.strip();
            if (!p.isEmpty()) {
                out.add(p);
            }
        }
        return out;
    }
}
