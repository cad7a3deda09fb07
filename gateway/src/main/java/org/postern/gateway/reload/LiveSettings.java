package org.postern.gateway.reload;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import io.netty.handler.ssl.SslContext;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.jspecify.annotations.Nullable;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.FlowPolicy;
import org.postern.gateway.policy.ForbiddenAddresses;

/**
 * The settings the gateway can change while it runs, as one immutable {@link Snapshot} swapped
 * whole by {@link ConfigReloader}: the access policy, the posture policy and the TLS contexts of
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

    private final AtomicReference<Snapshot> current;

    public LiveSettings(Snapshot first) {
        this.current = new AtomicReference<>(Objects.requireNonNull(first, "first"));
    }

    public Snapshot current() {
        return current.get();
    }

    void swap(Snapshot next) {
        current.set(Objects.requireNonNull(next, "next"));
    }

    /** The access policy of the current snapshot, decided afresh at each call. */
    public AccessPolicy accessPolicy() {
        return (groups, protocol, host, port, address) ->
                current.get().access().decide(groups, protocol, host, port, address);
    }

    /**
     * The rules of the current snapshot as VPN flows see them ({@link FlowPolicy}), built on first
     * use after each swap (its host names resolved then, with {@code lookup}: blocking, call on a
     * worker); null while {@code vpn.enabled} is false.
     */
    public Supplier<@Nullable FlowPolicy> flowPolicy(ForbiddenAddresses forbidden, DestinationResolver.Lookup lookup) {
        AtomicReference<@Nullable BuiltFlows> built = new AtomicReference<>();
        return () -> {
            Snapshot now = current.get();
            if (!now.settings().vpn().enabled()) {
                return null;
            }
            BuiltFlows b = built.get();
            if (b == null || b.snapshot() != now) {
                b = new BuiltFlows(now, FlowPolicy.build(now.settings().access(), forbidden,
                        FlowPolicy.devicePools(now.settings().vpn()), lookup));
                built.set(b);
            }
            return b.flows();
        };
    }

    private record BuiltFlows(Snapshot snapshot, FlowPolicy flows) {
    }

    /** The posture policy of the current snapshot. */
    public Supplier<PosturePolicy> posturePolicy() {
        return () -> current.get().settings().posture();
    }

    /** The tunnel listener's TLS context, for each new connection. */
    public Supplier<SslContext> tunnelTls() {
        return () -> current.get().tunnelTls();
    }

    /** The admin listener's TLS context, for each new connection. */
    public Supplier<SslContext> adminTls() {
        return () -> current.get().adminTls();
    }
}
