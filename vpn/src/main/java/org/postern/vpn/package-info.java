/**
 * The VPN mode's shared parts (docs/vpn.md): what the gateway and the agent both need to carry IP
 * packets in CONNECT-IP (RFC 9484) over HTTP/3 datagrams or HTTP/2 capsules.
 */
@NullMarked
package org.postern.vpn;

import org.jspecify.annotations.NullMarked;
