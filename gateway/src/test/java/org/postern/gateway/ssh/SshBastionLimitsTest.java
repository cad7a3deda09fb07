package org.postern.gateway.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Network;
import org.postern.config.gateway.ProxyProtocol;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.policy.ForbiddenAddresses;
import org.postern.gateway.posture.LeaseStore;
import org.postern.pki.ssh.SshUserCa;
import org.postern.pki.testing.TestPki;

/** Limits of the bastion that need no device: connections per source, the server's identification. */
class SshBastionLimitsTest {

    final TestPki pki = TestPki.create();
    final List<AuditEvent> events = new CopyOnWriteArrayList<>();
    final AuditSink audit = events::add;
    final ExecutorService workers = Executors.newFixedThreadPool(2);
    SshBastion bastion;

    @AfterEach
    void stop() {
        if (bastion != null) {
            bastion.close();
        }
        workers.shutdownNow();
        pki.close();
    }

    @Test
    void connectionsPerSource_capped_theNextIsRefusedAndRecorded() throws Exception {
        bastion = SshBastion.start(new SshBastion.Config(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        pki.dataDir.resolve("ssh/host.key"), null, Duration.ofSeconds(30), 6, 2, Duration.ofMinutes(5)),
                SshUserCa.ephemeral(new SecureRandom()).publicKey(), pki.registry, new LeaseStore(Clock.systemUTC(),
                        LeaseStore.Listener.NONE),
                DestinationResolver.system(new ForbiddenAddresses(Set.of())), AccessPolicy.of(AccessRules.denyAll(), Set.of()),
                audit, Clock.systemUTC(), workers, new SecureRandom(), () -> null);
        InetSocketAddress at = bastion.address();
        try (Socket a = open(at); Socket b = open(at)) {
            assertThat(ident(a)).startsWith("SSH-2.0-Postern");
            assertThat(ident(b)).startsWith("SSH-2.0-Postern");
            try (Socket c = open(at)) {
                c.setSoTimeout(5000);
                InputStream in = c.getInputStream();
                byte[] buf = new byte[256];
                int total = 0;
                int n;
                while ((n = in.read(buf)) > 0 && total < 4096) { // at most the identification line, then EOF
                    total += n;
                }
                assertThat(n).as("the third connection is closed at once").isEqualTo(-1);
            }
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(events)
                    .anySatisfy(e -> {
                        assertThat(e.type()).isEqualTo("access.denied");
                        assertThat(e.fields()).containsEntry("reason", SshBastion.TOO_MANY_CONNECTIONS)
                                .containsEntry("via", "ssh");
                        assertThat((String) e.fields().get("detail")).contains("limits.connectionsPerSource is 2");
                    }));
        }
        // the two closed: a new connection is let in again
        await().atMost(Duration.ofSeconds(5)).ignoreExceptions().untilAsserted(() -> {
            try (Socket d = open(at)) {
                assertThat(ident(d)).startsWith("SSH-2.0-Postern");
            }
        });
    }

    @Test
    void behindATrustedProxy_connectionsPerSource_countsTheClientsItNames() throws Exception {
        bastion = SshBastion.start(new SshBastion.Config(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        pki.dataDir.resolve("ssh/host.key"), null, Duration.ofSeconds(30), 6, 1, Duration.ofMinutes(5),
                        new ProxyProtocol.Listener(List.of(Network.parse("127.0.0.1/32")))),
                SshUserCa.ephemeral(new SecureRandom()).publicKey(), pki.registry, new LeaseStore(Clock.systemUTC(),
                        LeaseStore.Listener.NONE),
                DestinationResolver.system(new ForbiddenAddresses(Set.of())), AccessPolicy.of(AccessRules.denyAll(), Set.of()),
                audit, Clock.systemUTC(), workers, new SecureRandom(), () -> null);
        InetSocketAddress at = bastion.address();
        try (Socket a = proxied(at, HAProxyCommand.PROXY, "203.0.113.7", 1000);
             Socket b = proxied(at, HAProxyCommand.PROXY, "203.0.113.8", 1000);
             Socket c = proxied(at, HAProxyCommand.PROXY, "203.0.113.7", 1001);
             Socket health = proxied(at, HAProxyCommand.LOCAL, null, 0)) {
            InputStream in = c.getInputStream();
            while (in.read() >= 0) {
                // the identification, then the close: 203.0.113.7 is over limits.connectionsPerSource: 1
            }
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(events).singleElement().satisfies(e -> {
                assertThat(e.fields()).containsEntry("reason", SshBastion.TOO_MANY_CONNECTIONS)
                        .containsEntry("source", "203.0.113.7:1001");
                assertThat((String) e.fields().get("detail")).startsWith("203.0.113.7 already has 1 SSH connections");
            }));
            InputStream h = health.getInputStream();
            while (h.read() >= 0) {
                // a LOCAL header (a health check): closed
            }
            assertThat(a.isClosed() || b.isClosed()).isFalse();
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(events)
                .filteredOn(e -> "203.0.113.8:1000".equals(e.fields().get("source"))).singleElement()
                .satisfies(e -> assertThat(e.fields()).containsEntry("reason", SshBastion.NOT_AUTHENTICATED)));
        assertThat(events).noneMatch(e -> String.valueOf(e.fields().get("source")).startsWith("127.0.0.1"));
    }

    /** A connection from 127.0.0.1 (the trusted proxy) that starts with a PROXY v2 header and an SSH identification. */
    static Socket proxied(InetSocketAddress at, HAProxyCommand command, String client, int port) throws Exception {
        EmbeddedChannel encoder = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        encoder.writeOutbound(command == HAProxyCommand.LOCAL
                ? new HAProxyMessage(HAProxyProtocolVersion.V2, command, HAProxyProxiedProtocol.UNKNOWN, null, null, 0, 0)
                : new HAProxyMessage(HAProxyProtocolVersion.V2, command, HAProxyProxiedProtocol.TCP4, client,
                        "127.0.0.1", port, at.getPort()));
        ByteBuf header = encoder.readOutbound();
        byte[] bytes = ByteBufUtil.getBytes(header);
        header.release();
        encoder.finishAndReleaseAll();
        Socket s = open(at);
        s.getOutputStream().write(bytes);
        s.getOutputStream().write("SSH-2.0-test\r\n".getBytes(StandardCharsets.US_ASCII));
        return s;
    }

    static Socket open(InetSocketAddress at) throws Exception {
        Socket s = new Socket();
        s.connect(at, 2000);
        s.setSoTimeout(5000);
        return s;
    }

    static String ident(Socket s) throws Exception {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[64];
        int n = in.read(buf);
        return n <= 0 ? "" : new String(buf, 0, n, StandardCharsets.US_ASCII);
    }
}
