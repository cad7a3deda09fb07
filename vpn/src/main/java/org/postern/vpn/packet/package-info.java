/**
 * IP packets as the VPN carries them: a reusable zero-copy parser ({@link org.postern.vpn.packet.IpPacket}),
 * the flow key it yields ({@link org.postern.vpn.packet.FiveTuple}), the ICMP errors the gateway answers
 * with ({@link org.postern.vpn.packet.IcmpAnswers}) and the internet checksum.
 */
@NullMarked
package org.postern.vpn.packet;

import org.jspecify.annotations.NullMarked;
