/**
 * The laptop's end of the VPN mode (docs/vpn.md "The laptop", "Transports"): opening CONNECT-IP to
 * the gateway over HTTP/3, or over HTTP/2 on the agent's connection when UDP does not get through
 * ({@link org.postern.agent.vpn.ConnectIpClient}, {@link org.postern.agent.vpn.Http2ConnectIp});
 * the TUN device kept for the agent's life ({@link org.postern.agent.vpn.VpnClient}); and one
 * engine per link that configures the interface from the gateway's capsules and moves packets.
 */
@NullMarked
package org.postern.agent.vpn;

import org.jspecify.annotations.NullMarked;
