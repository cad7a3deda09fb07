package org.postern.gateway.vpn;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.FastThreadLocal;
import org.jspecify.annotations.Nullable;
import org.postern.vpn.packet.IpPacket;
import org.postern.vpn.tun.TunDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's side of the admin network: packets from the devices are written into its TUN
 * interface (the kernel routes them on, NAT included), and one reader thread takes the admin
 * hosts' answers off it in batches, finds each packet's device by destination address, and hands
 * each device's engine its share of the batch in one task on its event loop.
 */
final class TunEgress implements VpnEngine.Egress, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TunEgress.class);

    /** Packets read per system-call round when the TUN is busy. */
    static final int BATCH = 64;
    /** Free bytes before each packet read, so the link's header goes in front without a copy. */
    static final int HEADROOM = 16;
    /**
     * The most one read takes: the TUN's MTU (1500) and then some; the kernel hands a TUN without
     * offloads no packet above its MTU.
     */
    static final int READ_MAX = 2048 - HEADROOM;
    private static final int PACKET_MAX = 65_535;

    private final TunDevice tun;
    private final Function<IpPacket, @Nullable VpnEngine> route;
    private final ByteBufAllocator alloc;
    private final FastThreadLocal<ByteBuffer> copies = new FastThreadLocal<>() {
        @Override
        protected ByteBuffer initialValue() {
            return ByteBuffer.allocateDirect(PACKET_MAX);
        }
    };
    private volatile @Nullable Thread reader;
    private volatile long writeErrors;

    /** @param route the engine of a packet's destination address, or null (no live VPN session has it) */
    TunEgress(TunDevice tun, Function<IpPacket, @Nullable VpnEngine> route, ByteBufAllocator alloc) {
        this.tun = Objects.requireNonNull(tun, "tun");
        this.route = Objects.requireNonNull(route, "route");
        this.alloc = Objects.requireNonNull(alloc, "alloc");
    }

    String name() {
        return tun.name();
    }

    /** Starts the reader thread. */
    void start() {
        Thread t = Thread.ofPlatform().name("vpn-tun-" + tun.name()).daemon().unstarted(this::readLoop);
        reader = t;
        t.start();
    }

    @Override
    public void write(ByteBuf packet) {
        try {
            if (packet.isDirect() && packet.nioBufferCount() == 1) {
                tun.write(packet.nioBuffer());
            } else {
                ByteBuffer copy = copies.get().clear();
                packet.getBytes(packet.readerIndex(), copy.limit(packet.readableBytes()));
                tun.write(copy.flip());
            }
        } catch (ClosedChannelException e) {
            // stopping: the packet is lost, as on a link going down
        } catch (IOException e) {
            if (writeErrors++ % 1000 == 0) {
                LOG.warn("writing a packet to {} failed ({} so far): {}", tun.name(), writeErrors, e.getMessage());
            }
        } finally {
            packet.release();
        }
    }

    private void readLoop() {
        IpPacket parser = new IpPacket();
        ByteBuf[] bufs = new ByteBuf[BATCH];
        List<ByteBuffer> views = new ArrayList<>(BATCH);
        for (int i = 0; i < BATCH; i++) {
            views.add(null);
        }
        Map<VpnEngine, List<ByteBuf>> byEngine = new IdentityHashMap<>();
        try {
            while (true) {
                for (int i = 0; i < BATCH; i++) {
                    if (bufs[i] == null) { // only the buffers handed on last round are new
                        bufs[i] = alloc.directBuffer(HEADROOM + READ_MAX);
                        bufs[i].writerIndex(HEADROOM).readerIndex(HEADROOM);
                    }
                    views.set(i, bufs[i].nioBuffer(HEADROOM, READ_MAX));
                }
                int n = tun.read(views);
                for (int i = 0; i < n; i++) {
                    ByteBuf b = bufs[i];
                    bufs[i] = null;
                    b.writerIndex(HEADROOM + views.get(i).position());
                    VpnEngine engine = parser.parse(b) ? route.apply(parser) : null;
                    if (engine == null) {
                        b.release(); // for no device of ours (or not IP): nowhere to go
                        continue;
                    }
                    byEngine.computeIfAbsent(engine, e -> new ArrayList<>()).add(b);
                }
                for (Map.Entry<VpnEngine, List<ByteBuf>> e : byEngine.entrySet()) {
                    e.getKey().deliver(e.getValue());
                }
                byEngine.clear();
            }
        } catch (ClosedChannelException e) {
            LOG.debug("{} closed; its reader stops", tun.name());
        } catch (IOException | RuntimeException e) {
            LOG.error("reading {} failed; the VPN cannot reach the devices any more", tun.name(), e);
        } finally {
            for (ByteBuf b : bufs) {
                if (b != null) {
                    b.release();
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        tun.close();
        Thread t = reader;
        if (t != null) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
