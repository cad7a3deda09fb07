package org.postern.agent.vpn;

import java.io.IOException;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

import org.postern.config.gateway.Network;

/**
 * What the VPN engine changes on this machine besides the interface's MTU, addresses and routes
 * ({@link org.postern.vpn.link.LinkConfig}): DNS, the host route that keeps the tunnel's own
 * packets off the tunnel, and taking the interface down. An interface so tests can record it.
 */
public interface VpnHost {

    /** Points DNS at {@code servers} (and {@code searchDomains}) for {@code device}; returns how, for the log. */
    String applyDns(String device, List<InetAddress> servers, List<String> searchDomains) throws IOException;

    /** Undoes {@link #applyDns}; nothing when nothing is applied. */
    void restoreDns() throws IOException;

    /**
     * Adds a host route to {@code gateway} through the route the system uses for it now (before the
     * tunnel's routes cover it), so the tunnel's outer packets keep their path. Empty when there is
     * no such route to copy (the gateway is on the loopback or a directly connected network).
     */
    Optional<Network> pinRoute(InetAddress gateway) throws IOException;

    /** Removes a route {@link #pinRoute} added. */
    void unpinRoute(Network route) throws IOException;

    /** Removes every address of {@code device} and takes it down (its routes go with it). */
    void down(String device) throws IOException;
}
