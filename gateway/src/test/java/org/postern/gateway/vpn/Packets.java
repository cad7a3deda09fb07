package org.postern.gateway.vpn;

import java.net.InetAddress;
import java.nio.ByteBuffer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.postern.vpn.packet.InternetChecksum;

/** IPv4 packets built byte by byte for the engine's tests (transport checksums left 0: the engine does not check them). */
final class Packets {

    static final int ICMP = 1;
    static final int TCP = 6;
    static final int UDP = 17;

    private Packets() {
    }

    static byte[] udp(String src, int srcPort, String dst, int dstPort, int payloadLength) {
        ByteBuffer udp = ByteBuffer.allocate(8 + payloadLength);
        udp.putShort((short) srcPort).putShort((short) dstPort).putShort((short) (8 + payloadLength)).putShort((short) 0);
        return ipv4(UDP, src, dst, 0, new byte[0], udp.array());
    }

    static byte[] tcp(String src, int srcPort, String dst, int dstPort, int flags) {
        ByteBuffer tcp = ByteBuffer.allocate(20);
        tcp.putShort((short) srcPort).putShort((short) dstPort).putInt(1).putInt(0)
                .put((byte) 0x50).put((byte) flags).putShort((short) 65535).putShort((short) 0).putShort((short) 0);
        return ipv4(TCP, src, dst, 0, new byte[0], tcp.array());
    }

    static byte[] ipv4(int protocol, String src, String dst, int flagsAndOffset, byte[] options, byte[] payload) {
        int header = 20 + options.length;
        ByteBuffer b = ByteBuffer.allocate(header + payload.length);
        b.put((byte) (0x40 | header / 4)).put((byte) 0).putShort((short) (header + payload.length))
                .putShort((short) 0x1234).putShort((short) flagsAndOffset).put((byte) 64).put((byte) protocol)
                .putShort((short) 0).put(addr(src)).put(addr(dst)).put(options).put(payload);
        byte[] bytes = b.array();
        int sum = InternetChecksum.compute(Unpooled.wrappedBuffer(bytes), 0, header);
        bytes[10] = (byte) (sum >>> 8);
        bytes[11] = (byte) sum;
        return bytes;
    }

    static byte[] udp6(String src, int srcPort, String dst, int dstPort, int payloadLength) {
        ByteBuffer b = ByteBuffer.allocate(40 + 8 + payloadLength);
        b.putInt(0x6000_0000).putShort((short) (8 + payloadLength)).put((byte) UDP).put((byte) 64)
                .put(addr(src)).put(addr(dst))
                .putShort((short) srcPort).putShort((short) dstPort).putShort((short) (8 + payloadLength)).putShort((short) 0);
        return b.array();
    }

    static byte[] addr(String literal) {
        return InetAddress.ofLiteral(literal).getAddress();
    }

    /** The packet with {@code headroom} free bytes in front, as the TUN reader leaves them. */
    static ByteBuf withHeadroom(byte[] packet, int headroom) {
        ByteBuf buf = Unpooled.buffer(headroom + packet.length);
        buf.writerIndex(headroom).readerIndex(headroom);
        return buf.writeBytes(packet);
    }

    /** Context id 0 then the packet: an HTTP datagram payload as the link delivers it. */
    static ByteBuf datagram(byte[] packet) {
        return Unpooled.buffer(1 + packet.length).writeByte(0).writeBytes(packet);
    }

    static byte[] bytes(ByteBuf buf) {
        byte[] out = new byte[buf.readableBytes()];
        buf.getBytes(buf.readerIndex(), out);
        return out;
    }
}
