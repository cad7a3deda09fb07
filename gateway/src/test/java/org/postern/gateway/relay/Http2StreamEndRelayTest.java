package org.postern.gateway.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;

/**
 * Regression for the tunnel benchmark's incident (iperf3 through {@code postern-agent up}): one
 * tunnel whose admin host closed, then reset its TCP connection made the gateway close the laptop's
 * whole HTTP/2 connection, so every other tunnel of the laptop ended with it. Here two CONNECT
 * streams share one connection; stream 1 ends in each of the ways a flow can end badly while bytes
 * flow both ways, and stream 2 must carry on, the connection must stay open (no GOAWAY), and stream
 * 1's {@code flow.close} must say how it ended. The client is Netty's HTTP/2 codec driven step by
 * step, so each case happens in a known order.
 */
class Http2StreamEndRelayTest {

    private static final RelaySettings SETTINGS =
            new RelaySettings(Duration.ofSeconds(2), Duration.ofMinutes(1), Duration.ofSeconds(1));
    private static final Duration WAIT = Duration.ofSeconds(10);

    private AdminHost host;
    private RelayFixture gw;
    private Laptop laptop;

    @BeforeEach
    void setUp() throws Exception {
        host = new AdminHost();
        gw = RelayFixture.h2(SETTINGS, 100, "staff -> 127.0.0.1/32:" + host.port());
        gw.grantLease();
        laptop = new Laptop(gw.port());
    }

    @AfterEach
    void tearDown() throws Exception {
        if (laptop != null) {
            laptop.close();
        }
        if (host != null) {
            host.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    @Test
    void h2Connect_destinationResetsMidTransfer_onlyItsStreamEnds() throws Exception {
        Pair p = twoTunnelsBusy();
        p.host1.reset();
        p.tunnel1.inactive.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(p.tunnel1.closeTrailer).as("the laptop is told why: " + p.tunnel1).isEqualTo("error");
        assertSecondCarriesOn(p);
        assertThat(firstClose().fields()).containsEntry("how", "error");
    }

    @Test
    void h2Connect_destinationFinThenReset_onlyItsStreamEnds() throws Exception {
        // iperf3's data sockets: the destination's FIN becomes END_STREAM towards the laptop, then its
        // RST ends the flow; the reason can no longer be sent on the ended stream. The write that finds
        // the reset names the flow after the side that finished first (server_closed); a read that
        // finds it first is an error
        Pair p = twoTunnelsBusy();
        p.host1.stopWriting();
        p.host1.socket.shutdownOutput();
        await().atMost(WAIT).until(() -> p.tunnel1.endStream);
        p.host1.reset();
        keepSendingUntilEnded(p.tunnel1); // the gateway no longer reads that socket: a write finds the reset
        assertSecondCarriesOn(p);
        assertThat((String) firstClose().fields().get("how")).isIn("server_closed", "error");
    }

    @Test
    void h2Connect_destinationClosesWhileLaptopStillSends_onlyItsStreamEnds() throws Exception {
        Pair p = twoTunnelsBusy();
        p.host1.stopWriting();
        p.host1.socket.close(); // FIN, or RST if bytes were unread; what the laptop sends next is answered with RST
        await().atMost(WAIT).until(() -> p.tunnel1.endStream || p.tunnel1.inactive.isDone());
        keepSendingUntilEnded(p.tunnel1);
        assertSecondCarriesOn(p);
        assertThat((String) firstClose().fields().get("how")).isIn("server_closed", "error");
    }

    @Test
    void h2Connect_laptopResetsStreamMidTransfer_onlyItsStreamEnds() throws Exception {
        Pair p = twoTunnelsBusy();
        p.tunnel1.stream.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL)).await(WAIT.toMillis());
        p.tunnel1.inactive.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        await().atMost(WAIT).until(() -> p.host1.ended.get());
        assertSecondCarriesOn(p);
        assertThat(firstClose().fields()).containsEntry("how", "client_closed");
    }

    @Test
    void h2Connect_dataInFlightOnStreamsTheGatewayEnded_doesNotCloseTheConnection() throws Exception {
        // the bench's second GOAWAY (ENHANCE_YOUR_CALM): each DATA frame the laptop still had in flight on
        // a stream the gateway had reset was answered with RST_STREAM STREAM_CLOSED, and Netty's server
        // default closes the connection after 200 of those in 30 s (iperf3 -P 8 runs left 214 such frames)
        Pair p = twoTunnelsBusy();
        p.host1.reset();
        keepSendingUntilEnded(p.tunnel1);
        laptop.inFlight(p.tunnel1.stream.stream().id(), 250);
        assertSecondCarriesOn(p);
        assertThat(firstClose().fields()).containsEntry("how", "error");
    }

    /** Two tunnels through the gateway; on the first, both ends are writing when the test starts. */
    private Pair twoTunnelsBusy() throws Exception {
        Tunnel t1 = laptop.connect("127.0.0.1:" + host.port());
        HostConn h1 = host.next();
        Tunnel t2 = laptop.connect("127.0.0.1:" + host.port());
        HostConn h2 = host.next();
        assertThat(t1.status).isEqualTo("200");
        assertThat(t2.status).isEqualTo("200");
        h1.startWriting();
        for (int i = 0; i < 16; i++) {
            t1.send(16 * 1024);
        }
        await().atMost(WAIT).until(() -> h1.read.get() > 0 && t1.received.get() > 64 * 1024);
        return new Pair(t1, h1, t2, h2);
    }

    /** The laptop goes on sending on {@code t}, as iperf3 does, until the stream closes (bounded). */
    private static void keepSendingUntilEnded(Tunnel t) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> {
            if (t.stream.isActive()) {
                t.send(16 * 1024);
            }
            return t.inactive.isDone();
        });
    }

    /** Stream 2 relays both ways after stream 1 ended, and the connection was never told to go. */
    private void assertSecondCarriesOn(Pair p) throws Exception {
        int n = 200_000;
        for (int i = 0; i < n / 10_000; i++) {
            p.tunnel2.send(10_000);
        }
        await().atMost(WAIT).until(() -> p.host2.read.get() == n || !laptop.connection.isActive());
        try {
            p.host2.write(n);
        } catch (IOException e) {
            // the gateway closed stream 2's flow: the assertions below say why
        }
        await().atMost(WAIT).until(() -> p.tunnel2.received.get() == n || !laptop.connection.isActive());
        assertThat(laptop.goAways).as("GOAWAY frames the gateway sent").isEmpty();
        assertThat(laptop.connection.isActive()).as("the laptop's HTTP/2 connection is still open").isTrue();
        assertThat(p.tunnel2.stream.isActive()).as("stream 2: " + p.tunnel2).isTrue();
        assertThat(p.host2.read.get()).isEqualTo(n);
        assertThat(p.tunnel2.received.get()).isEqualTo(n);
        assertThat(gw.flows.count("laptop-1")).as("stream 2's flow is the one left").isEqualTo(1);
    }

    /** The one {@code flow.close} so far: stream 1's (stream 2's flow is still open). */
    private AuditEvent firstClose() throws InterruptedException {
        AuditEvent close = gw.audit.await("flow.close");
        assertThat(gw.audit.of("flow.close")).hasSize(1);
        return close;
    }

    private record Pair(Tunnel tunnel1, HostConn host1, Tunnel tunnel2, HostConn host2) {
    }

    /** An HTTP/2 client (Netty's codec) on one cleartext connection to the fixture's gateway. */
    private static final class Laptop implements AutoCloseable {
        final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        final List<String> goAways = new CopyOnWriteArrayList<>();
        final Channel connection;

        Laptop(int port) throws InterruptedException {
            connection = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build());
                            ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    if (msg instanceof Http2GoAwayFrame g) {
                                        goAways.add(Http2Error.valueOf(g.errorCode()) + " "
                                                + g.content().toString(java.nio.charset.StandardCharsets.UTF_8));
                                    }
                                    ReferenceCountUtil.release(msg);
                                }
                            });
                        }
                    })
                    .connect(InetAddress.getLoopbackAddress(), port).sync().channel();
        }

        /** Opens a CONNECT stream and waits for its answer. */
        Tunnel connect(String authority) throws Exception {
            Tunnel t = new Tunnel();
            Http2StreamChannel s = new Http2StreamChannelBootstrap(connection).handler(t).open().sync().getNow();
            t.stream = s;
            s.writeAndFlush(new DefaultHttp2HeadersFrame(
                    new DefaultHttp2Headers().method("CONNECT").authority(authority), false)).sync();
            t.answered.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            return t;
        }

        /**
         * Sends {@code frames} small DATA frames on {@code streamId} as raw bytes, under the codec (which
         * would refuse a closed stream): the frames a laptop had in flight when the gateway ended it.
         */
        void inFlight(int streamId, int frames) throws InterruptedException {
            io.netty.buffer.ByteBuf raw = Unpooled.buffer(frames * 25);
            for (int i = 0; i < frames; i++) {
                raw.writeMedium(16).writeByte(0x0).writeByte(0).writeInt(streamId).writeZero(16); // DATA, no flags
            }
            connection.pipeline().firstContext().writeAndFlush(raw).await(WAIT.toMillis());
        }

        @Override
        public void close() throws InterruptedException {
            connection.close().await(WAIT.toMillis());
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT.toMillis());
        }
    }

    /** One CONNECT stream as the laptop sees it. */
    private static final class Tunnel extends ChannelInboundHandlerAdapter {
        volatile Http2StreamChannel stream;
        volatile String status;
        volatile String closeTrailer;
        volatile boolean endStream;
        volatile Long reset;
        final AtomicLong received = new AtomicLong();
        final CompletableFuture<Void> answered = new CompletableFuture<>();
        final CompletableFuture<Void> inactive = new CompletableFuture<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2HeadersFrame h) {
                if (status == null) {
                    status = String.valueOf(h.headers().status());
                    answered.complete(null);
                } else {
                    CharSequence why = h.headers().get(Flow.CLOSE_TRAILER);
                    closeTrailer = why == null ? null : why.toString();
                }
                endStream |= h.isEndStream();
            } else if (msg instanceof Http2DataFrame d) {
                received.addAndGet(d.content().readableBytes());
                endStream |= d.isEndStream();
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof Http2ResetFrame r) {
                reset = r.errorCode();
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            answered.complete(null);
            inactive.complete(null);
        }

        io.netty.channel.ChannelFuture send(int bytes) {
            return stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(new byte[bytes]), false));
        }

        @Override
        public String toString() {
            return "tunnel(status " + status + ", received " + received + ", endStream " + endStream + ", trailer "
                    + closeTrailer + ", reset " + reset + ", active " + (stream != null && stream.isActive()) + ")";
        }
    }

    /** A plain-socket admin host; each accepted connection is read to its end in the background. */
    private static final class AdminHost implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final BlockingQueue<HostConn> accepted = new LinkedBlockingQueue<>();
        final List<HostConn> all = new CopyOnWriteArrayList<>();

        AdminHost() throws IOException {
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        HostConn c = new HostConn(server.accept());
                        all.add(c);
                        accepted.add(c);
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return ((InetSocketAddress) server.getLocalSocketAddress()).getPort();
        }

        HostConn next() throws InterruptedException {
            HostConn c = accepted.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            if (c == null) {
                throw new AssertionError("the gateway did not connect to the admin host within " + WAIT);
            }
            return c;
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (HostConn c : all) {
                c.stopWriting();
                c.socket.close();
            }
        }
    }

    /** One connection at the admin host: counts what it reads; writes when told to. */
    private static final class HostConn {
        final Socket socket;
        final AtomicLong read = new AtomicLong();
        final AtomicBoolean ended = new AtomicBoolean();
        private final AtomicBoolean writing = new AtomicBoolean();
        private volatile Thread writer;

        HostConn(Socket socket) {
            this.socket = socket;
            Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[16 * 1024];
                try {
                    InputStream in = socket.getInputStream(); // not closed here: EOF still lets the host write
                    for (int n; (n = in.read(buf)) >= 0; ) {
                        read.addAndGet(n);
                    }
                } catch (IOException e) {
                    // reset or closed by the test
                } finally {
                    ended.set(true);
                }
            });
        }

        /** Writes 16 KiB chunks until {@link #stopWriting} or a failure, 256 MiB at most. */
        void startWriting() {
            writing.set(true);
            writer = Thread.ofVirtual().start(() -> {
                byte[] chunk = new byte[16 * 1024];
                try {
                    OutputStream out = socket.getOutputStream();
                    for (long sent = 0; writing.get() && sent < (256L << 20); sent += chunk.length) {
                        out.write(chunk);
                    }
                } catch (IOException e) {
                    // the flow ended under it
                }
            });
        }

        void stopWriting() throws IOException {
            writing.set(false);
            Thread w = writer;
            if (w != null) {
                try {
                    if (!w.join(Duration.ofSeconds(5))) { // blocked in a full socket buffer: cut it
                        socket.close();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        void write(int bytes) throws IOException {
            socket.getOutputStream().write(new byte[bytes]);
            socket.getOutputStream().flush();
        }

        /** An abortive close: RST, not FIN (SO_LINGER 0). */
        void reset() throws IOException {
            socket.setSoLinger(true, 0);
            socket.close();
        }
    }
}
