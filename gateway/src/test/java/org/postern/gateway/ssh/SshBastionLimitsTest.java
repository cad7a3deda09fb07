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

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.config.gateway.AccessRules;
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
                audit, Clock.systemUTC(), workers, new SecureRandom());
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
