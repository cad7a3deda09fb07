package org.postern.gateway.selfcheck;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.postern.config.HostPort;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.gateway.Network;

/**
 * Listener exposure and TLS versions: the admin API on a network address is critical (it holds the
 * console and every state change), TLS 1.2 on the listeners or toward the SIEM a warning, a tunnel or SSH listener on every address an
 * info (that is what it is for, but the operator should know which interfaces it faces).
 */
public final class ListenerCheck implements Check {
    static final String NAME = "listeners";

    private final GatewaySettings.Listeners listeners;
    private final GatewaySettings.Tls tls;
    private final boolean siemAllowTls12;

    /** Without SIEM forwarding, or with it on TLS 1.3 only. */
    public ListenerCheck(GatewaySettings.Listeners listeners, GatewaySettings.Tls tls) {
        this(listeners, tls, false);
    }

    /** @param siemAllowTls12 {@code audit.siem.allowTls12}: the connection to the SIEM may fall back to TLS 1.2 */
    public ListenerCheck(GatewaySettings.Listeners listeners, GatewaySettings.Tls tls, boolean siemAllowTls12) {
        this.listeners = Objects.requireNonNull(listeners, "listeners");
        this.tls = Objects.requireNonNull(tls, "tls");
        this.siemAllowTls12 = siemAllowTls12;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Finding> run() {
        List<Finding> out = new ArrayList<>();
        HostPort admin = listeners.admin();
        if (!isLoopback(admin.host())) {
            out.add(new Finding(NAME, Severity.CRITICAL, "listeners.admin is " + admin
                    + (isWildcard(admin.host()) ? " (every address)" : "") + " with listeners.unsafeAdminOnNetwork: true:"
                    + " the admin API and console face the network",
                    "set listeners.admin to 127.0.0.1:" + admin.port() + ", remove listeners.unsafeAdminOnNetwork and reach"
                            + " the console through ssh -L; if it must stay, firewall it to the administrators' addresses"));
        } else {
            out.add(Finding.info(NAME, "listeners.admin " + admin + " is on loopback"));
        }
        if (tls.allowTls12()) {
            out.add(new Finding(NAME, Severity.WARNING, "tls.allowTls12: true: the tunnel and admin listeners also accept"
                    + " TLS 1.2 (ECDHE with AEAD suites only)",
                    "remove tls.allowTls12 once every agent and client speaks TLS 1.3"));
        } else {
            out.add(Finding.info(NAME, "TLS 1.3 only on the tunnel and admin listeners"));
        }
        if (siemAllowTls12) {
            out.add(new Finding(NAME, Severity.WARNING, "audit.siem.allowTls12: true: the audit trail may go to the SIEM"
                    + " over TLS 1.2 (AEAD suites only)", "remove audit.siem.allowTls12 once the collector speaks TLS 1.3"));
        }
        if (isWildcard(listeners.tunnel().host())) {
            out.add(Finding.info(NAME, "listeners.tunnel " + listeners.tunnel()
                    + " listens on every address of the host; make sure a firewall lets only the expected networks reach it"));
        }
        if (isWildcard(listeners.ssh().host())) {
            out.add(Finding.info(NAME, "listeners.ssh " + listeners.ssh()
                    + " listens on every address of the host; make sure a firewall lets only the expected networks reach it"));
        }
        return out;
    }

    /** {@code localhost} or a loopback literal, decided without DNS (as the settings decide it). */
    static boolean isLoopback(String host) {
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        InetAddress a = Network.parseAddress(host);
        return a != null && a.isLoopbackAddress();
    }

    /** {@code 0.0.0.0} or {@code ::}: every address of the host. */
    static boolean isWildcard(String host) {
        InetAddress a = Network.parseAddress(host.startsWith("[") && host.endsWith("]")
                ? host.substring(1, host.length() - 1) : host);
        return a != null && a.isAnyLocalAddress();
    }
}
