package org.postern.gateway.vpn;

import java.util.ArrayList;
import java.util.List;

import io.netty.buffer.ByteBuf;
import org.jspecify.annotations.Nullable;
import org.postern.vpn.transport.IpLink;

/** An in-memory {@link IpLink}: keeps what the engine sends, lets a test deliver what the device sends. */
final class FakeLink implements IpLink {

    final String transport;
    final List<ByteBuf> datagrams = new ArrayList<>();
    final List<ByteBuf> stream = new ArrayList<>();
    int maxDatagramPayload;
    int flushes;
    @Nullable String closedWhy;
    @Nullable Receiver receiver;

    FakeLink(String transport) {
        this.transport = transport;
        this.maxDatagramPayload = transport.equals(H3) ? 1400 : 0;
    }

    @Override
    public String transport() {
        return transport;
    }

    @Override
    public void sendStream(ByteBuf bytes) {
        stream.add(bytes);
    }

    @Override
    public DatagramResult sendDatagram(ByteBuf payload) {
        if (closedWhy != null) {
            payload.release();
            return DatagramResult.CLOSED;
        }
        if (!transport.equals(H3)) {
            payload.release();
            return DatagramResult.UNSUPPORTED;
        }
        if (payload.readableBytes() > maxDatagramPayload) {
            payload.release();
            return DatagramResult.TOO_LARGE;
        }
        datagrams.add(payload);
        return DatagramResult.QUEUED;
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
        if (closedWhy == null) {
            closedWhy = why;
            if (receiver != null) {
                receiver.onClose(why);
            }
        }
    }

    @Override
    public void setReceiver(Receiver receiver) {
        this.receiver = receiver;
    }

    void release() {
        datagrams.forEach(ByteBuf::release);
        stream.forEach(ByteBuf::release);
        datagrams.clear();
        stream.clear();
    }
}
