package org.postern.gateway.charter;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.gateway.Charter;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.http.NotFoundHandler;

/** {@code GET /v1/charter} and {@code POST /v1/charter/accept} over a real registry ({@link TestPki}). */
class CharterHandlerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Charter V1 = new Charter(1, "I keep my laptop locked.");

    final TestPki pki = TestPki.create();
    final List<AuditEvent> events = new CopyOnWriteArrayList<>();
    volatile boolean auditFailing;
    final AuditSink audit = new AuditSink() {
        @Override
        public void record(AuditEvent event) {
            if (auditFailing) {
                throw new AuditUnavailableException("audit trail: disk full (test)", null);
            }
            events.add(event);
        }

        @Override
        public void close() {
        }
    };
    final AtomicReference<@Nullable Charter> charter = new AtomicReference<>(V1);
    final TestPki.Enrolled laptop = pki.enroll("laptop-1", "alice");
    final EmbeddedChannel channel = new EmbeddedChannel(new CharterHandler(charter::get, pki.registry, audit, pki.clock, Runnable::run),
            new NotFoundHandler());

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
        pki.close();
    }

    record Reply(int status, @Nullable String reason, String body) {
        JsonNode json() throws Exception {
            return JSON.readTree(body);
        }
    }

    Reply send(HttpMethod method, String path, String body) {
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, path, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        req.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, req.content().readableBytes());
        channel.writeInbound(req);
        channel.runPendingTasks();
        FullHttpResponse res = channel.readOutbound();
        assertThat(res).as("a response to " + path).isNotNull();
        try {
            return new Reply(res.status().code(), res.headers().get("Postern-Reason"), res.content().toString(StandardCharsets.UTF_8));
        } finally {
            res.release();
        }
    }

    void asLaptop() {
        channel.attr(ClientIdentity.KEY).set(ClientIdentity.of(laptop.certificate()));
    }

    @Test
    void withoutClientCertificate_is401() {
        assertThat(send(HttpMethod.GET, CharterHandler.PATH, "").status()).isEqualTo(401);
        assertThat(send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, "{}").reason()).isEqualTo("tls.client_cert_required");
    }

    @Test
    void get_showsTheCharter_thenTheAcceptance() throws Exception {
        asLaptop();
        JsonNode shown = send(HttpMethod.GET, CharterHandler.PATH, "").json();
        assertThat(shown.path("version").asInt()).isEqualTo(1);
        assertThat(shown.path("text").asText()).isEqualTo("I keep my laptop locked.");
        assertThat(shown.path("sha256").asText()).isEqualTo(V1.sha256());
        assertThat(shown.path("accepted").isNull()).isTrue();

        Reply accepted = send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, "{\"version\":1,\"sha256\":\"" + V1.sha256() + "\"}");
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(200);
        assertThat(accepted.json().path("current").asBoolean()).isTrue();
        assertThat(pki.registry.charterAcceptance("laptop-1").orElseThrow().version()).isEqualTo(1);
        AuditEvent e = events.getLast();
        assertThat(e.type()).isEqualTo("charter.accepted");
        assertThat(e.fields()).containsEntry("device", "laptop-1").containsEntry("user", "alice").containsEntry("version", 1)
                .containsEntry("textSha256", V1.sha256()).containsKey("source").containsKey("certSerial");

        charter.set(new Charter(2, "I keep my laptop locked and never lend it."));
        JsonNode after = send(HttpMethod.GET, CharterHandler.PATH, "").json();
        assertThat(after.path("version").asInt()).isEqualTo(2);
        assertThat(after.path("accepted").path("version").asInt()).isEqualTo(1);
        assertThat(after.path("accepted").path("current").asBoolean()).isFalse();
    }

    @Test
    void accept_anotherVersionOrText_is409_andNothingIsRecorded() {
        asLaptop();
        Reply stale = send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, "{\"version\":2,\"sha256\":\"" + V1.sha256() + "\"}");
        assertThat(stale.status()).isEqualTo(409);
        assertThat(stale.reason()).isEqualTo("charter.mismatch");
        assertThat(stale.body()).startsWith("expected an acceptance of version 1 (sha256 " + V1.sha256() + "), found version 2");
        Reply otherText = send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, "{\"version\":1,\"sha256\":\"" + "0".repeat(64) + "\"}");
        assertThat(otherText.status()).isEqualTo(409);
        assertThat(send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, "{\"version\":\"one\"}").status()).isEqualTo(400);
        assertThat(send(HttpMethod.GET, CharterHandler.ACCEPT_PATH, "").status()).isEqualTo(405);
        assertThat(events).isEmpty();
        assertThat(pki.registry.charterAcceptance("laptop-1")).isEmpty();
    }

    @Test
    void auditUnavailable_is503_andTheRegistryIsNotWritten() {
        asLaptop();
        auditFailing = true;
        Reply r = send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, "{\"version\":1,\"sha256\":\"" + V1.sha256() + "\"}");
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.reason()).isEqualTo("audit.unavailable");
        assertThat(pki.registry.charterAcceptance("laptop-1")).as("an acceptance is never in force without its record").isEmpty();
    }

    @Test
    void noCharter_is404CharterNone() {
        asLaptop();
        charter.set(null);
        Reply r = send(HttpMethod.GET, CharterHandler.PATH, "");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.reason()).isEqualTo("charter.none");
    }

    @Test
    void suspendedDevice_is403() {
        asLaptop();
        pki.service.suspend("laptop-1", "test");
        assertThat(send(HttpMethod.GET, CharterHandler.PATH, "").reason()).isEqualTo("device.not_active");
        pki.service.revoke("laptop-1", RevocationReason.retired, "test");
        assertThat(send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, "{\"version\":1,\"sha256\":\"" + V1.sha256() + "\"}").status())
                .isEqualTo(403);
    }

    /**
     * A registry that runs {@code meanwhile} once, after the handler read the device and before it
     * writes: what another admin or gateway does between the two.
     */
    Registry changingBetweenReadAndWrite(Runnable meanwhile) {
        Registry real = pki.registry;
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        return (Registry) java.lang.reflect.Proxy.newProxyInstance(Registry.class.getClassLoader(), new Class<?>[] {Registry.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("acceptCharter") && done.compareAndSet(false, true)) {
                        meanwhile.run();
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    Reply acceptThrough(Registry registry, String body) {
        EmbeddedChannel ch = new EmbeddedChannel(new CharterHandler(charter::get, registry, audit, pki.clock, Runnable::run),
                new NotFoundHandler());
        try {
            ch.attr(ClientIdentity.KEY).set(ClientIdentity.of(laptop.certificate()));
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, CharterHandler.ACCEPT_PATH,
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            req.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
            req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, req.content().readableBytes());
            ch.writeInbound(req);
            ch.runPendingTasks();
            FullHttpResponse res = ch.readOutbound();
            assertThat(res).isNotNull();
            try {
                return new Reply(res.status().code(), res.headers().get("Postern-Reason"), res.content().toString(StandardCharsets.UTF_8));
            } finally {
                res.release();
            }
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    String v1Body() {
        return "{\"version\":1,\"sha256\":\"" + V1.sha256() + "\",\"how\":\"prompt\"}";
    }

    @Test
    void ownerChangedBetweenReadAndWrite_is409Mismatch_andAcceptFailedFollows() {
        Reply r = acceptThrough(changingBetweenReadAndWrite(() -> pki.registry.updateDevice("laptop-1", "bob", null)), v1Body());
        assertThat(r.status()).as(r.body()).isEqualTo(409);
        assertThat(r.reason()).isEqualTo("charter.mismatch");
        assertThat(events).extracting(AuditEvent::type).containsExactly("charter.accepted", "charter.accept_failed");
        assertThat(events.getLast().fields()).containsEntry("reason", "device.owner_changed").containsEntry("device", "laptop-1");
        assertThat(pki.registry.charterAcceptance("laptop-1")).isEmpty();
    }

    @Test
    void suspendedOrRevokedBetweenReadAndWrite_is403NotActive_notRegistryUnavailable() {
        Reply suspended = acceptThrough(changingBetweenReadAndWrite(() -> pki.service.suspend("laptop-1", "test")), v1Body());
        assertThat(suspended.status()).as(suspended.body()).isEqualTo(403);
        assertThat(suspended.reason()).isEqualTo("device.not_active");
        assertThat(events.getLast().fields()).containsEntry("reason", "device.state");
        assertThat(pki.registry.charterAcceptance("laptop-1")).as("a suspended device's acceptance is not recorded").isEmpty();

        pki.service.resume("laptop-1", "test");
        Reply revoked = acceptThrough(changingBetweenReadAndWrite(() -> pki.service.revoke("laptop-1", RevocationReason.retired, "test")),
                v1Body());
        assertThat(revoked.status()).isEqualTo(403);
        assertThat(revoked.reason()).isEqualTo("device.not_active");
        assertThat(events.getLast().fields()).containsEntry("reason", "device.revoked");
    }

    @Test
    void accept_current_isComputedAgainstTheCharterAfterTheWrite() throws Exception {
        Charter sameVersionNewText = new Charter(1, "I keep my laptop locked, and I lock the screen.");
        Reply r = acceptThrough(changingBetweenReadAndWrite(() -> charter.set(sameVersionNewText)), v1Body());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().path("current").asBoolean()).as("reloaded with another text during the write").isFalse();
    }

    @Test
    void sameVersionAnotherText_isNotCurrent() throws Exception {
        asLaptop();
        assertThat(send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, v1Body()).status()).isEqualTo(200);
        charter.set(new Charter(1, "Other words under the same version."));
        JsonNode shown = send(HttpMethod.GET, CharterHandler.PATH, "").json();
        assertThat(shown.path("accepted").path("version").asInt()).isEqualTo(1);
        assertThat(shown.path("accepted").path("current").asBoolean()).isFalse();
    }

    @Test
    void accept_recordsHowItWasAccepted() {
        asLaptop();
        assertThat(send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, v1Body()).status()).isEqualTo(200);
        assertThat(events.getLast().fields()).containsEntry("how", "prompt");
        assertThat(send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, v1Body().replace("prompt", "flag")).status()).isEqualTo(200);
        assertThat(events.getLast().fields()).containsEntry("how", "flag");
        assertThat(send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, "{\"version\":1,\"sha256\":\"" + V1.sha256() + "\"}").status())
                .isEqualTo(200);
        assertThat(events.getLast().fields()).as("an older agent").containsEntry("how", "unstated");
        Reply bad = send(HttpMethod.POST, CharterHandler.ACCEPT_PATH, v1Body().replace("prompt", "robot"));
        assertThat(bad.status()).isEqualTo(400);
        assertThat(events).hasSize(3);
    }
}
