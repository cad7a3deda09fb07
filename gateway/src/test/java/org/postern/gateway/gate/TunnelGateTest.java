package org.postern.gateway.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.ForbiddenAddresses;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.posture.LeaseStore;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RegistryException;
import org.postern.protocol.HostPort;
import org.postern.protocol.Reasons;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.protocol.posture.ReasonDetail;

/**
 * The gate matrix at unit level: every device, lease and policy state through every way an entry
 * path asks the {@link TunnelGate} gives the same decision and the same reason code. The entry
 * paths ask in three ways: with an authority (HTTP/1.1 and HTTP/2 CONNECT, and so the agent's
 * SOCKS5 and forwards, which ride on HTTP/2 CONNECT), with a host and a port (SSH
 * {@code direct-tcpip}, {@code ssh -W}), and without a destination (SSH certificate
 * authentication with its login, {@code /v1/ssh/certificate}). A path that names no destination
 * cannot be refused by the access policy: for it, the policy state passes.
 */
class TunnelGateTest {

    private static final Instant NOW = Instant.parse("2026-12-01T09:00:00Z");
    private static final String ALLOWED = "db1.admin.internal:5432";
    private static final String NOT_ALLOWED = "db1.admin.internal:22";

    /** A state of the device, its lease and the access policy for the destination asked. */
    enum State {
        UNKNOWN_DEVICE(Reasons.DEVICE_NOT_ACTIVE),
        REVOKED(Reasons.DEVICE_NOT_ACTIVE),
        SUSPENDED(Reasons.DEVICE_NOT_ACTIVE),
        SUSPENDED_WITHOUT_LEASE(Reasons.DEVICE_NOT_ACTIVE),
        NO_LEASE(Reasons.NO_LEASE),
        EXPIRED_LEASE(Reasons.NO_LEASE),
        NON_COMPLIANT(Reasons.NO_LEASE),
        REPORT_ONLY_NON_COMPLIANT(null),
        NOT_ALLOWED_BY_POLICY(Reasons.NO_RULE),
        ALLOWED(null);

        final Reasons expected;

        State(Reasons expected) {
            this.expected = expected;
        }
    }

    /** How an entry path asks. */
    enum Path {
        H1_CONNECT, H2_CONNECT, SSH_DIRECT_TCPIP, SSH_CERTIFICATE_AUTH, SSH_CERTIFICATE_REQUEST;

        boolean namesDestination() {
            return this == H1_CONNECT || this == H2_CONNECT || this == SSH_DIRECT_TCPIP;
        }
    }

    static List<Arguments> matrix() {
        return java.util.Arrays.stream(State.values())
                .flatMap(s -> java.util.Arrays.stream(Path.values()).map(p -> Arguments.of(s, p)))
                .toList();
    }

    @ParameterizedTest(name = "{0} via {1}")
    @MethodSource("matrix")
    void sameStateSameDecisionOnEveryPath(State state, Path path) {
        Fixture f = new Fixture(state);
        GateDecision d = f.ask(path, state == State.NOT_ALLOWED_BY_POLICY ? NOT_ALLOWED : ALLOWED);
        Reasons expected = state == State.NOT_ALLOWED_BY_POLICY && !path.namesDestination() ? null : state.expected;
        if (expected == null) {
            assertThat(d).isInstanceOf(GateDecision.Pass.class);
            GateDecision.Pass p = (GateDecision.Pass) d;
            assertThat(p.device().id()).isEqualTo("laptop-1");
            assertThat(p.target() != null).isEqualTo(path.namesDestination());
            if (path.namesDestination()) {
                assertThat(p.target().rule()).isEqualTo("db");
                assertThat(p.target().destAddress()).isEqualTo("10.20.7.9:5432");
            }
        } else {
            assertThat(d).isInstanceOf(GateDecision.Refusal.class);
            assertThat(((GateDecision.Refusal) d).code()).isEqualTo(expected.code());
        }
    }

    @Test
    void order_aSuspendedDeviceWithoutLease_isToldItIsNotActive_notThatItLacksALease() {
        GateDecision.Refusal r = (GateDecision.Refusal) new Fixture(State.SUSPENDED_WITHOUT_LEASE).ask(Path.H1_CONNECT, ALLOWED);
        assertThat(r.code()).isEqualTo("device.not_active");
        assertThat(r.detail()).isEqualTo("device laptop-1: expected status active, found suspended");
        assertThat(r.message()).isEqualTo("device not active");
        assertThat(r.httpStatus()).isEqualTo(403);
    }

    @Test
    void unknownDevice_detailSaysSo() {
        GateDecision.Refusal r = (GateDecision.Refusal) new Fixture(State.UNKNOWN_DEVICE).ask(Path.SSH_DIRECT_TCPIP, ALLOWED);
        assertThat(r.detail()).isEqualTo("device laptop-1: expected status active, found no such device");
    }

    @Test
    void noCertificate_isClientCertRequired() {
        GateDecision.Refusal r = (GateDecision.Refusal) new Fixture(State.ALLOWED).gate
                .open(new Who(null, null, "192.0.2.1:5000"), ALLOWED);
        assertThat(r.code()).isEqualTo("tls.client_cert_required");
        assertThat(r.httpStatus()).isEqualTo(401);
    }

    @Test
    void loginThatIsNotTheOwner_isPrincipalMismatch_afterTheDeviceStatus() {
        Fixture f = new Fixture(State.ALLOWED);
        GateDecision.Refusal r = (GateDecision.Refusal) f.gate.admit(new Who("laptop-1", "mallory", "192.0.2.1:5000"));
        assertThat(r.code()).isEqualTo("ssh.principal_mismatch");
        assertThat(r.detail()).isEqualTo("device laptop-1 is owned by alice, not by the login \"mallory\"");
        Fixture suspended = new Fixture(State.SUSPENDED);
        assertThat(((GateDecision.Refusal) suspended.gate.admit(new Who("laptop-1", "mallory", "x"))).code())
                .isEqualTo("device.not_active");
    }

    @Test
    void registryDown_failsClosed() {
        Fixture f = new Fixture(State.ALLOWED);
        f.registryDown = true;
        GateDecision.Refusal r = (GateDecision.Refusal) f.ask(Path.H2_CONNECT, ALLOWED);
        assertThat(r.code()).isEqualTo("registry.unavailable");
        assertThat(r.httpStatus()).isEqualTo(503);
    }

    @Test
    void badDestination_isRefusedAtThePolicyStep() {
        Fixture f = new Fixture(State.ALLOWED);
        GateDecision.Refusal r = (GateDecision.Refusal) f.gate.open(Who.device("laptop-1", "x"), "db1.admin.internal");
        assertThat(r.code()).isEqualTo("access.bad_destination");
        assertThat(r.detail()).isEqualTo("CONNECT db1.admin.internal: expected host:port, found \"db1.admin.internal\"");
        assertThat(r.user()).isEqualTo("alice");
        GateDecision.Refusal port = (GateDecision.Refusal) f.gate.open(Who.device("laptop-1", "x"), "db1.admin.internal", 0);
        assertThat(port.code()).isEqualTo("access.bad_destination");
        assertThat(port.httpStatus()).isEqualTo(400);
        // a device that may not be in at all hears that first
        assertThat(((GateDecision.Refusal) new Fixture(State.NO_LEASE).gate.open(Who.device("laptop-1", "x"), "nonsense"))
                .code()).isEqualTo("posture.no_lease");
    }

    @Test
    void unresolvedName_isConnectUnresolved() {
        GateDecision.Refusal r = (GateDecision.Refusal) new Fixture(State.ALLOWED).gate
                .open(Who.device("laptop-1", "x"), "nowhere.admin.internal", 22);
        assertThat(r.code()).isEqualTo("connect.unresolved");
        assertThat(r.httpStatus()).isEqualTo(502);
    }

    @Test
    void policyDenial_carriesTheCheckedAddress() {
        GateDecision.Refusal r = (GateDecision.Refusal) new Fixture(State.NOT_ALLOWED_BY_POLICY).ask(Path.H1_CONNECT, NOT_ALLOWED);
        assertThat(r.destAddress()).isEqualTo("10.20.7.9:22");
        assertThat(r.message()).isEqualTo("access denied");
    }

    @Test
    void hostPort_parsesBracketedIpv6() {
        assertThat(HostPort.parse("[2001:db8::1]:443")).isEqualTo(new HostPort("2001:db8::1", 443));
        assertThat(HostPort.parse("[2001:db8::1]:443").toString()).isEqualTo("[2001:db8::1]:443");
    }

    /** A registry of one device (or none), a lease store, and one rule: group {@code dba} may reach port 5432. */
    private static final class Fixture {
        final Map<String, Device> devices = new HashMap<>();
        final LeaseStore leases;
        final TunnelGate gate;
        volatile boolean registryDown;

        Fixture(State state) {
            Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
            leases = new LeaseStore(clock, Ticker.systemTicker(), Scheduler.disabledScheduler(), 100, LeaseStore.Listener.NONE);
            DeviceStatus status = switch (state) {
                case REVOKED -> DeviceStatus.REVOKED;
                case SUSPENDED, SUSPENDED_WITHOUT_LEASE -> DeviceStatus.SUSPENDED;
                default -> DeviceStatus.ACTIVE;
            };
            if (state != State.UNKNOWN_DEVICE) {
                devices.put("laptop-1", new Device("laptop-1", "alice", List.of("dba"), status, null, NOW, NOW, null, null));
            }
            switch (state) {
                case NO_LEASE, SUSPENDED_WITHOUT_LEASE -> {
                }
                case EXPIRED_LEASE -> leases.put(lease(NOW.minus(Duration.ofMinutes(20)), compliant(NOW.minusSeconds(1))));
                case NON_COMPLIANT -> { // a renewal judged non-compliant under enforcement ends the lease
                    leases.put(lease(NOW, compliant(NOW.plus(Duration.ofMinutes(10)))));
                    leases.end("laptop-1");
                }
                case REPORT_ONLY_NON_COMPLIANT -> leases.put(lease(NOW, new PostureVerdict.NonCompliant(
                        PosturePolicy.Mode.REPORT_ONLY, "p1", List.of(new ReasonDetail("patch.stale", "40 days", "update")),
                        NOW.plus(Duration.ofMinutes(10)), List.of())));
                default -> leases.put(lease(NOW, compliant(NOW.plus(Duration.ofMinutes(10)))));
            }
            Registry registry = (Registry) Proxy.newProxyInstance(Registry.class.getClassLoader(), new Class<?>[] {Registry.class},
                    (proxy, method, args) -> {
                        if (method.getName().equals("device")) {
                            if (registryDown) {
                                throw new RegistryException("registry.url", "database is locked (test)");
                            }
                            return Optional.ofNullable(devices.get((String) args[0]));
                        }
                        throw new UnsupportedOperationException(method.getName());
                    });
            AccessPolicy policy = AccessPolicy.of(new AccessRules(List.of(new AccessRules.Rule("db", List.of("dba"),
                    List.of(Destination.parse("db1.admin.internal:5432"))))), Set.of());
            DestinationResolver resolver = new DestinationResolver(new ForbiddenAddresses(Set.of()), host -> {
                if (!host.equals("db1.admin.internal")) {
                    throw new UnknownHostException(host + ": no such name (test)");
                }
                return List.of(InetAddress.getByAddress(host, new byte[] {10, 20, 7, 9}));
            });
            gate = new TunnelGate(registry, leases, resolver, policy, () -> null, () -> null);
        }

        GateDecision ask(Path path, String authority) {
            HostPort dest = HostPort.parse(authority);
            return switch (path) {
                case H1_CONNECT, H2_CONNECT -> gate.open(Who.device("laptop-1", "192.0.2.1:5000"), authority);
                case SSH_DIRECT_TCPIP -> gate.open(Who.device("laptop-1", "192.0.2.1:5000"), dest.host(), dest.port());
                case SSH_CERTIFICATE_AUTH -> gate.admit(new Who("laptop-1", "alice", "192.0.2.1:5000"));
                case SSH_CERTIFICATE_REQUEST -> gate.admit(Who.device("laptop-1", "192.0.2.1:5000"));
            };
        }

        private static PostureVerdict compliant(Instant until) {
            return new PostureVerdict.Compliant(PosturePolicy.Mode.ENFORCE, "p1", until, List.of());
        }

        private static Lease lease(Instant decided, PostureVerdict v) {
            return new Lease("laptop-1", "alice", BigInteger.ONE, decided, v);
        }
    }
}
