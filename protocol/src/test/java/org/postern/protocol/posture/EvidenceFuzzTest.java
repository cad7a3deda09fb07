package org.postern.protocol.posture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.security.interfaces.ECPrivateKey;
import java.time.Duration;
import java.time.Instant;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import org.junit.jupiter.api.BeforeAll;
import org.postern.protocol.posture.TestDevices.Device;

/**
 * {@link Evidence#verify} on what a device posts to {@code /v1/posture/evidence}, twice per input:
 * the input as the compact JWS itself (the fuzzer cannot forge ES256, so nothing may verify), and
 * the input as the claims payload, signed with the device's own key (what a device whose key is in
 * hostile hands can send: the claims reader sees arbitrary JSON). The only refusal is
 * {@link EvidenceException}; signed claims are accepted only for this device, the issued nonce and
 * a fresh {@code iat}. Corpus: {@code EvidenceFuzzTestInputs/verify} (claims JSON and JWS texts).
 */
class EvidenceFuzzTest {

    private static final Instant NOW = Instant.parse("2026-12-01T09:00:00Z");
    private static final Duration SKEW = Duration.ofSeconds(60);
    private static final String NONCE = "q1bDk0Yx9n2C3Jm8VwXv5A";

    private static Device laptop;
    private static JWSHeader header;
    private static ECDSASigner signer;

    @BeforeAll
    static void device() throws Exception {
        laptop = TestDevices.device("laptop-42");
        header = new JWSHeader.Builder(JWSAlgorithm.ES256).type(new JOSEObjectType(Evidence.TYPE))
                .keyID(Evidence.certificateSha256(laptop.cert())).build();
        signer = new ECDSASigner((ECPrivateKey) laptop.keys().getPrivate());
    }

    @FuzzTest
    void verify(byte[] input) throws Exception {
        String text = new String(input, StandardCharsets.UTF_8);
        try {
            Evidence.verify(text, laptop.cert(), NONCE, NOW, SKEW);
            fail("unsigned input verified as evidence: " + text);
        } catch (EvidenceException refused) {
            assertThat(refused.getMessage()).startsWith(refused.reason().code() + ": ");
        }

        JWSObject signed = new JWSObject(header, new Payload(input));
        signed.sign(signer);
        PostureClaims claims;
        try {
            claims = Evidence.verify(signed.serialize(), laptop.cert(), NONCE, NOW, SKEW);
        } catch (EvidenceException refused) {
            assertThat(refused.getMessage()).startsWith(refused.reason().code() + ": ");
            return;
        }
        assertThat(claims.ueid()).isEqualTo("laptop-42");
        assertThat(claims.eatNonce()).isEqualTo(NONCE);
        assertThat(claims.eatProfile()).isEqualTo(PostureClaims.PROFILE);
        assertThat(Duration.between(claims.iat(), NOW).abs()).isLessThanOrEqualTo(SKEW);
    }
}
