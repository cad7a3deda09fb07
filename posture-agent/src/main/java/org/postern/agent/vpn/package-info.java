/**
 * The agent's end of the VPN mode transport (docs/vpn.md "Transports"): opening CONNECT-IP to the
 * gateway over HTTP/3, or over HTTP/2 on the agent's connection when UDP does not get through.
 */
@NullMarked
package org.postern.agent.vpn;

import org.jspecify.annotations.NullMarked;
