/**
 * The CONNECT-IP wire format: QUIC variable-length integers (RFC 9000 §16), capsules
 * (RFC 9297 §3, RFC 9484 §4.7) decoded incrementally from a stream, and HTTP datagram prefixes
 * (RFC 9297 §2.1, RFC 9484 §6). Everything here works on Netty {@code ByteBuf}s and copies no packet.
 */
@NullMarked
package org.postern.vpn.capsule;

import org.jspecify.annotations.NullMarked;
