/**
 * The CONNECT-IP transport seen from either end (docs/vpn.md "Transports"): one open request
 * stream, {@link org.postern.vpn.transport.IpLink}, carrying opaque stream bytes (capsules) and,
 * on HTTP/3, HTTP datagrams. Which protocol carries it is the gateway's and the agent's business.
 */
@NullMarked
package org.postern.vpn.transport;

import org.jspecify.annotations.NullMarked;
