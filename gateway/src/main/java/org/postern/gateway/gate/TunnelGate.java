package org.postern.gateway.gate;

import java.util.Objects;
import java.util.Optional;

import org.jspecify.annotations.Nullable;
import org.postern.gateway.policy.AccessDecision;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.posture.LeaseStore;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RegistryException;
import org.postern.protocol.HostPort;
import org.postern.protocol.Reasons;

/**
 * The one admission gate: whether a device may open a tunnel (HTTP/1.1 CONNECT, HTTP/2 CONNECT,
 * SSH {@code direct-tcpip}) or be let onto the bastion ({@code /v1/ssh/certificate}, SSH
 * certificate authentication). Every entry path asks it, so the same state gives the same
 * decision and the same reason code on every path. The checks, in this order, the first failing
 * one deciding:
 * <ol>
 *   <li><b>identity</b> — a device credential was presented ({@code tls.client_cert_required});
 *       the credential itself (certificate chain, live revocation set, SSH certificate) is checked
 *       by the entry path before it asks;</li>
 *   <li><b>device status</b> — the registry knows the device and it is {@code active}: unknown,
 *       suspended and revoked devices are {@code device.not_active}; an unreadable registry is
 *       {@code registry.unavailable} (fail closed); a claimed login must be the device's owner
 *       ({@code ssh.principal_mismatch});</li>
 *   <li><b>posture lease</b> — a live lease that allows (compliant, or report-only):
 *       none, expired or non-compliant is {@code posture.no_lease};</li>
 *   <li><b>policy</b> — for a destination: well formed ({@code access.bad_destination}),
 *       resolved once ({@code connect.unresolved}), never a forbidden address
 *       ({@code access.forbidden_address}), and a rule lets the owner's groups reach that address
 *       ({@code access.no_rule});</li>
 *   <li><b>limits</b> — per path, after a {@link GateDecision.Pass}: tunnels per device and the
 *       session's admission for CONNECT ({@code limits.flows_per_device}, {@code audit.unavailable}).</li>
 * </ol>
 * Who a device is comes before what state it is in, and what the registry says of a device
 * (revoked, suspended) before what its posture says: a barred device is told it is barred, not
 * that its lease is missing. The checks block (registry, DNS): call on a worker. The gate records
 * nothing; each path writes its audit event from the decision.
 */
public final class TunnelGate {

    private final Registry registry;
    private final LeaseStore leases;
    private final DestinationResolver resolver;
    private final AccessPolicy policy;

    public TunnelGate(Registry registry, LeaseStore leases, DestinationResolver resolver, AccessPolicy policy) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.leases = Objects.requireNonNull(leases, "leases");
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.policy = Objects.requireNonNull(policy, "policy");
    }

    /** Identity, device status, posture lease: may this device be let in at all? */
    public GateDecision admit(Who who) {
        if (who.deviceId() == null) {
            return new GateDecision.Refusal(Reasons.CLIENT_CERT_REQUIRED, "no device certificate from " + who.source());
        }
        String id = who.deviceId();
        Device device;
        try {
            device = registry.device(id).orElse(null);
        } catch (RegistryException e) {
            return new GateDecision.Refusal(Reasons.REGISTRY_UNAVAILABLE, e.getMessage());
        }
        if (device == null || device.status() != DeviceStatus.ACTIVE) {
            return new GateDecision.Refusal(Reasons.DEVICE_NOT_ACTIVE, "device " + id + ": expected status active, found "
                    + (device == null ? "no such device" : device.status().wireName()));
        }
        if (who.login() != null && !device.owner().equals(who.login())) {
            return new GateDecision.Refusal(Reasons.SSH_PRINCIPAL_MISMATCH, "device " + id + " is owned by "
                    + device.owner() + ", not by the login \"" + who.login() + "\"", who.login(), null);
        }
        Optional<Lease> lease = leases.current(id);
        if (lease.isEmpty() || !lease.get().verdict().allowed()) {
            return new GateDecision.Refusal(Reasons.NO_LEASE, "device " + id + " has no live posture lease;"
                    + " expected a compliant decision first", device.owner(), null);
        }
        return new GateDecision.Pass(device, lease.get(), null);
    }

    /** {@link #admit}, then the destination {@code authority} ({@code host:port}, as CONNECT names it). */
    public GateDecision open(Who who, String authority) {
        return switch (admit(who)) {
            case GateDecision.Refusal r -> r;
            case GateDecision.Pass p -> {
                HostPort dest;
                try {
                    dest = HostPort.parse(authority);
                } catch (IllegalArgumentException e) {
                    yield new GateDecision.Refusal(Reasons.BAD_DESTINATION, "CONNECT " + authority + ": " + e.getMessage(),
                            p.user(), null);
                }
                yield destination(p, dest);
            }
        };
    }

    /** {@link #admit}, then the destination {@code host}, {@code port} (as {@code direct-tcpip} names it). */
    public GateDecision open(Who who, String host, int port) {
        return switch (admit(who)) {
            case GateDecision.Refusal r -> r;
            case GateDecision.Pass p -> {
                HostPort dest;
                try {
                    dest = new HostPort(host, port);
                } catch (IllegalArgumentException e) {
                    yield new GateDecision.Refusal(Reasons.BAD_DESTINATION, e.getMessage(), p.user(), null);
                }
                yield destination(p, dest);
            }
        };
    }

    /** The policy step: resolve once, then the access policy on that address. */
    private GateDecision destination(GateDecision.Pass p, HostPort dest) {
        String user = p.user();
        return switch (resolver.resolve(dest.host(), dest.port())) {
            case DestinationResolver.Refused r -> refusal(r.denial(), user, null);
            case DestinationResolver.Unresolved u -> new GateDecision.Refusal(Reasons.UNRESOLVED, u.detail(), user, null);
            case DestinationResolver.Resolved r -> switch (policy.decide(p.groups(), dest.host(), dest.port(), r.address())) {
                case AccessDecision.Denied d -> refusal(d, user, HostPort.format(r.address().getHostAddress(), dest.port()));
                case AccessDecision.Allowed a ->
                        new GateDecision.Pass(p.device(), p.lease(), new GateDecision.Target(dest, r.address(), a.rule()));
            };
        };
    }

    private static GateDecision.Refusal refusal(AccessDecision.Denied d, String user, @Nullable String destAddress) {
        Reasons reason = Reasons.fromCode(d.reason()).orElseThrow(() -> new IllegalStateException(
                "access policy reason: expected a code of the catalogue, found \"" + d.reason() + "\""));
        return new GateDecision.Refusal(reason, d.detail(), user, destAddress);
    }
}
