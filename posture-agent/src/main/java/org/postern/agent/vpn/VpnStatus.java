package org.postern.agent.vpn;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The VPN as {@code postern-agent status} shows it (kept in the session state file): addresses,
 * transport, MTU, routes, DNS, traffic each way, and since when it is up.
 */
public record VpnStatus(List<String> addresses, String transport, int mtu, List<String> routes, List<String> dnsServers,
                        List<String> searchDomains, long bytesUp, long packetsUp, long bytesDown, long packetsDown,
                        long dropped, Instant since) {

    public VpnStatus {
        addresses = List.copyOf(addresses);
        routes = List.copyOf(routes);
        dnsServers = List.copyOf(dnsServers);
        searchDomains = List.copyOf(searchDomains);
    }

    /** The state file's {@code vpn} object. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("addresses", addresses);
        m.put("transport", transport);
        m.put("mtu", mtu);
        m.put("routes", routes);
        m.put("dns", dnsServers);
        m.put("search", searchDomains);
        m.put("bytesUp", bytesUp);
        m.put("packetsUp", packetsUp);
        m.put("bytesDown", bytesDown);
        m.put("packetsDown", packetsDown);
        m.put("dropped", dropped);
        m.put("since", since.toString());
        return m;
    }
}
