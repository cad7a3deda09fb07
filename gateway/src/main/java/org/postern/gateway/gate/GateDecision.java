package org.postern.gateway.gate;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;

import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.Protocol;
import org.postern.gateway.posture.Lease;
import org.postern.pki.registry.Device;
import org.postern.protocol.HostPort;
import org.postern.protocol.Reasons;

/** What {@link TunnelGate} decided: {@link Pass} or {@link Refusal}. */
public sealed interface GateDecision permits GateDecision.Pass, GateDecision.Refusal {

    /**
     * Every check passed.
     *
     * @param device       the device as the registry has it (active; its owner and groups)
     * @param lease        its live, allowing posture lease
     * @param accessPolicy the version of the access policy that decided the destination, or, for
     *                     admission alone, that was in force ({@code AccessPolicyVersion})
     * @param target       where it may go, or null when no destination was asked ({@link TunnelGate#admit})
     *                     or for an ICMP flow (no port)
     * @param flow         the VPN flow that passed ({@link TunnelGate#openFlow}), else null
     */
    record Pass(Device device, Lease lease, String accessPolicy, @Nullable Target target, @Nullable Flow flow)
            implements GateDecision {
        public Pass {
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(lease, "lease");
            Objects.requireNonNull(accessPolicy, "accessPolicy");
        }

        /** A pass for a tunnel ({@code target}) or for admission alone ({@code target} null). */
        public Pass(Device device, Lease lease, String accessPolicy, @Nullable Target target) {
            this(device, lease, accessPolicy, target, null);
        }

        /** What this pass rests on, for {@code session.start} and {@code flow.open}. */
        public Grounds grounds() {
            return Grounds.of(lease, accessPolicy);
        }

        public String user() {
            return device.owner();
        }

        public Set<String> groups() {
            return Set.copyOf(device.groups());
        }
    }

    /**
     * A destination that passed: asked as {@code requested}, resolved once to {@code address}, allowed
     * by {@code rule}. Connect to {@link #socket()}, never to the name again.
     *
     * @param until when the window of the rule's hours that allowed it closes, or null: an always-open rule
     */
    record Target(HostPort requested, InetAddress address, String rule, @Nullable Instant until) {
        public Target {
            Objects.requireNonNull(requested, "requested");
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(rule, "rule");
        }

        /** A destination allowed by an always-open rule. */
        public Target(HostPort requested, InetAddress address, String rule) {
            this(requested, address, rule, null);
        }

        public InetSocketAddress socket() {
            return new InetSocketAddress(address, requested.port());
        }

        /** The checked address, {@code ip:port}, as {@code destAddress} in the audit trail. */
        public String destAddress() {
            return HostPort.format(address.getHostAddress(), requested.port());
        }
    }

    /**
     * A VPN flow that passed: {@code protocol} to {@code address} (a literal from the packet, never
     * resolved) on {@code port}, allowed by {@code rule}.
     *
     * @param port  the destination port for TCP and UDP; for ICMP what the caller passed, not checked
     * @param until when the window of the rule's hours that allowed it closes, or null: an always-open rule
     */
    record Flow(Protocol protocol, InetAddress address, int port, String rule, @Nullable Instant until) {
        public Flow {
            Objects.requireNonNull(protocol, "protocol");
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(rule, "rule");
        }

        /** A flow allowed by an always-open rule. */
        public Flow(Protocol protocol, InetAddress address, int port, String rule) {
            this(protocol, address, port, rule, null);
        }

        /** {@code ip:port}, or {@code ip} for ICMP, as {@code destAddress} in the audit trail. */
        public String destAddress() {
            return protocol.hasPorts() ? HostPort.format(address.getHostAddress(), port) : address.getHostAddress();
        }
    }

    /**
     * Refused. The peer gets {@link #code()} and {@link #message()}; {@code detail} (what was
     * expected, what was found) goes to the audit trail only.
     *
     * @param user        the device's owner when the registry named it, else null
     * @param destAddress the resolved destination when the refusal came after resolving, else null
     * @param remedy      what the user can do, short enough for the peer ({@code access opens Monday 08:00
     *                    Africa/Casablanca}), or null
     */
    record Refusal(Reasons reason, String detail, @Nullable String user, @Nullable String destAddress,
                   @Nullable String remedy) implements GateDecision {
        public Refusal {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
        }

        public Refusal(Reasons reason, String detail, @Nullable String user, @Nullable String destAddress) {
            this(reason, detail, user, destAddress, null);
        }

        public Refusal(Reasons reason, String detail) {
            this(reason, detail, null, null);
        }

        public String code() {
            return reason.code();
        }

        /** The terse text for the peer. */
        public String message() {
            return reason.message();
        }

        /** The HTTP status a refusal with this reason answers with (CONNECT, {@code /v1/ssh/certificate}). */
        public int httpStatus() {
            return switch (reason) {
                case CLIENT_CERT_REQUIRED -> 401;
                case BAD_DESTINATION, MALFORMED, SSH_BAD_PUBLIC_KEY -> 400;
                case UNRESOLVED, CONNECT_FAILED -> 502;
                case FLOWS_PER_DEVICE -> 429;
                case REGISTRY_UNAVAILABLE, AUDIT_UNAVAILABLE, SESSION_ENDED, VPN_POOL_EXHAUSTED -> 503;
                case INTERNAL_ERROR -> 500;
                default -> 403;
            };
        }
    }
}
