package org.postern.bench.tunnel;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.netty.util.concurrent.Future;

/**
 * One simulated laptop of {@link LaptopLoad}: it gets ready (connects, and proves its posture
 * where the path requires it), then holds its tunnels to the sink open, each with a
 * {@link PushHandler} waiting for the start.
 */
sealed interface Laptop extends AutoCloseable permits H2Laptop, TcpLaptop {

    /** Its name in the report. */
    String name();

    /** Gets ready and opens {@code streams} tunnels; blocks, bounded by the set-up timeouts. */
    List<PushHandler> open(int streams) throws Exception;

    /** Closes its connections. */
    @Override
    void close();

    /** Waits at most {@code seconds} for a Netty future and returns its value, or throws saying {@code what} failed. */
    static <T> T await(Future<T> f, long seconds, String what) throws Exception {
        if (!f.await(seconds, TimeUnit.SECONDS)) {
            throw new TimeoutException(what + ": no answer within " + seconds + " s");
        }
        if (!f.isSuccess()) {
            throw new IllegalStateException(what + ": " + f.cause(), f.cause());
        }
        return f.getNow();
    }
}
