package org.postern.agent.vpn;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.EventLoop;
import org.postern.vpn.transport.IpLink;

/** An {@link IpLink} that records what is sent (as bytes, releasing the buffers) and closes on its event loop. */
final class FakeLink implements IpLink {
    final String transport;
    final EventLoop loop;
    final List<byte[]> stream = new CopyOnWriteArrayList<>();
    final List<byte[]> datagrams = new CopyOnWriteArrayList<>();
    volatile int maxDatagramPayload;
    volatile int flushes;
    volatile String closedWith;
    /** Plays the gateway: sees each datagram payload sent (context id first). */
    volatile java.util.function.Consumer<byte[]> gateway = b -> {};
    private volatile Receiver receiver;

    FakeLink(String transport, EventLoop loop, int maxDatagramPayload) {
        this.transport = transport;
        this.loop = loop;
        this.maxDatagramPayload = maxDatagramPayload;
    }

    @Override
    public String transport() {
        return transport;
    }

    @Override
    public void sendStream(ByteBuf bytes) {
        stream.add(ByteBufUtil.getBytes(bytes));
        bytes.release();
    }

    @Override
    public DatagramResult sendDatagram(ByteBuf payload) {
        try {
            if (maxDatagramPayload == 0) {
                return DatagramResult.UNSUPPORTED;
            }
            if (payload.readableBytes() > maxDatagramPayload) {
                return DatagramResult.TOO_LARGE;
            }
            byte[] bytes = ByteBufUtil.getBytes(payload);
            datagrams.add(bytes);
            gateway.accept(bytes);
            return DatagramResult.QUEUED;
        } finally {
            payload.release();
        }
    }

    @Override
    public int maxDatagramPayload() {
        return maxDatagramPayload;
    }

    @Override
    public void flush() {
        flushes++;
    }

    @Override
    public void close(String why) {
        loop.execute(() -> {
            if (closedWith == null) {
                closedWith = why;
                receiver.onClose(why);
            }
        });
    }

    @Override
    public void setReceiver(Receiver receiver) {
        this.receiver = receiver;
    }

    /** Delivers bytes from the "gateway" on the event loop, as a real link does. */
    void fromGatewayStream(ByteBuf bytes) {
        loop.execute(() -> receiver.onStream(bytes));
    }

    void fromGatewayDatagram(ByteBuf payload) {
        loop.execute(() -> receiver.onDatagram(payload));
    }
}
