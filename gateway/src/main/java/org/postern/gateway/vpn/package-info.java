/**
 * The gateway's end of the VPN mode transport (docs/vpn.md "Transports"): the HTTP/3 listener on
 * UDP, the CONNECT-IP request check shared by HTTP/3 and HTTP/2, and the links it hands to a
 * {@link org.postern.gateway.vpn.ConnectIpAcceptor}.
 */
@NullMarked
package org.postern.gateway.vpn;

import org.jspecify.annotations.NullMarked;
