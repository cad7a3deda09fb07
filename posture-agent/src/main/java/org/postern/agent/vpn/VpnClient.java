package org.postern.agent.vpn;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import org.jspecify.annotations.Nullable;
import org.postern.agent.key.DeviceKey;
import org.postern.config.agent.AgentSettings;
import org.postern.vpn.link.LinkConfig;
import org.postern.vpn.tun.TunDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VPN of {@code postern-agent up} (docs/vpn.md "The laptop"): owns the TUN device for the
 * agent's whole life (down between links: no address, no routes), one reader thread that hands
 * packet batches to the current link's {@link VpnEngine}, and one thread that runs interface, route
 * and DNS commands in order. {@link #open} is called by the session once its lease holds.
 */
public final class VpnClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(VpnClient.class);
    /** How long opening the link may take (HTTP/3 wait included). */
    static final Duration OPEN_TIMEOUT = Duration.ofSeconds(15);
    /** Packets per TUN read, and batches in flight between the reader and the event loop. */
    static final int BATCH = 32;
    static final int BATCHES = 2;
    /** Each read buffer: larger than any tunnel MTU, so the kernel never truncates. */
    static final int PACKET_BUFFER = 2048;

    private final TunDevice tun;
    private final LinkConfig links;
    private final VpnHost host;
    private final AgentSettings.Vpn settings;
    private final Consumer<String> say;
    private final Clock clock;
    private final ExecutorService config;
    private final BlockingQueue<PacketBatch> free = new ArrayBlockingQueue<>(BATCHES);
    private final Thread reader;
    private volatile @Nullable VpnEngine engine;
    private volatile boolean closed;
    private volatile Runnable changed = () -> {};

    /** What opening the link needs from the session: the connection and the device's credentials. */
    public record Gateway(Channel connection, String host, int port, String authority, String caSha256,
                          DeviceKey key, X509Certificate cert) {}

    public VpnClient(TunDevice tun, LinkConfig links, VpnHost host, AgentSettings.Vpn settings, Consumer<String> say, Clock clock) {
        this.tun = tun;
        this.links = links;
        this.host = host;
        this.settings = settings;
        this.say = say;
        this.clock = clock;
        this.config = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("postern-vpn-config").daemon(true).factory());
        for (int i = 0; i < BATCHES; i++) {
            free.add(new PacketBatch(BATCH, PACKET_BUFFER, free::add));
        }
        this.reader = Thread.ofPlatform().name("postern-vpn-tun").daemon(true).unstarted(this::read);
    }

    /** Runs {@code listener} after the VPN came up, its routes changed, or it went down (the session saves its state file). */
    public void onChange(Runnable listener) {
        this.changed = listener;
    }

    /** Starts reading the TUN device. */
    public void start() {
        reader.start();
    }

    /** Whether a link is open (or being configured). */
    public boolean isOpen() {
        VpnEngine e = engine;
        return e != null && !e.isClosed();
    }

    /** What {@code status} shows, or empty when the VPN is down. */
    public Optional<VpnStatus> status() {
        VpnEngine e = engine;
        return e == null ? Optional.empty() : e.status();
    }

    /**
     * Opens the VPN to {@code gateway} (on the calling thread, waiting for the answer) and starts
     * its engine. The returned future completes when that link has ended and been cleared.
     *
     * @throws ConnectIpRefusedException the gateway refused (its code is printed by the caller)
     * @throws IOException the link could not be opened
     */
    public CompletableFuture<String> open(Gateway gateway) throws IOException, InterruptedException {
        Map<String, String> headers = settings.fullTunnel() ? Map.of(ConnectIpAnswer.FULL_TUNNEL_HEADER, "?1") : Map.of();
        CompletableFuture<ConnectIpAnswer> answer = switch (settings.transport()) {
            case H2 -> Http2ConnectIp.open(gateway.connection(), gateway.authority(), headers);
            case H3, AUTO -> {
                if (!ConnectIpClient.h3Capable(gateway.key())) {
                    say.accept("VPN: the device key does not leave its token (" + gateway.key().provider().getName()
                            + "); QUIC cannot sign through it, using HTTP/2");
                    yield Http2ConnectIp.open(gateway.connection(), gateway.authority(), headers);
                }
                ConnectIpClient h3 = ConnectIpClient.forGateway(gateway.host(), gateway.port(), gateway.caSha256(),
                        gateway.key(), gateway.cert());
                if (settings.transport() == AgentSettings.Vpn.Transport.H3) {
                    yield h3.openH3(OPEN_TIMEOUT, headers);
                }
                yield ConnectIpClient.openAuto(h3, gateway.connection(), gateway.authority(), ConnectIpClient.H3_WAIT, headers)
                        .thenApply(opened -> {
                            if (!opened.fallbackReason().isEmpty()) {
                                say.accept("VPN: " + opened.fallbackReason());
                            }
                            return opened.answer();
                        });
            }
        };
        ConnectIpAnswer a;
        try {
            a = answer.get(OPEN_TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof IOException io ? io : new IOException(cause.getMessage(), cause);
        } catch (TimeoutException e) {
            answer.cancel(false);
            throw new IOException("VPN: no answer from the gateway within " + OPEN_TIMEOUT.toSeconds() + " s");
        }
        InetAddress outer = gateway.connection().remoteAddress() instanceof InetSocketAddress s ? s.getAddress() : null;
        return attach(a, outer);
    }

    /** Starts the engine of an open link; {@code outer} is the gateway's address outside the tunnel. */
    CompletableFuture<String> attach(ConnectIpAnswer a, @Nullable InetAddress outer) {
        VpnEngine e = new VpnEngine(a, tun, links, host, config, say, () -> changed.run(), PooledByteBufAllocator.DEFAULT, clock,
                VpnEngine.Options.of(outer, settings.dns()));
        engine = e;
        if (closed) {
            e.close("agent stopping");
        }
        e.start();
        return e.done();
    }

    /** Ends the current link, if any, for {@code why} (printed as {@code VPN down: why}). */
    public void closeLink(String why) {
        VpnEngine e = engine;
        if (e != null && !e.isClosed()) {
            e.close(why);
        }
    }

    /**
     * Stops the VPN: ends the link, waits (bounded) for its routes and DNS to be taken away, and
     * removes the TUN device. Called on the way out, SIGTERM included.
     */
    @Override
    public void close() {
        closed = true;
        VpnEngine e = engine;
        if (e != null) {
            if (!e.isClosed()) {
                e.close("agent stopping");
            }
            try {
                e.done().get(5, TimeUnit.SECONDS);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException ex) {
                log.warn("VPN: not cleared within 5 s: {}", ex.toString());
                try {
                    host.restoreDns();
                } catch (IOException io) {
                    log.warn("VPN: DNS not restored: {}", io.getMessage());
                }
            }
        }
        try {
            tun.close();
        } catch (IOException ex) {
            log.warn("VPN: {} not closed: {}", tun.name(), ex.getMessage());
        }
        config.shutdown();
        try {
            reader.join(2000);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /** The reader thread: batches from the TUN device to the current engine, dropped while down. */
    private void read() {
        try {
            while (!closed) {
                PacketBatch batch = free.take().clear();
                try {
                    batch.count = tun.read(batch.buffers);
                } catch (ClosedChannelException e) {
                    return;
                }
                VpnEngine e = engine;
                if (e == null || e.isClosed()) {
                    batch.recycle();
                } else {
                    e.send(batch);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            if (!closed) {
                say.accept("VPN: reading " + tun.name() + " failed: " + e.getMessage());
            }
        }
    }
}
