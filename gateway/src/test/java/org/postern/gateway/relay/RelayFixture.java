package org.postern.gateway.relay;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import org.postern.gateway.session.FlowEnd;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.gateway.GatewaySettings;
import org.postern.net.Transport;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.ForbiddenAddresses;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.posture.LeaseStore;
import org.postern.gateway.session.Sessions;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.posture.PostureVerdict;

/**
 * A gateway on 127.0.0.1 with the CONNECT gate behind a plain HTTP/1.1 codec, or cleartext HTTP/2
 * ({@link #h2}) (no TLS: a handler plants the device identity the TLS layer would have set), a real PKI registry, a lease store,
 * an in-memory audit sink, and admin hosts made of plain sockets.
 */
final class RelayFixture implements AutoCloseable {

    static final Duration WAIT = Duration.ofSeconds(5);

    /** Keeps events; {@link #await} blocks until one of a type arrives, with a bound. */
    static final class MemoryAudit implements AuditSink {
        private final List<AuditEvent> events = new ArrayList<>();
        /** While true, every record fails as a trail that cannot be written does. */
        volatile boolean failing;
        /** When set, every record goes to this real trail first (and is kept here once it returned). */
        volatile org.postern.audit.trail.@org.jspecify.annotations.Nullable AuditTrail trail;

        /** When set, sees every record first, on the thread that records it (a test moving its clock at that point). */
        volatile java.util.function.@org.jspecify.annotations.Nullable Consumer<AuditEvent> onRecord;

        @Override
        public void record(AuditEvent event) {
            var hook = onRecord;
            if (hook != null) {
                hook.accept(event);
            }
            if (failing) {
                throw new AuditUnavailableException("audit.unavailable: test sink set to fail", null);
            }
            var t = trail;
            if (t != null) {
                t.record(event);
            }
            keep(event);
        }

        @Override
        public boolean recordOrDefer(AuditEvent event) {
            var t = trail;
            if (t == null) {
                return AuditSink.super.recordOrDefer(event);
            }
            boolean durable = t.recordOrDefer(event);
            keep(event);
            return durable;
        }

        private synchronized void keep(AuditEvent event) {
            events.add(event);
            notifyAll();
        }

        synchronized AuditEvent await(String type) throws InterruptedException {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (true) {
                for (AuditEvent e : events) {
                    if (e.type().equals(type)) {
                        return e;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no " + type + " event within " + WAIT + "; events: " + events);
                }
                wait(Math.max(1, left / 1_000_000));
            }
        }

        /** Every event so far, in order. */
        synchronized List<AuditEvent> all() {
            return List.copyOf(events);
        }

        synchronized List<AuditEvent> of(String type) {
            return events.stream().filter(e -> e.type().equals(type)).toList();
        }
    }

    /** How a local admin host behaves. */
    enum Behaviour {
        /** Echoes as it reads; at end of input, ends its output. */
        ECHO,
        /** Reads to end of input, then answers {@code "got N\n"} and closes. */
        COUNT_THEN_ANSWER,
        /** Accepts and never reads. */
        SINK,
        /** Writes as fast as it can, never reads, counting what the gateway took ({@link AdminHost#written}). */
        FLOOD,
        /** Writes {@link AdminHost#GREETING} the moment it accepts, then closes (a banner, then gone). */
        WRITE_THEN_CLOSE,
        /**
         * Writes {@link AdminHost#GREETING} the moment it accepts, ends its output (FIN), then reads
         * to end of input, counting ({@link AdminHost#received}).
         */
        WRITE_THEN_HALF_CLOSE,
        /**
         * Writes {@link AdminHost#bytes} of the stream seeded {@link AdminHost#SEED}, then ends its
         * output, while it reads to end of input; records both as an {@link AdminHost.Exchange}.
         */
        SOURCE_AND_SINK,
        /** Reads {@link AdminHost#bytes} (or to end of input), then resets the connection (RST). */
        RESET_AFTER_READ
    }

    /** A plain-socket server on 127.0.0.1, one virtual thread per connection. */
    static final class AdminHost implements AutoCloseable {
        /** The seed of what a {@link Behaviour#SOURCE_AND_SINK} host sends. */
        static final long SEED = 0x5eed_0f_ad_1e_4057L;

        /** What one connection of a {@link Behaviour#SOURCE_AND_SINK} host sent and received, with SHA-256s. */
        record Exchange(long sent, String sentSha256, long received, String receivedSha256) {
        }

        final ServerSocket server;
        /** How much a {@link Behaviour#SOURCE_AND_SINK} host sends, or a {@link Behaviour#RESET_AFTER_READ} host reads. */
        final long bytes;
        /** One per finished {@link Behaviour#SOURCE_AND_SINK} connection. */
        final java.util.concurrent.BlockingQueue<Exchange> exchanges = new java.util.concurrent.LinkedBlockingQueue<>();
        private final List<Socket> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
        /** What a {@link Behaviour#WRITE_THEN_CLOSE} or {@link Behaviour#WRITE_THEN_HALF_CLOSE} host writes first. */
        static final String GREETING = "SSH-2.0-early_bytes_then_gone\r\n";
        /** Bytes a {@link Behaviour#FLOOD} host managed to write, over all its connections. */
        final java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        /** Bytes a {@link Behaviour#WRITE_THEN_HALF_CLOSE} host read, over all its connections. */
        final java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();

        AdminHost(Behaviour behaviour) throws IOException {
            this(behaviour, 0);
        }

        AdminHost(Behaviour behaviour, long bytes) throws IOException {
            this.bytes = bytes;
            server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        accepted.add(s);
                        Thread.ofVirtual().start(() -> {
                            switch (behaviour) {
                                case SOURCE_AND_SINK -> sourceAndSink(s);
                                case RESET_AFTER_READ -> resetAfterRead(s);
                                default -> serve(s, behaviour, closed, written, received);
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        /** A plan for {@code H2Client} against this listener (cleartext h2), with these requests. */
    Map<String, Object> h2Plan(List<Map<String, Object>> requests) {
        Map<String, Object> plan = new java.util.HashMap<>();
        plan.put("host", "127.0.0.1");
        plan.put("port", port());
        plan.put("tls", false);
        plan.put("timeout", 20);
        plan.put("requests", requests);
        return plan;
    }

    int port() {
            return server.getLocalPort();
        }

        /** Connections the admin host has accepted so far. */
        int acceptedCount() {
            return accepted.size();
        }

        private static void serve(Socket s, Behaviour behaviour, java.util.concurrent.CountDownLatch closed,
                                  java.util.concurrent.atomic.AtomicLong written,
                                  java.util.concurrent.atomic.AtomicLong received) {
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                switch (behaviour) {
                    case ECHO -> {
                        byte[] buf = new byte[16 * 1024];
                        for (int n; (n = in.read(buf)) >= 0; ) {
                            out.write(buf, 0, n);
                        }
                        s.shutdownOutput();
                    }
                    case COUNT_THEN_ANSWER -> {
                        long total = in.transferTo(OutputStream.nullOutputStream());
                        out.write(("got " + total + "\n").getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                    case FLOOD -> {
                        byte[] chunk = new byte[64 * 1024];
                        while (closed.getCount() > 0 && written.get() < (1L << 30)) { // bounded: 1 GiB at most
                            out.write(chunk);
                            written.addAndGet(chunk.length);
                        }
                    }
                    case WRITE_THEN_CLOSE -> out.write(GREETING.getBytes(StandardCharsets.US_ASCII)); // closed on return
                    case WRITE_THEN_HALF_CLOSE -> {
                        out.write(GREETING.getBytes(StandardCharsets.US_ASCII));
                        s.shutdownOutput();
                        received.addAndGet(in.transferTo(OutputStream.nullOutputStream()));
                    }
                    case SINK -> {
                        try { // hold the connection without reading until the test ends
                            closed.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }
            } catch (IOException e) {
                // the gateway closed the flow
            }
        }

        private void sourceAndSink(Socket s) {
            try (s) {
                var sent = new java.util.concurrent.CompletableFuture<String>();
                Thread writer = Thread.ofVirtual().start(() -> {
                    try {
                        sent.complete(writeSeeded(s.getOutputStream(), bytes, SEED));
                        s.shutdownOutput();
                    } catch (IOException e) {
                        sent.completeExceptionally(e);
                    }
                });
                java.security.MessageDigest in = H2TunnelClient.sha256();
                long got = 0;
                byte[] buf = new byte[64 * 1024];
                InputStream input = s.getInputStream();
                for (int n; (n = input.read(buf)) >= 0; ) {
                    in.update(buf, 0, n);
                    got += n;
                }
                writer.join();
                String sentSha = sent.isDone() && !sent.isCompletedExceptionally() ? sent.join() : "failed";
                exchanges.add(new Exchange(bytes, sentSha, got,
                        java.util.HexFormat.of().formatHex(in.digest())));
            } catch (IOException e) {
                // the gateway cut the flow: no exchange
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private void resetAfterRead(Socket s) {
            try (s) {
                s.getInputStream().readNBytes((int) bytes);
                s.setSoLinger(true, 0); // close with RST
            } catch (IOException e) {
                // gone already
            }
        }

        @Override
        public void close() throws IOException {
            closed.countDown();
            server.close();
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    /** A CONNECT answer: status, headers (lower-case names), and the socket for the tunnel. */
    record Answer(int status, Map<String, String> headers, Socket socket) {
        String reason() {
            return headers.get("postern-reason");
        }
    }

    final TestPki pki = TestPki.create();
    final MemoryAudit audit = new MemoryAudit();
    final Ticker ticker = () -> Duration.between(Instant.EPOCH, pki.clock.instant()).toNanos();
    final LeaseStore leases;
    final TestPki.Enrolled laptop = pki.enroll("laptop-1", "alice"); // groups [staff]
    final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    final FlowRegistry flows;
    final Sessions sessions;
    /** What the test DNS answers; a name not here does not resolve. */
    final Map<String, InetAddress> names = new java.util.concurrent.ConcurrentHashMap<>();
    /** The gateway's transport: its listener, the connections it accepts and the relay's outbound sockets. */
    final Transport transport;
    final EventLoopGroup group;
    final Channel listener;
    /** Whether the listener speaks cleartext HTTP/2 (prior knowledge) instead of HTTP/1.1. */
    final boolean h2;
    /** What the planted identity is; null as if no client certificate was presented. */
    volatile ClientIdentity identity = ClientIdentity.of(laptop.certificate());

    /**
     * An HTTP/1.1 listener on NIO, the transport these relay tests were written on; every transport
     * is {@link TransportRelayTest}'s and {@link EarlyBytesRelayTest}'s.
     */
    RelayFixture(RelaySettings settings, String... rules) throws InterruptedException {
        this(Transport.NIO, settings, rules);
    }

    /** An HTTP/1.1 listener on {@code transport}. */
    RelayFixture(Transport transport, RelaySettings settings, String... rules) throws InterruptedException {
        this(transport, settings, false, 100, GatewaySettings.Audit.FailMode.CLOSED,
                GatewaySettings.Limits.DEFAULT_FLOWS_PER_DEVICE, rules(rules));
    }

    /** An HTTP/1.1 listener on NIO enforcing {@code rules} as written (hours, time zone), on {@code pki.clock}. */
    RelayFixture(RelaySettings settings, AccessRules rules) throws InterruptedException {
        this(Transport.NIO, settings, false, 100, GatewaySettings.Audit.FailMode.CLOSED,
                GatewaySettings.Limits.DEFAULT_FLOWS_PER_DEVICE, rules);
    }

    /** {@code "GROUP -> DEST,DEST"} each, named rule-0, rule-1, …, always open. */
    static AccessRules rules(String... rules) {
        List<AccessRules.Rule> list = new ArrayList<>();
        for (int i = 0; i < rules.length; i++) {
            String[] groupAndTo = rules[i].split(" -> ");
            list.add(new AccessRules.Rule("rule-" + i, List.of(groupAndTo[0]),
                    Arrays.stream(groupAndTo[1].split(",")).map(Destination::parse).toList()));
        }
        return new AccessRules(list);
    }

    RelayFixture(RelaySettings settings, GatewaySettings.Audit.FailMode failMode, int flowsPerDevice, String... rules)
            throws InterruptedException {
        this(Transport.NIO, settings, false, 100, failMode, flowsPerDevice, rules(rules));
    }

    /**
     * A listener speaking cleartext HTTP/2 with prior knowledge: the stream pipeline of the
     * gateway ({@link Http2ConnectHandler}; ordinary requests get 404), at most {@code streams}
     * concurrent streams, the gateway's windows.
     */
    static RelayFixture h2(RelaySettings settings, int streams, String... rules) throws InterruptedException {
        return h2(Transport.NIO, settings, streams, rules);
    }

    /** As {@link #h2(RelaySettings, int, String...)}, on {@code transport}. */
    static RelayFixture h2(Transport transport, RelaySettings settings, int streams, String... rules)
            throws InterruptedException {
        return new RelayFixture(transport, settings, true, streams, GatewaySettings.Audit.FailMode.CLOSED,
                Math.max(streams, GatewaySettings.Limits.DEFAULT_FLOWS_PER_DEVICE), rules(rules));
    }

    /** As {@link #h2(RelaySettings, int, String...)}, enforcing {@code rules} as written (hours, time zone) on {@code pki.clock}. */
    static RelayFixture h2(RelaySettings settings, int streams, AccessRules rules) throws InterruptedException {
        return new RelayFixture(Transport.NIO, settings, true, streams, GatewaySettings.Audit.FailMode.CLOSED,
                Math.max(streams, GatewaySettings.Limits.DEFAULT_FLOWS_PER_DEVICE), rules);
    }

    /** The access rules the gate enforces (their version is in every session.start and flow.open). */
    final AccessRules accessRules;

    private RelayFixture(Transport transport, RelaySettings settings, boolean h2, int streams,
                         GatewaySettings.Audit.FailMode failMode, int flowsPerDevice, AccessRules rules)
            throws InterruptedException {
        this.transport = transport.require(); // a transport missing here fails the test, never skips it
        this.group = transport.newGroup(1);
        this.h2 = h2;
        flows = new FlowRegistry(audit, workers, pki.clock, settings);
        // as GatewayServer wires it: a lease that goes (not renewed) cuts the device's flows and sessions
        leases = new LeaseStore(pki.clock, ticker, Scheduler.disabledScheduler(), 1000, (lease, end) -> {
            switch (end) {
                case RENEWED -> { }
                case ENDED -> flows.closeAll(lease.deviceId(), FlowEnd.NON_COMPLIANT);
                case EXPIRED, EVICTED -> flows.closeAll(lease.deviceId(), FlowEnd.LEASE_ENDED);
            }
        });
        sessions = new Sessions(audit, workers, pki.clock, flows,
                device -> leases.current(device).map(Lease::until).orElse(null), failMode, flowsPerDevice);
        accessRules = rules;
        flows.accessSettings(() -> rules); // as GatewayServer passes the access settings in force
        // the hours of the rules read the test's clock, as GatewayServer passes the gateway's
        AccessPolicy policy = AccessPolicy.of(accessRules, new ForbiddenAddresses(Set.of()), pki.clock);
        DestinationResolver resolver = new DestinationResolver(new ForbiddenAddresses(Set.of()), host -> {
            InetAddress a = names.get(host);
            if (a == null) {
                throw new UnknownHostException(host + ": no such name (test)");
            }
            return List.of(a);
        });
        ConnectHandler connect = new ConnectHandler(new org.postern.gateway.gate.TunnelGate(pki.registry, leases, resolver, policy, () -> null, () -> null), flows, sessions);
        listener = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .childOption(io.netty.channel.ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (h2) {
                            ClientIdentity id = identity;
                            if (id != null) {
                                ch.attr(ClientIdentity.KEY).set(id);
                            }
                            ch.pipeline().addLast("h2", Http2FrameCodecBuilder.forServer()
                                    .initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(streams)
                                            .initialWindowSize(128 * 1024))
                                    // as GatewayInitializer: RST_PER_STREAM (64) per allowed stream in 30 s, not Netty's 200
                                    .encoderEnforceMaxRstFramesPerWindow(64 * streams, 30)
                                    .build());
                            ch.pipeline().addLast("streams", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                                @Override
                                protected void initChannel(Http2StreamChannel stream) {
                                    stream.pipeline().addLast("connect", new Http2ConnectHandler(connect, p -> {
                                        p.addLast("http", new Http2StreamFrameToHttpObjectCodec(true));
                                        p.addLast("aggregate", new HttpObjectAggregator(16 * 1024));
                                        p.addLast("notFound", new org.postern.protocol.http.NotFoundHandler());
                                    }));
                                }
                            }));
                            ch.pipeline().addLast("notFound", new org.postern.protocol.http.NotFoundHandler());
                            return;
                        }
                        // as GatewayInitializer orders them: the CONNECT handler sees the head, before the aggregator
                        ch.pipeline().addLast("http", new HttpServerCodec());
                        ch.pipeline().addLast("identity", new ChannelInboundHandlerAdapter() {
                            @Override
                            public void handlerAdded(ChannelHandlerContext ctx) {
                                ClientIdentity id = identity;
                                if (id != null) {
                                    ctx.channel().attr(ClientIdentity.KEY).set(id);
                                }
                            }
                        });
                        ch.pipeline().addLast("connect", connect);
                        ch.pipeline().addLast("aggregator", new HttpObjectAggregator(16 * 1024));
                        ch.pipeline().addLast("notFound", new org.postern.protocol.http.NotFoundHandler());
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
    }

    /** A plan for {@code H2Client} against this listener (cleartext h2), with these requests. */
    Map<String, Object> h2Plan(List<Map<String, Object>> requests) {
        Map<String, Object> plan = new java.util.HashMap<>();
        plan.put("host", "127.0.0.1");
        plan.put("port", port());
        plan.put("tls", false);
        plan.put("timeout", 20);
        plan.put("requests", requests);
        return plan;
    }

    int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** A compliant lease for the laptop, ten minutes long. */
    void grantLease() {
        grantLease(Duration.ofMinutes(10));
    }

    /** A compliant lease for the laptop, {@code length} long (a test that moves the clock by hours). */
    void grantLease(Duration length) {
        Instant now = pki.clock.instant();
        leases.put(new Lease(laptop.id(), "alice", laptop.certificate().getSerialNumber(), now,
                new PostureVerdict.Compliant(PosturePolicy.Mode.ENFORCE, "test-1", now.plus(length), List.of())));
    }

    /** Sends {@code CONNECT authority} and reads the answer's head; the socket is left open. */
    Answer connect(String authority) throws IOException {
        return connect(authority, "");
    }

    /**
     * Sends {@code CONNECT authority} with {@code after} in the same write (a client that does not
     * wait for the 200) and reads the answer's head; the socket is left open.
     */
    Answer connect(String authority, String after) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port());
        s.setSoTimeout((int) WAIT.toMillis());
        s.getOutputStream().write(("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n" + after)
                .getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new AssertionError("connection closed before the answer's head ended: " + head);
            }
            head.write(b);
            byte[] h = head.toByteArray();
            int n = h.length;
            if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
                break;
            }
        }
        String[] lines = head.toString(StandardCharsets.US_ASCII).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        return new Answer(status, headers, s);
    }

    /**
     * Writes {@code bytes} of the stream seeded {@code seed} (64 KiB at a time) and returns its
     * SHA-256 in hex.
     */
    static String writeSeeded(OutputStream out, long bytes, long seed) throws IOException {
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        java.security.MessageDigest digest = H2TunnelClient.sha256();
        byte[] chunk = new byte[64 * 1024];
        for (long left = bytes; left > 0; ) {
            int n = (int) Math.min(chunk.length, left);
            random.nextBytes(chunk);
            digest.update(chunk, 0, n);
            out.write(chunk, 0, n);
            left -= n;
        }
        out.flush();
        return java.util.HexFormat.of().formatHex(digest.digest());
    }

    /** The SHA-256 (hex) of {@code bytes} of the stream seeded {@code seed}, and of what {@code in} gives to its end. */
    static String sha256ToEnd(InputStream in, long[] count) throws IOException {
        java.security.MessageDigest digest = H2TunnelClient.sha256();
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        for (int n; (n = in.read(buf)) >= 0; ) {
            digest.update(buf, 0, n);
            total += n;
        }
        count[0] = total;
        return java.util.HexFormat.of().formatHex(digest.digest());
    }

    static BigInteger serial(TestPki.Enrolled e) {
        return e.certificate().getSerialNumber();
    }

    @Override
    public void close() throws Exception {
        listener.close().sync();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        workers.shutdown();
        pki.close();
    }
}
