package org.postern.demo;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import javax.net.ssl.SSLContext;

import org.jspecify.annotations.Nullable;
import org.postern.agent.state.AgentHome;
import org.postern.config.gateway.AccessRules;
import org.postern.gateway.server.GatewayServer;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CaStore;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.pki.registry.SqliteRegistry;
import org.postern.protocol.posture.PostureClaims;
import org.postern.protocol.posture.PostureVerdict;

/**
 * What the demo's steps have started and learned so far, for the steps after them: each field is
 * set by the step named beside it. Whatever runs is also in {@link #keep}'s list, stopped in
 * reverse order by {@link #stopAll}.
 */
final class DemoLab {
    static final String DEVICE = "laptop-0042";
    static final String SECOND = "laptop-0043";

    /** This machine's posture facts, collected from the start (package manager queries take a while). */
    CompletableFuture<PostureClaims.Facts> collecting;

    // create the device CA, register the device
    CaStore store;
    CertificateAuthority ca;
    SqliteRegistry registry;
    PkiService service;
    PkiService.NewDevice device;

    // the admin host and the gateway
    DemoAdminHost host;
    /** Why sshd is not running, or null when it is. */
    @Nullable String noSsh;
    int tunnelPort;
    /** The SSH bastion's port, kept across the gateway's restart like the tunnel's: agent.yaml names it. */
    int bastionPort;
    URI base;
    AccessRules rules;
    @Nullable GatewayServer gateway;

    // enrollment, OCSP, signed evidence
    AgentHome home;
    X509Certificate cert;
    SSLContext pinned;
    HttpClient http;
    PostureClaims.Facts facts;

    // the agent and its tunnels
    DemoLaptop laptop;
    /** This machine's verdict under the default policy: it decides whether the demo policy enforces. */
    PostureVerdict local;
    /** A SOCKS5 tunnel kept open until the revocation closes it. */
    Socket held;
    /** postern-agent as a script for ssh's ProxyCommand (null when the ssh step was skipped). */
    @Nullable Path wrapper;

    // the second laptop, when the demo keeps serving
    AgentHome home2;
    DemoLaptop laptop2;

    private final List<AutoCloseable> running = new ArrayList<>(); // closed in reverse order

    /** Stopped by {@link #stopAll}, after everything kept later. */
    synchronized <T extends AutoCloseable> T keep(T c) {
        running.add(c);
        return c;
    }

    synchronized void stopAll() {
        for (int i = running.size() - 1; i >= 0; i--) {
            AutoCloseable c = running.get(i);
            if (c instanceof SqliteRegistry && gateway != null) {
                gateway.close(); // before the registry it shares the database with
                gateway = null;
            }
            try {
                c.close();
            } catch (Exception e) {
                // best effort: the demo is ending
            }
        }
        running.clear();
        if (gateway != null) {
            gateway.close();
            gateway = null;
        }
    }
}
