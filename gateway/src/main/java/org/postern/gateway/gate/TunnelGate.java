package org.postern.gateway.gate;

import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.Charter;
import org.postern.config.gateway.Network;
import org.postern.config.gateway.Protocol;
import org.postern.gateway.policy.AccessDecision;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.FlowPolicy;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.posture.LeaseStore;
import org.postern.pki.registry.CharterAcceptance;
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
 *   <li><b>remote-work charter</b> — while a charter is configured ({@code charter.version}), the
 *       device, for its current owner, accepted that version with that text (its SHA-256) or a later
 *       version ({@code charter.not_accepted},
 *       the remedy naming {@code postern-agent charter}); an unreadable registry is
 *       {@code registry.unavailable} (fail closed);</li>
 *   <li><b>posture lease</b> — a live lease that allows (compliant, or report-only):
 *       none, expired or non-compliant is {@code posture.no_lease};</li>
 *   <li><b>policy</b> — for a destination: well formed ({@code access.bad_destination}),
 *       resolved once ({@code connect.unresolved}), never a forbidden address
 *       ({@code access.forbidden_address}), and a rule lets the owner's groups reach that address
 *       ({@code access.no_rule}), at a time inside that rule's hours, if it has any
 *       ({@code access.outside_hours}, the remedy naming when access opens);</li>
 *   <li><b>limits</b> — per path, after a {@link GateDecision.Pass}: tunnels per device and the
 *       session's admission for CONNECT ({@code limits.flows_per_device}, {@code audit.unavailable}).</li>
 * </ol>
 * Who a device is comes before what state it is in, and what the registry says of a device
 * (revoked, suspended) before what its posture says: a barred device is told it is barred, not
 * that its lease is missing. The checks block (registry, DNS): call on a worker. The gate records
 * nothing; each path writes its audit event from the decision.
 *
 * <p>A VPN flow ({@link #openFlow}) passes the same first three checks, then the policy step
 * without DNS: the packet names an address. An address of the VPN pools (another device) is
 * refused whatever the rules say; every other address is judged for the flow's protocol by the
 * rules as {@link FlowPolicy} resolved them (host-name entries stand for their addresses),
 * forbidden addresses included, as a CONNECT to that IP literal would be.
 */
public final class TunnelGate {

    private final Registry registry;
    private final LeaseStore leases;
    private final DestinationResolver resolver;
    private final AccessPolicy policy;
    private final Supplier<@Nullable FlowPolicy> flows;
    private final Supplier<@Nullable Charter> charter;

    /**
     * The one constructor: no overload defaults the charter (or the VPN rules) to "none", so a caller
     * that forgets it does not silently admit without the charter.
     *
     * @param flows   the rules as VPN flows see them, current at each call
     *                ({@code LiveSettings.flowPolicy}); null from it refuses every flow (fail closed)
     * @param charter the remote-work charter in force at each call ({@code LiveSettings.charter}); null from it:
     *                none is required
     */
    public TunnelGate(Registry registry, LeaseStore leases, DestinationResolver resolver, AccessPolicy policy,
                      Supplier<@Nullable FlowPolicy> flows, Supplier<@Nullable Charter> charter) {
        this.charter = Objects.requireNonNull(charter, "charter");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.leases = Objects.requireNonNull(leases, "leases");
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.flows = Objects.requireNonNull(flows, "flows");
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
        GateDecision.Refusal unaccepted = charter(device);
        if (unaccepted != null) {
            return unaccepted;
        }
        Optional<Lease> lease = leases.current(id);
        if (lease.isEmpty() || !lease.get().verdict().allowed()) {
            return new GateDecision.Refusal(Reasons.NO_LEASE, "device " + id + " has no live posture lease;"
                    + " expected a compliant decision first", device.owner(), null);
        }
        return new GateDecision.Pass(device, lease.get(), policy.version(), null);
    }

    /**
     * The charter step: null when no charter is required or the device's owner accepted the current
     * version with its current text (or a later version); else the refusal, terse to the peer with the remedy, the versions in
     * the detail. An acceptance by a previous owner of the device does not count.
     */
    private GateDecision.@Nullable Refusal charter(Device device) {
        Charter required = charter.get();
        if (required == null) {
            return null;
        }
        Optional<CharterAcceptance> accepted;
        try {
            accepted = registry.charterAcceptance(device.id());
        } catch (RegistryException e) {
            return new GateDecision.Refusal(Reasons.REGISTRY_UNAVAILABLE, e.getMessage(), device.owner(), null);
        }
        CharterAcceptance a = accepted.orElse(null);
        // the same version with another text is not enough: the version may have been raised before the new text was in place
        if (a != null && a.owner().equals(device.owner()) && required.isAcceptedBy(a.version(), a.sha256())) {
            return null;
        }
        String found = a == null ? "none accepted"
                : !a.owner().equals(device.owner()) ? "version " + a.version() + " accepted by " + a.owner()
                        + ", a previous owner, at " + a.acceptedAt()
                : a.version() == required.version() ? "version " + a.version() + " accepted at " + a.acceptedAt()
                        + " with another text (sha256 " + a.sha256() + ")"
                : "version " + a.version() + " accepted at " + a.acceptedAt();
        return new GateDecision.Refusal(Reasons.CHARTER_NOT_ACCEPTED, "device " + device.id() + " (owner " + device.owner()
                + "): expected the remote-work charter version " + required.version() + " (sha256 " + required.sha256()
                + ") accepted, found " + found, device.owner(), null, remedy(required.version()));
    }

    /** What the user runs to be admitted again, as the peer and the agent show it (the agent shows 64 characters of it). */
    public static String remedy(int version) {
        return "run `postern-agent charter` to read and accept version " + version;
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

    /**
     * {@link #admit}, then one VPN flow: {@code ipProtocol} (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6) to
     * {@code dest}, as the packet names it (no DNS), on {@code port} (ignored for ICMP). Refused:
     * another protocol ({@code access.bad_destination}), an address of a VPN pool
     * ({@code access.forbidden_address}: devices do not reach each other), and whatever the access
     * policy refuses for that protocol. The pass carries {@link GateDecision.Flow} and, for TCP and
     * UDP, a {@link GateDecision.Target} naming the literal address.
     */
    public GateDecision openFlow(Who who, int ipProtocol, InetAddress dest, int port) {
        Objects.requireNonNull(dest, "dest");
        return switch (admit(who)) {
            case GateDecision.Refusal r -> r;
            case GateDecision.Pass p -> flow(p, ipProtocol, Network.normalize(dest), port);
        };
    }

    private GateDecision flow(GateDecision.Pass p, int ipProtocol, InetAddress dest, int port) {
        String user = p.user();
        String literal = dest.getHostAddress();
        Protocol protocol = Protocol.ofIpProtocol(ipProtocol).orElse(null);
        if (protocol == null) {
            return new GateDecision.Refusal(Reasons.BAD_DESTINATION, "IP protocol " + ipProtocol + " to " + literal
                    + ": expected tcp (6), udp (17), icmp (1) or ipv6-icmp (58)", user, literal);
        }
        String destAddress = protocol.hasPorts() ? HostPort.format(literal, port) : literal;
        if (protocol.hasPorts() && (port < 1 || port > 65535)) {
            return new GateDecision.Refusal(Reasons.BAD_DESTINATION, protocol.spelling() + " to " + literal
                    + ": expected a port between 1 and 65535, found " + port, user, destAddress);
        }
        FlowPolicy rules = flows.get();
        if (rules == null || rules.devicePools().isEmpty()) {
            return new GateDecision.Refusal(Reasons.INTERNAL_ERROR, "a VPN flow asked of a gate without the VPN mode"
                    + " (vpn.enabled is false, or the gate was built without its flow policy)", user, destAddress);
        }
        for (Network pool : rules.devicePools()) {
            if (pool.contains(dest)) {
                return new GateDecision.Refusal(Reasons.FORBIDDEN_ADDRESS, "groups " + new TreeSet<>(p.groups())
                        + " asked for " + protocol.spelling() + " " + destAddress + ", an address of the VPN pool "
                        + pool + ": devices do not reach each other", user, destAddress);
            }
        }
        AccessPolicy access = rules.policy();
        return switch (access.decide(p.groups(), protocol, literal, port, dest)) {
            case AccessDecision.Denied d -> refusal(d, user, destAddress);
            case AccessDecision.Allowed a -> new GateDecision.Pass(p.device(), p.lease(), access.version(),
                    protocol.hasPorts() ? new GateDecision.Target(new HostPort(literal, port), dest, a.rule(), a.until()) : null,
                    new GateDecision.Flow(protocol, dest, port, a.rule(), a.until()));
        };
    }

    /** The policy step: resolve once, then the access policy on that address. */
    private GateDecision destination(GateDecision.Pass p, HostPort dest) {
        String user = p.user();
        AccessPolicy access = policy.pinned(); // the decision and its version from the same rules, even across a reload
        return switch (resolver.resolve(dest.host(), dest.port())) {
            case DestinationResolver.Refused r -> refusal(r.denial(), user, null);
            case DestinationResolver.Unresolved u -> new GateDecision.Refusal(Reasons.UNRESOLVED, u.detail(), user, null);
            case DestinationResolver.Resolved r -> switch (access.decide(p.groups(), dest.host(), dest.port(), r.address())) {
                case AccessDecision.Denied d -> refusal(d, user, HostPort.format(r.address().getHostAddress(), dest.port()));
                case AccessDecision.Allowed a -> new GateDecision.Pass(p.device(), p.lease(), access.version(),
                        new GateDecision.Target(dest, r.address(), a.rule(), a.until()));
            };
        };
    }

    private static GateDecision.Refusal refusal(AccessDecision.Denied d, String user, @Nullable String destAddress) {
        Reasons reason = Reasons.fromCode(d.reason()).orElseThrow(() -> new IllegalStateException(
                "access policy reason: expected a code of the catalogue, found \"" + d.reason() + "\""));
        return new GateDecision.Refusal(reason, d.detail(), user, destAddress, d.remedy());
    }
}
