package org.postern.gateway.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.BeforeAll;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.limits.AuditedAggregator;
import org.postern.gateway.limits.BadRequestHandler;
import org.postern.gateway.limits.LimitAudit;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.ForbiddenAddresses;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.posture.LeaseStore;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.protocol.posture.PostureVerdict;

/**
 * A peer's HTTP/1.1 bytes on the tunnel listener, through the stages the gateway puts in front of
 * CONNECT ({@code HttpServerCodec} with its bounds, {@link BadRequestHandler}, the audited
 * aggregator, as {@code GatewayInitializer.http1} does) in an {@link EmbeddedChannel}, then each
 * CONNECT's request-target through the one {@link TunnelGate} for a device with a live lease (no
 * DNS: every name resolves to 10.20.7.9). Nothing escapes the pipeline; a CONNECT that passes names
 * a host made only of name and address characters (no white space, control characters, brackets,
 * {@code /}, {@code @}), at an address and port a rule allows. Corpus:
 * {@code ConnectRequestFuzzTestInputs/connect}.
 */
class ConnectRequestFuzzTest {

    private static final Instant NOW = Instant.parse("2026-12-01T09:00:00Z");
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9.:%_-]+");
    private static final InetAddress RESOLVED = address(10, 20, 7, 9);

    private static TunnelGate gate;
    private static LimitAudit limits;

    @BeforeAll
    static void gate() {
        Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
        LeaseStore leases = new LeaseStore(clock, Ticker.systemTicker(), Scheduler.disabledScheduler(), 100,
                LeaseStore.Listener.NONE);
        leases.put(new Lease("laptop-1", "alice", BigInteger.ONE, NOW, new PostureVerdict.Compliant(
                PosturePolicy.Mode.ENFORCE, "p1", NOW.plus(Duration.ofMinutes(10)), List.of())));
        Device laptop = new Device("laptop-1", "alice", List.of("dba"), DeviceStatus.ACTIVE, null, NOW, NOW, null, null);
        Registry registry = (Registry) Proxy.newProxyInstance(Registry.class.getClassLoader(), new Class<?>[] {Registry.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("device")) {
                        return Optional.ofNullable("laptop-1".equals(args[0]) ? laptop : null);
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        AccessPolicy policy = AccessPolicy.of(new AccessRules(List.of(new AccessRules.Rule("db", List.of("dba"), List.of(
                Destination.parse("db1.admin.internal:5432"), Destination.parse("10.20.0.0/16:1-65535"),
                Destination.parse("[2001:db8::/32]:443"))))), Set.of());
        DestinationResolver resolver = new DestinationResolver(new ForbiddenAddresses(Set.of()), host -> List.of(RESOLVED));
        gate = new TunnelGate(registry, leases, resolver, policy, () -> null, () -> null);
        limits = new LimitAudit(event -> { }, Runnable::run, clock);
        assertThat(gate.open(Who.device("laptop-1", "192.0.2.1:5000"), "db1.admin.internal:5432"))
                .as("the fixture lets a well-formed CONNECT through").isInstanceOf(GateDecision.Pass.class);
    }

    @FuzzTest
    void connect(byte[] input) {
        List<GateDecision> decisions = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(
                new HttpServerCodec(4096, 8192, 8192),
                new BadRequestHandler(limits, 8192),
                new AuditedAggregator(64 * 1024, limits),
                new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        try {
                            if (msg instanceof FullHttpRequest req && HttpMethod.CONNECT.equals(req.method())) {
                                decisions.add(gate.open(Who.device("laptop-1", "192.0.2.1:5000"), req.uri()));
                            }
                        } finally {
                            ReferenceCountUtil.release(msg);
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        // a peer that leaves mid-request is the ordinary end of a connection, not a finding
                        if (!(cause instanceof PrematureChannelClosureException)) {
                            ctx.fireExceptionCaught(cause);
                        }
                    }
                });
        ch.writeInbound(Unpooled.wrappedBuffer(input));
        ch.runPendingTasks();
        ch.checkException();
        ch.finishAndReleaseAll();

        for (GateDecision d : decisions) {
            if (d instanceof GateDecision.Pass pass) {
                GateDecision.Target t = pass.target();
                assertThat(t).isNotNull();
                assertThat(t.requested().host()).matches(HOST);
                if (t.address() instanceof Inet4Address) {
                    assertThat(t.address().getAddress()[0]).isEqualTo((byte) 10);
                    assertThat(t.address().getAddress()[1]).isEqualTo((byte) 20);
                } else {
                    assertThat(t.requested().port()).isEqualTo(443);
                    assertThat(t.address().getHostAddress()).startsWith("2001:db8:");
                }
            } else {
                assertThat(((GateDecision.Refusal) d).code()).isNotBlank();
            }
        }
    }

    private static InetAddress address(int... b) {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) b[0], (byte) b[1], (byte) b[2], (byte) b[3]});
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
