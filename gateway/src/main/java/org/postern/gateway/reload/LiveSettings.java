package org.postern.gateway.reload;

import java.net.InetAddress;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import io.netty.handler.ssl.SslContext;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.Protocol;
import org.postern.gateway.policy.AccessDecision;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.AccessPolicyVersion;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.FlowPolicy;
import org.postern.gateway.policy.ForbiddenAddresses;

/**
 * The settings the gateway can change while it runs, as one immutable {@link Snapshot} swapped
 * whole by {@link ConfigReloader}: the access policy, the posture policy, the remote-work charter and the TLS contexts of
 * both listeners. The parts handed out here read the current snapshot at each use, so the next
 * CONNECT, the next evidence and the next handshake see a reload; nothing in flight changes.
 */
public final class LiveSettings {

    /**
     * One consistent set of live settings, built and validated before it is swapped in.
     *
     * @param settings  the settings it was built from (restart-only keys are those the gateway started with)
     * @param access    the access policy of {@code settings.access()}
     * @param tunnelTls the tunnel listener's server context
     * @param adminTls  the admin listener's server context (same certificate, admin client certificates required)
     */
    public record Snapshot(GatewaySettings settings, AccessPolicy access, SslContext tunnelTls, SslContext adminTls) {
        public Snapshot {
            Objects.requireNonNull(settings, "settings");
            Objects.requireNonNull(access, "access");
            Objects.requireNonNull(tunnelTls, "tunnelTls");
            Objects.requireNonNull(adminTls, "adminTls");
        }
    }

    /** A snapshot in force and the version its access policy has in this process. */
    private record InForce(Snapshot snapshot, long generation, AccessPolicy access) {
        static InForce of(Snapshot snapshot, long generation) {
            return new InForce(snapshot, generation, new Versioned(snapshot.access(),
                    AccessPolicyVersion.of(snapshot.settings().access(), generation)));
        }

        String accessVersion() {
            return access.version();
        }
    }

    /** A snapshot's policy named with the version it has in force (its generation in this process). */
    private record Versioned(AccessPolicy rules, String version) implements AccessPolicy {
        @Override
        public AccessDecision decide(Set<String> groups, Protocol protocol, String host, int port, InetAddress address) {
            return rules.decide(groups, protocol, host, port, address);
        }
    }

    private final AtomicReference<InForce> current;

    public LiveSettings(Snapshot first) {
        this.current = new AtomicReference<>(InForce.of(Objects.requireNonNull(first, "first"), 1));
    }

    public Snapshot current() {
        return current.get().snapshot();
    }

    /**
     * Swaps {@code next} in. The access policy's generation goes up by one when its rules changed
     * ({@link AccessPolicyVersion#digest}), and stays when they did not. Called by the serialised
     * reloads only.
     */
    void swap(Snapshot next) {
        Objects.requireNonNull(next, "next");
        InForce now = current.get();
        boolean changed = !AccessPolicyVersion.digest(now.snapshot().settings().access())
                .equals(AccessPolicyVersion.digest(next.settings().access()));
        current.set(InForce.of(next, changed ? now.generation() + 1 : now.generation()));
    }

    /** The version of the access policy in force ({@link AccessPolicyVersion}), as the audit trail names it. */
    public String accessPolicyVersion() {
        return current.get().accessVersion();
    }

    /**
     * The access policy of the current snapshot, decided afresh at each call; {@link AccessPolicy#pinned()}
     * gives the one in force, whose decisions and version belong together.
     */
    public AccessPolicy accessPolicy() {
        return new AccessPolicy() {
            @Override
            public AccessDecision decide(Set<String> groups, Protocol protocol, String host, int port,
                                         InetAddress address) {
                return current.get().access().decide(groups, protocol, host, port, address);
            }

            @Override
            public String version() {
                return current.get().accessVersion();
            }

            @Override
            public AccessPolicy pinned() {
                return current.get().access();
            }
        };
    }

    /**
     * The rules of the current snapshot as VPN flows see them ({@link FlowPolicy}), built on first
     * use after each swap (its host names resolved then, with {@code lookup}: blocking, call on a
     * worker); null while {@code vpn.enabled} is false.
     */
    public Supplier<@Nullable FlowPolicy> flowPolicy(ForbiddenAddresses forbidden, DestinationResolver.Lookup lookup) {
        return flowPolicy(forbidden, lookup, java.time.Clock.systemUTC());
    }

    /** {@link #flowPolicy(ForbiddenAddresses, DestinationResolver.Lookup)} whose rules' hours read {@code clock}. */
    public Supplier<@Nullable FlowPolicy> flowPolicy(ForbiddenAddresses forbidden, DestinationResolver.Lookup lookup,
                                                     java.time.Clock clock) {
        AtomicReference<@Nullable BuiltFlows> built = new AtomicReference<>();
        return () -> {
            InForce in = current.get();
            Snapshot now = in.snapshot();
            if (!now.settings().vpn().enabled()) {
                return null;
            }
            BuiltFlows b = built.get();
            if (b == null || b.snapshot() != now) {
                b = new BuiltFlows(now, FlowPolicy.build(now.settings().access(), forbidden,
                        FlowPolicy.devicePools(now.settings().vpn()), lookup, in.accessVersion(), clock));
                built.set(b);
            }
            return b.flows();
        };
    }

    private record BuiltFlows(Snapshot snapshot, FlowPolicy flows) {
    }

    /** The remote-work charter of the current snapshot, or null while none is required ({@code charter:} absent). */
    public Supplier<org.postern.config.gateway.@Nullable Charter> charter() {
        return () -> current.get().snapshot().settings().charter();
    }

    /** The posture policy of the current snapshot. */
    public Supplier<PosturePolicy> posturePolicy() {
        return () -> current.get().snapshot().settings().posture();
    }

    /** The tunnel listener's TLS context, for each new connection. */
    public Supplier<SslContext> tunnelTls() {
        return () -> current.get().snapshot().tunnelTls();
    }

    /** The admin listener's TLS context, for each new connection. */
    public Supplier<SslContext> adminTls() {
        return () -> current.get().snapshot().adminTls();
    }
}
