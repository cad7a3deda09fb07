package org.postern.bench.tunnel;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * Pushes bytes through one tunnel until a deadline, then half-closes and waits for the
 * {@link CountingSink}'s count of what arrived. The tunnel is {@link #ready()} when the sink's
 * greeting came through it (so a relay that connects lazily, like stunnel's client, has finished
 * its handshake before the clock starts). Backpressure: at most {@link #IN_FLIGHT} chunks
 * not yet written to the connection, and none while the channel is not writable (for an HTTP/2
 * stream that includes the gateway's flow-control window).
 *
 * <p>The half-close is the transport's ({@code finish}): END_STREAM on an HTTP/2 stream, a TCP
 * FIN on a socket; it is sent only once every chunk is written, because a socket's output
 * shutdown fails what is still queued.
 */
final class PushHandler extends ChannelInboundHandlerAdapter {
    /** Chunks in flight per tunnel: 16 × 64 KiB, about what iperf3 keeps queued per stream. */
    static final int IN_FLIGHT = 16;
    /** How long the count may take after the deadline (a relay draining its queues). */
    static final long COUNT_WAIT_SECONDS = 30;

    /** What one tunnel delivered: the sink's count, and when it arrived ({@link System#nanoTime()}). */
    record Outcome(long sent, long delivered, long endNanos) {
    }

    private final ByteBuf chunk;
    private final Consumer<ChannelHandlerContext> finish;
    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    private ChannelHandlerContext ctx;
    private long deadlineNanos;
    private boolean pushing;
    private boolean finished;
    private int inFlight;
    private long sent;
    private ByteBuf reply;

    /** {@code chunk}: the bytes written again and again (never released here). */
    PushHandler(ByteBuf chunk, Consumer<ChannelHandlerContext> finish) {
        this.chunk = chunk;
        this.finish = finish;
    }

    /** Completes when the sink's greeting arrived. */
    CompletableFuture<Void> ready() {
        return ready;
    }

    CompletableFuture<Outcome> outcome() {
        return outcome;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.reply = ctx.alloc().heapBuffer(1 + Long.BYTES);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        reply.release();
    }

    /** Starts pushing until {@code deadlineNanos}; call from any thread. */
    void start(long deadlineNanos) {
        ctx.executor().execute(() -> {
            this.deadlineNanos = deadlineNanos;
            this.pushing = true;
            long left = deadlineNanos - System.nanoTime();
            ctx.executor().schedule(this::pump, Math.max(0, left), TimeUnit.NANOSECONDS);
            ctx.executor().schedule(() -> fail("no count from the sink " + COUNT_WAIT_SECONDS + " s after the deadline"),
                    left + TimeUnit.SECONDS.toNanos(COUNT_WAIT_SECONDS), TimeUnit.NANOSECONDS);
            pump();
        });
    }

    private void pump() {
        if (!pushing) {
            return;
        }
        if (System.nanoTime() - deadlineNanos >= 0) {
            pushing = false;
            finishWhenWritten();
            return;
        }
        boolean wrote = false;
        while (inFlight < IN_FLIGHT && ctx.channel().isWritable()) {
            inFlight++;
            wrote = true;
            int n = chunk.readableBytes();
            ctx.write(chunk.retainedDuplicate()).addListener((ChannelFutureListener) f -> {
                inFlight--;
                if (!f.isSuccess()) {
                    fail("write failed: " + f.cause());
                    return;
                }
                sent += n;
                if (pushing) {
                    if (inFlight <= IN_FLIGHT / 2) {
                        pump();
                    }
                } else {
                    finishWhenWritten();
                }
            });
        }
        if (wrote) {
            ctx.flush();
        }
    }

    private void finishWhenWritten() {
        if (inFlight == 0 && !finished && !outcome.isDone()) {
            finished = true;
            finish.accept(ctx);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            pump();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof ByteBuf b && !outcome.isDone()) {
                reply.writeBytes(b, Math.min(b.readableBytes(), reply.writableBytes()));
                if (reply.getByte(0) != CountingSink.HELLO) {
                    fail("expected the sink's greeting, found byte " + reply.getByte(0));
                    return;
                }
                ready.complete(null);
                if (reply.readableBytes() == 1 + Long.BYTES) {
                    // the sink closes next; closing here too would reset a stream the gateway is ending
                    outcome.complete(new Outcome(sent, reply.getLong(1), System.nanoTime()));
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail("the tunnel closed before the sink's count" + (finished ? "" : " (while pushing)"));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail(cause.toString());
        ctx.close();
    }

    private void fail(String why) {
        pushing = false;
        IOException e = new IOException(why + " (sent " + sent + " bytes)");
        ready.completeExceptionally(e);
        if (outcome.completeExceptionally(e)) {
            ctx.close();
        }
    }
}
