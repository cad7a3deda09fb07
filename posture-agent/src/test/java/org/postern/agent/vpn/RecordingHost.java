package org.postern.agent.vpn;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import org.postern.config.gateway.Network;
import org.postern.vpn.link.LinkAddress;
import org.postern.vpn.link.LinkConfig;

/** Records every interface, route and DNS change as one line, in order. */
final class RecordingHost implements LinkConfig, VpnHost {
    final List<String> log = new CopyOnWriteArrayList<>();

    @Override
    public void up(String device, int mtu) {
        log.add("up " + device + " mtu " + mtu);
    }

    @Override
    public void addAddress(String device, LinkAddress address) {
        log.add("address " + address);
    }

    @Override
    public void addRoutes(String device, List<Network> routes) {
        log.add("routes+ " + routes.stream().map(RoutePrefixes::text).toList());
    }

    @Override
    public void removeRoutes(String device, List<Network> routes) {
        log.add("routes- " + routes.stream().map(RoutePrefixes::text).toList());
    }

    @Override
    public String applyDns(String device, List<InetAddress> servers, List<String> searchDomains) {
        log.add("dns " + servers.stream().map(InetAddress::getHostAddress).toList() + " " + searchDomains);
        return "test";
    }

    @Override
    public void restoreDns() {
        log.add("dns restored");
    }

    @Override
    public Optional<Network> pinRoute(InetAddress gateway) {
        log.add("pin " + gateway.getHostAddress());
        return Optional.of(Network.of(gateway));
    }

    @Override
    public void unpinRoute(Network route) {
        log.add("unpin " + RoutePrefixes.text(route));
    }

    @Override
    public void down(String device) {
        log.add("down " + device);
    }
}
