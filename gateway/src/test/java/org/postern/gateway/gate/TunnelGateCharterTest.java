package org.postern.gateway.gate;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.math.BigInteger;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Charter;
import org.postern.config.gateway.Destination;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.ForbiddenAddresses;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.posture.LeaseStore;
import org.postern.pki.registry.CharterAcceptance;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RegistryException;
import org.postern.protocol.posture.PostureVerdict;

/**
 * The charter step of the {@link TunnelGate}: with a charter configured, a device is admitted on
 * every path only when its owner accepted the current version with its current text (or a later version); none required
 * when no charter is configured; fail closed when the registry cannot tell.
 */
class TunnelGateCharterTest {
    private static final Instant NOW = Instant.parse("2026-12-07T09:00:00Z");
    private static final Charter V1 = new Charter(1, "I keep my laptop locked.");
    private static final Charter V2 = new Charter(2, "I keep my laptop locked and never lend it.");

    final AtomicReference<@Nullable Charter> charter = new AtomicReference<>();
    final AtomicReference<@Nullable CharterAcceptance> accepted = new AtomicReference<>();
    volatile boolean acceptancesUnreadable;
    volatile String owner = "alice";
    final TunnelGate gate = gate();

    @Test
    void noCharterConfigured_admitsWithoutAcceptance() {
        assertThat(gate.admit(Who.device("laptop-1", "x"))).isInstanceOf(GateDecision.Pass.class);
    }

    @Test
    void notAccepted_isRefusedOnEveryPath_withTheRemedy_andTheVersionsInTheDetail() {
        charter.set(V1);
        for (GateDecision d : List.of(gate.admit(Who.device("laptop-1", "x")), gate.admit(new Who("laptop-1", "alice", "x")),
                gate.open(Who.device("laptop-1", "x"), "db1.admin.internal:5432"),
                gate.open(Who.device("laptop-1", "x"), "db1.admin.internal", 5432))) {
            GateDecision.Refusal r = (GateDecision.Refusal) d;
            assertThat(r.code()).isEqualTo("charter.not_accepted");
            assertThat(r.message()).isEqualTo("remote-work charter not accepted");
            assertThat(r.httpStatus()).isEqualTo(403);
            assertThat(r.user()).isEqualTo("alice");
            assertThat(r.remedy()).isEqualTo("run `postern-agent charter` to read and accept version 1");
            assertThat(r.detail()).isEqualTo("device laptop-1 (owner alice): expected the remote-work charter version 1 (sha256 "
                    + V1.sha256() + ") accepted, found none accepted");
        }
    }

    @Test
    void accepted_isAdmitted_thenANewVersionIsRefusedUntilAccepted() {
        charter.set(V1);
        accepted.set(new CharterAcceptance("laptop-1", "alice", 1, V1.sha256(), NOW));
        assertThat(gate.open(Who.device("laptop-1", "x"), "db1.admin.internal:5432")).isInstanceOf(GateDecision.Pass.class);

        charter.set(V2); // the operator reloads a new version
        GateDecision.Refusal r = (GateDecision.Refusal) gate.admit(Who.device("laptop-1", "x"));
        assertThat(r.code()).isEqualTo("charter.not_accepted");
        assertThat(r.remedy()).endsWith("accept version 2");
        assertThat(r.detail()).endsWith("found version 1 accepted at " + NOW);

        accepted.set(new CharterAcceptance("laptop-1", "alice", 2, V2.sha256(), NOW.plusSeconds(60)));
        assertThat(gate.admit(Who.device("laptop-1", "x"))).isInstanceOf(GateDecision.Pass.class);
    }

    /**
     * The operator raised the version before the new text was in place (gateway.yaml reloaded, charter.txt
     * edited later): users accepted version 2 with the old words. Once the new words are in force, that
     * acceptance does not admit.
     */
    @Test
    void sameVersionWithAnotherText_isRefusedUntilAcceptedAgain() {
        Charter v2OldText = new Charter(2, V1.text());
        charter.set(v2OldText);
        accepted.set(new CharterAcceptance("laptop-1", "alice", 2, v2OldText.sha256(), NOW));
        assertThat(gate.admit(Who.device("laptop-1", "x"))).isInstanceOf(GateDecision.Pass.class);

        charter.set(V2); // the new text, same version
        GateDecision.Refusal r = (GateDecision.Refusal) gate.admit(Who.device("laptop-1", "x"));
        assertThat(r.code()).isEqualTo("charter.not_accepted");
        assertThat(r.detail()).endsWith("found version 2 accepted at " + NOW + " with another text (sha256 " + v2OldText.sha256() + ")");

        accepted.set(new CharterAcceptance("laptop-1", "alice", 2, V2.sha256(), NOW.plusSeconds(60)));
        assertThat(gate.admit(Who.device("laptop-1", "x"))).isInstanceOf(GateDecision.Pass.class);
    }

    @Test
    void aLaterVersionAccepted_stillAdmits_whenTheOperatorGoesBack() {
        charter.set(V1);
        accepted.set(new CharterAcceptance("laptop-1", "alice", 2, V2.sha256(), NOW));
        assertThat(gate.admit(Who.device("laptop-1", "x"))).isInstanceOf(GateDecision.Pass.class);
    }

    @Test
    void acceptanceByAPreviousOwner_doesNotCount() {
        charter.set(V1);
        accepted.set(new CharterAcceptance("laptop-1", "alice", 1, V1.sha256(), NOW));
        owner = "bob"; // the laptop was handed to bob (postern pki device edit --owner bob)
        GateDecision.Refusal r = (GateDecision.Refusal) gate.admit(Who.device("laptop-1", "x"));
        assertThat(r.code()).isEqualTo("charter.not_accepted");
        assertThat(r.user()).isEqualTo("bob");
        assertThat(r.detail()).endsWith("found version 1 accepted by alice, a previous owner, at " + NOW);
    }

    @Test
    void registryCannotTell_failsClosed() {
        charter.set(V1);
        acceptancesUnreadable = true;
        GateDecision.Refusal r = (GateDecision.Refusal) gate.admit(Who.device("laptop-1", "x"));
        assertThat(r.code()).isEqualTo("registry.unavailable");
        assertThat(r.httpStatus()).isEqualTo(503);
    }

    @Test
    void aBarredDevice_isToldItIsBarred_beforeTheCharter() {
        charter.set(V1);
        TunnelGate suspended = gate(DeviceStatus.SUSPENDED);
        assertThat(((GateDecision.Refusal) suspended.admit(Who.device("laptop-1", "x"))).code()).isEqualTo("device.not_active");
    }

    private TunnelGate gate() {
        return gate(DeviceStatus.ACTIVE);
    }

    private TunnelGate gate(DeviceStatus status) {
        Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
        LeaseStore leases = new LeaseStore(clock, Ticker.systemTicker(), Scheduler.disabledScheduler(), 100, LeaseStore.Listener.NONE);
        leases.put(new Lease("laptop-1", "alice", BigInteger.ONE, NOW, new PostureVerdict.Compliant(PosturePolicy.Mode.ENFORCE, "p1",
                NOW.plus(Duration.ofMinutes(10)), List.of())));
        Registry registry = (Registry) Proxy.newProxyInstance(Registry.class.getClassLoader(), new Class<?>[] {Registry.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "device" -> java.util.Optional.of(new Device("laptop-1", owner, List.of("dba"), status, null, NOW, NOW, null, null));
                    case "charterAcceptance" -> {
                        if (acceptancesUnreadable) {
                            throw new RegistryException("registry.unavailable", "registry.db: database is locked (test)");
                        }
                        yield java.util.Optional.ofNullable(accepted.get());
                    }
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        AccessPolicy policy = AccessPolicy.of(new AccessRules(List.of(new AccessRules.Rule("db", List.of("dba"),
                List.of(Destination.parse("db1.admin.internal:5432"))))), Set.of());
        DestinationResolver resolver = new DestinationResolver(new ForbiddenAddresses(Set.of()),
                host -> List.of(InetAddress.getByAddress(host, new byte[] {10, 20, 7, 9})));
        return new TunnelGate(registry, leases, resolver, policy, () -> null, charter::get);
    }
}
