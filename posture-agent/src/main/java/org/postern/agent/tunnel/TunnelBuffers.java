package org.postern.agent.tunnel;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;

/**
 * The buffers of the agent's sockets: the gateway connection and the local listeners' sockets.
 *
 * <p>Why not Netty's default: the agent runs with a small heap ({@code -XX:MaxRAM=256m}), so
 * Netty's adaptive allocator takes its low-memory mode, where it pools buffers only up to about
 * 16 KiB. A socket read of 64 KiB then gets a buffer of its own, and on JDK 25 Netty frees such a
 * buffer by closing a shared {@code Arena}, which stops every JVM thread for a handshake: about
 * one handshake per 64 KiB relayed, a tenth of the agent's CPU in the profile
 * (docs/profile-h2-relay.md). This pool keeps direct memory in 1 MiB chunks (one arena, no
 * thread caches) and reuses them, so buffers up to 1 MiB cost no handshake, for a resident
 * footprint of a chunk or two.
 */
public final class TunnelBuffers {
    /** Page 8 KiB, chunk 8 KiB &lt;&lt; 7 = 1 MiB, one direct arena, no heap arena, no thread-local caches. */
    public static final ByteBufAllocator ALLOCATOR = new PooledByteBufAllocator(true, 0, 1, 8192, 7, 0, 0, false);

    private TunnelBuffers() {
    }
}
