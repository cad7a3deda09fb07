package org.postern.gateway.posture;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;

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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.protocol.http.NotFoundHandler;

class PostureHandlerTest {
    static final ObjectMapper JSON = new ObjectMapper();

    final PostureFixture f = new PostureFixture();
    final EmbeddedChannel channel = new EmbeddedChannel(new PostureHandler(f.service, Runnable::run),
            new NotFoundHandler());

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
        f.close();
    }

    /** A response with its body read and released. */
    record Reply(int status, String reason, String contentType, String body) {
        JsonNode json() throws Exception {
            return JSON.readTree(body);
        }
    }

    Reply post(String path, String contentType, String body) {
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path,
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        if (contentType != null) {
            req.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, req.content().readableBytes());
        channel.writeInbound(req);
        channel.runPendingTasks();
        FullHttpResponse res = channel.readOutbound();
        assertThat(res).as("a response to " + path).isNotNull();
        try {
            return new Reply(res.status().code(), res.headers().get("Postern-Reason"),
                    res.headers().get(HttpHeaderNames.CONTENT_TYPE), res.content().toString(StandardCharsets.UTF_8));
        } finally {
            res.release();
        }
    }

    void asLaptop() {
        channel.attr(ClientIdentity.KEY).set(f.identity(f.laptop));
    }

    String challenge() throws Exception {
        Reply r = post(PostureHandler.CHALLENGE_PATH, null, "");
        assertThat(r.status()).isEqualTo(200);
        return r.json().get("nonce").asText();
    }

    @Test
    void withoutClientCertificate_is401ClientCertRequired() {
        Reply r = post(PostureHandler.CHALLENGE_PATH, null, "");
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.reason()).isEqualTo("tls.client_cert_required");
        assertThat(r.body()).isEqualTo("posture needs the device's client certificate\n");
        assertThat(post(PostureHandler.EVIDENCE_PATH, "application/json", "{}").status()).isEqualTo(401);
    }

    @Test
    void challenge_answersNonceAndExpiry() throws Exception {
        asLaptop();
        Reply r = post(PostureHandler.CHALLENGE_PATH, null, "");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).isEqualTo("application/json");
        JsonNode j = r.json();
        assertThat(j.get("nonce").asText()).matches("[A-Za-z0-9_-]{22}");
        assertThat(j.get("expiresAt").asText()).isEqualTo(f.clock.instant().plusSeconds(60).toString());
        assertThat(f.challenges.accept("laptop-1", j.get("nonce").asText())).isTrue();
    }

    @Test
    void evidence_compliantAsJson_isTheDecisionJsonExactly() throws Exception {
        asLaptop();
        String jws = f.evidence(f.laptop, challenge());
        Reply r = post(PostureHandler.EVIDENCE_PATH, "application/json", "{\"evidence\":\"" + jws + "\"}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.reason()).isNull();
        String until = f.leases.current("laptop-1").orElseThrow().until().toString();
        assertThat(r.body()).isEqualTo("{\"compliant\":true,\"mode\":\"enforce\",\"reasons\":[],\"leaseUntil\":\""
                + until + "\",\"policyVersion\":\"default\"}");
    }

    @Test
    void evidence_asJose_isAccepted() throws Exception {
        asLaptop();
        String jws = f.evidence(f.laptop, challenge());
        Reply r = post(PostureHandler.EVIDENCE_PATH, "application/jose", jws + "\n");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("compliant").asBoolean()).isTrue();
    }

    @Test
    void evidence_nonCompliant_is200WithReasonsAndNoLease() throws Exception {
        asLaptop();
        f.policy = PostureFixture.needsDebian13(PosturePolicy.Mode.ENFORCE);
        String jws = f.evidence(f.laptop, challenge());
        JsonNode j = post(PostureHandler.EVIDENCE_PATH, "application/jose", jws).json();
        assertThat(j.get("compliant").asBoolean()).isFalse();
        assertThat(j.get("leaseUntil").isNull()).isTrue();
        assertThat(j.get("policyVersion").asText()).isEqualTo("strict-1");
        assertThat(j.get("reasons").get(0).get("code").asText()).isEqualTo("os.too_old");
        assertThat(j.get("reasons").get(0).get("message").asText()).isNotBlank();
        assertThat(j.get("reasons").get(0).get("remediation").asText()).isNotBlank();
    }

    @Test
    void evidence_replayed_is403WithReasonAndDecisionBody() throws Exception {
        asLaptop();
        String jws = f.evidence(f.laptop, challenge());
        assertThat(post(PostureHandler.EVIDENCE_PATH, "application/jose", jws).status()).isEqualTo(200);

        Reply r = post(PostureHandler.EVIDENCE_PATH, "application/jose", jws);

        assertThat(r.status()).isEqualTo(403);
        assertThat(r.reason()).isEqualTo("evidence.nonce_unknown");
        assertThat(r.body()).isEqualTo("{\"compliant\":false,\"mode\":\"enforce\",\"reasons\":[{\"code\":"
                + "\"evidence.nonce_unknown\",\"message\":\"The posture evidence does not answer a current challenge.\","
                + "\"remediation\":\"Connect again; postern-agent asks for a fresh challenge each time.\"}],"
                + "\"leaseUntil\":null,\"policyVersion\":\"default\"}");
    }

    @Test
    void evidence_notJson_is400Malformed() throws Exception {
        asLaptop();
        Reply r = post(PostureHandler.EVIDENCE_PATH, "application/json", "{not json");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.reason()).isEqualTo("evidence.malformed");
        assertThat(f.audit.last("posture.decision").fields()).containsEntry("reasons", List.of("evidence.malformed"));
    }

    @Test
    void evidence_otherMediaType_is415() {
        asLaptop();
        Reply r = post(PostureHandler.EVIDENCE_PATH, "text/plain", "x");
        assertThat(r.status()).isEqualTo(415);
        assertThat(r.reason()).isEqualTo("http.unsupported_media_type");
    }

    @Test
    void evidence_auditUnavailable_is503AndNoLease() throws Exception {
        asLaptop();
        String jws = f.evidence(f.laptop, challenge());
        f.audit.failing = true;
        Reply r = post(PostureHandler.EVIDENCE_PATH, "application/jose", jws);
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.reason()).isEqualTo("audit.unavailable");
        assertThat(f.leases.current("laptop-1")).isEmpty();
    }

    @Test
    void get_is405_andOtherPathsPassOn() {
        asLaptop();
        FullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, PostureHandler.CHALLENGE_PATH);
        channel.writeInbound(get);
        FullHttpResponse res = channel.readOutbound();
        assertThat(res.status().code()).isEqualTo(405);
        res.release();
        Reply r = post("/v1/other", null, "");
        assertThat(r.status()).isEqualTo(404);
    }
}
