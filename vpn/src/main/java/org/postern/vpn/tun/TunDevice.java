package org.postern.vpn.tun;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A layer-3 virtual interface that hands whole IP packets (IPv4 or IPv6, no link header, no
 * packet-information prefix) to and from this process. The VPN mode reads what the operating
 * system routes into the tunnel and writes what comes back from the other end.
 *
 * <p>OS-neutral on purpose: {@link LinuxTun} implements it over {@code /dev/net/tun}; a Windows
 * implementation over Wintun's ring buffers ({@code WintunReceivePacket}/{@code WintunSendPacket}
 * bound through the same FFM API) and a macOS one over a {@code utun} control socket (whose packets
 * carry a 4-byte address-family prefix the implementation strips and adds) can follow without
 * changing callers. Addresses, routes and DNS are not the device's business ({@code
 * org.postern.vpn.link}).
 *
 * <p>One thread may block in {@link #read}, another may {@link #write} at the same time;
 * {@link #close} from any thread wakes a blocked reader within milliseconds.
 */
public interface TunDevice extends Closeable {

    /** The interface name the operating system gave the device, {@code pt0} or {@code tun3}. */
    String name();

    /** The device's current MTU in bytes as the operating system reports it now. */
    int mtu() throws IOException;

    /**
     * Reads one packet into {@code buffer} (a direct buffer) from its position, blocking until one
     * arrives; advances the position by the packet's length and returns that length. A packet longer
     * than the buffer's remaining space is truncated by the operating system, so give it at least
     * {@link #mtu()} bytes.
     *
     * @throws java.nio.channels.ClosedChannelException when the device is closed, before or during the wait
     */
    int read(ByteBuffer buffer) throws IOException;

    /**
     * Reads up to {@code buffers.size()} packets, one per buffer, blocking only for the first: the
     * rest are what is already queued. Returns how many buffers were filled (at least one); each
     * filled buffer's position is advanced by its packet's length. Cuts per-packet overhead when
     * the tunnel is busy.
     */
    int read(List<ByteBuffer> buffers) throws IOException;

    /**
     * Writes the packet between {@code buffer}'s position and limit (a direct buffer) into the
     * operating system, as if it had arrived on this interface, and advances the position to the
     * limit.
     *
     * @throws java.nio.channels.ClosedChannelException when the device is closed
     */
    void write(ByteBuffer buffer) throws IOException;

    /**
     * Removes the device (on Linux a non-persistent TUN interface disappears with its last file
     * descriptor) and wakes a blocked {@link #read}, which then throws. Idempotent.
     */
    @Override
    void close() throws IOException;
}
