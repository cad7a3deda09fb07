package org.postern.vpn.link;

import java.io.IOException;
import java.util.List;

import org.postern.config.gateway.Network;

/**
 * Configures one tunnel interface the way the gateway's address assignment and route
 * advertisement (RFC 9484) say: MTU, up, addresses, routes through it. OS-neutral so that a
 * Windows (IP Helper API) or macOS ({@code ifconfig}/{@code route}) implementation can follow
 * {@link IpCommandLinkConfig}, the Linux one.
 */
public interface LinkConfig {

    /** Sets the interface's MTU and brings it up. */
    void up(String device, int mtu) throws IOException;

    /** Adds {@code address} to the interface, usable at once (IPv6 without duplicate address detection). */
    void addAddress(String device, LinkAddress address) throws IOException;

    /** Routes every network in {@code routes} into the interface; a route already there is replaced. */
    void addRoutes(String device, List<Network> routes) throws IOException;

    /** Removes the routes {@link #addRoutes} added. */
    void removeRoutes(String device, List<Network> routes) throws IOException;
}
