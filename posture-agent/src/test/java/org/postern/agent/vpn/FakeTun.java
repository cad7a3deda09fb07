package org.postern.agent.vpn;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.postern.vpn.tun.TunDevice;

/** A {@link TunDevice} that records the packets written into it; reading is the engine test's to drive. */
final class FakeTun implements TunDevice {
    final List<byte[]> written = new CopyOnWriteArrayList<>();

    @Override
    public String name() {
        return "pt-test0";
    }

    @Override
    public int mtu() {
        return 1500;
    }

    @Override
    public int read(ByteBuffer buffer) {
        throw new UnsupportedOperationException("the test hands batches to the engine itself");
    }

    @Override
    public int read(List<ByteBuffer> buffers) {
        throw new UnsupportedOperationException("the test hands batches to the engine itself");
    }

    @Override
    public void write(ByteBuffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("expected a direct buffer");
        }
        byte[] b = new byte[buffer.remaining()];
        buffer.get(b);
        written.add(b);
    }

    @Override
    public void close() {}
}
