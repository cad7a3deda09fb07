package org.postern.protocol.posture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.PlainObject;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.util.Base64URL;
import java.nio.charset.StandardCharsets;
import java.security.interfaces.ECPrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postern.protocol.posture.TestDevices.Device;

class EvidenceTest {

    static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    static final Duration SKEW = Duration.ofSeconds(60);
    static final String NONCE = "q1bDk0Yx9n2C3Jm8VwXv5A";

    static Device laptop;
    static Device other;

    @BeforeAll
    static void devices() throws Exception {
        laptop = TestDevices.device("laptop-42");
        other = TestDevices.device("laptop-7");
    }

    static PostureClaims claims(String nonce, String ueid, Instant iat, String profile) {
        return new PostureClaims(nonce, ueid, iat, profile, new AgentInfo("postern-agent", "0.1.0"),
                new OsFacts("linux", "debian", "12", null, "6.1.0-18-amd64"),
                new DiskFacts("/", true, "LUKS2", true, DiskFacts.FULLY_ENCRYPTED, null),
                new PatchFacts(iat.minus(Duration.ofDays(2)), 1, iat.minus(Duration.ofDays(3)), false),
                PostureClaims.NATIVE, List.of(new CheckError("firewall", "nft not found")));
    }

    static PostureClaims good() {
        return claims(NONCE, "laptop-42", NOW, PostureClaims.PROFILE);
    }

    static String sign(PostureClaims c) throws Exception {
        return Evidence.sign(c, laptop.keys().getPrivate(), laptop.cert());
    }

    static PostureClaims verify(String jws) throws EvidenceException {
        return Evidence.verify(jws, laptop.cert(), NONCE, NOW, SKEW);
    }

    static EvidenceException rejected(String jws) {
        EvidenceException e = catchThrowableOfType(EvidenceException.class, () -> verify(jws));
        assertThat(e).as("expected the evidence to be rejected").isNotNull();
        return e;
    }

    /** The laptop's header (ES256, typ, kid) with {@code payload}, signed by {@code key}. */
    static String signRaw(JWSHeader header, String payload, ECPrivateKey key) throws Exception {
        JWSObject o = new JWSObject(header, new Payload(payload));
        o.sign(new ECDSASigner(key));
        return o.serialize();
    }

    static JWSHeader laptopHeader() {
        return new JWSHeader.Builder(JWSAlgorithm.ES256).type(new JOSEObjectType(Evidence.TYPE))
                .keyID(Evidence.certificateSha256(laptop.cert())).build();
    }

    static String b64(String json) {
        return Base64URL.encode(json.getBytes(StandardCharsets.UTF_8)).toString();
    }

    // ---- accepted ----------------------------------------------------------------------------

    @Test
    void verify_evidenceSignedByTheDevice_returnsTheClaims() throws Exception {
        assertThat(verify(sign(good()))).isEqualTo(good());
    }

    @Test
    void sign_header_isEs256WithTypAndCertificateThumbprint() throws Exception {
        JWSObject o = JWSObject.parse(sign(good()));
        assertThat(o.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
        assertThat(o.getHeader().getType().getType()).isEqualTo("postern-posture+jwt");
        assertThat(o.getHeader().getKeyID()).matches("[0-9a-f]{64}")
                .isEqualTo(Evidence.certificateSha256(laptop.cert()));
    }

    @Test
    void sign_payload_usesTheEatNamesAndNumericDates() throws Exception {
        String json = JWSObject.parse(sign(good())).getPayload().toString();
        assertThat(json).startsWith("{\"eat_nonce\":\"" + NONCE + "\",\"ueid\":\"laptop-42\",\"iat\":" + NOW.getEpochSecond()
                + ",\"eat_profile\":\"urn:postern:posture:1\",\"agent\":{\"name\":\"postern-agent\",\"version\":\"0.1.0\"}");
        assertThat(json).contains("\"disk\":{\"volume\":\"/\",\"encrypted\":true,\"method\":\"LUKS2\",\"protectionOn\":true,"
                        + "\"conversion\":\"fully_encrypted\"}")
                .contains("\"patch\":{\"lastUpdate\":" + NOW.minus(Duration.ofDays(2)).getEpochSecond())
                .contains("\"collector\":\"native\",\"errors\":[{\"check\":\"firewall\",\"why\":\"nft not found\"}]");
    }

    @Test
    void verify_iatAtTheSkewBound_isAccepted() throws Exception {
        assertThat(verify(sign(claims(NONCE, "laptop-42", NOW.minus(SKEW), PostureClaims.PROFILE)))).isNotNull();
        assertThat(verify(sign(claims(NONCE, "laptop-42", NOW.plus(SKEW), PostureClaims.PROFILE)))).isNotNull();
    }

    @Test
    void verify_certificateWithoutSanUri_takesTheDeviceIdFromTheCn() throws Exception {
        Device cnOnly = TestDevices.device("laptop-cn", false);
        assertThat(Evidence.deviceId(cnOnly.cert())).isEqualTo("laptop-cn");
        String jws = Evidence.sign(claims(NONCE, "laptop-cn", NOW, PostureClaims.PROFILE), cnOnly.keys().getPrivate(),
                cnOnly.cert());
        assertThat(Evidence.verify(jws, cnOnly.cert(), NONCE, NOW, SKEW).ueid()).isEqualTo("laptop-cn");
    }

    // ---- bad signature -----------------------------------------------------------------------

    @Test
    void verify_signedByAnotherKeyUnderTheRightKid_isBadSignature() throws Exception {
        String jws = signRaw(laptopHeader(), "{}", (ECPrivateKey) other.keys().getPrivate());
        EvidenceException e = rejected(jws);
        assertThat(e.reason()).isEqualTo(Reason.EVIDENCE_BAD_SIGNATURE);
        assertThat(e.getMessage()).startsWith("evidence.bad_signature: signature: expected one made by the key of device"
                + " certificate " + Evidence.certificateSha256(laptop.cert()));
    }

    @Test
    void verify_evidenceOfAnotherDevice_isBadSignatureOnTheKid() throws Exception {
        String jws = Evidence.sign(claims(NONCE, "laptop-7", NOW, PostureClaims.PROFILE), other.keys().getPrivate(),
                other.cert());
        EvidenceException e = rejected(jws);
        assertThat(e.reason()).isEqualTo(Reason.EVIDENCE_BAD_SIGNATURE);
        assertThat(e.getMessage()).contains("header kid: expected the SHA-256 of the device certificate "
                + Evidence.certificateSha256(laptop.cert()) + ", found \"" + Evidence.certificateSha256(other.cert()) + "\"");
    }

    @Test
    void verify_payloadSwappedForOneWithAnotherNonce_isBadSignature() throws Exception {
        String[] original = sign(good()).split("\\.");
        String[] forged = sign(claims("another-nonce", "laptop-42", NOW, PostureClaims.PROFILE)).split("\\.");
        String spliced = original[0] + "." + forged[1] + "." + original[2];
        assertThat(rejected(spliced).reason()).isEqualTo(Reason.EVIDENCE_BAD_SIGNATURE);
    }

    @Test
    void verify_nonceEditedInThePayload_isBadSignature() throws Exception {
        String[] parts = sign(good()).split("\\.");
        String json = new String(Base64URL.from(parts[1]).decode(), StandardCharsets.UTF_8).replace(NONCE, "x" + NONCE.substring(1));
        assertThat(rejected(parts[0] + "." + b64(json) + "." + parts[2]).reason()).isEqualTo(Reason.EVIDENCE_BAD_SIGNATURE);
    }

    @Test
    void verify_algNone_isBadSignatureBeforeAnyVerification() throws Exception {
        String unsecured = new PlainObject(new Payload(JWSObject.parse(sign(good())).getPayload().toString())).serialize();
        EvidenceException e = rejected(unsecured);
        assertThat(e.reason()).isEqualTo(Reason.EVIDENCE_BAD_SIGNATURE);
        assertThat(e.getMessage()).isEqualTo("evidence.bad_signature: header alg: expected ES256, found \"none\"");
        // the same with a signature part added, and with alg "None"
        String[] parts = sign(good()).split("\\.");
        assertThat(rejected(b64("{\"alg\":\"none\"}") + "." + parts[1] + "." + parts[2]).reason())
                .isEqualTo(Reason.EVIDENCE_BAD_SIGNATURE);
        assertThat(rejected(b64("{\"alg\":\"None\",\"typ\":\"postern-posture+jwt\"}") + "." + parts[1] + ".").reason())
                .isEqualTo(Reason.EVIDENCE_BAD_SIGNATURE);
    }

    @Test
    void verify_hmacSignedEvenWithThePublicKey_isBadSignature() throws Exception {
        String payload = JWSObject.parse(sign(good())).getPayload().toString();
        for (byte[] secret : List.of("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII),
                laptop.cert().getPublicKey().getEncoded())) {
            JWSObject o = new JWSObject(new JWSHeader.Builder(JWSAlgorithm.HS256).type(new JOSEObjectType(Evidence.TYPE))
                    .keyID(Evidence.certificateSha256(laptop.cert())).build(), new Payload(payload));
            o.sign(new MACSigner(secret));
            EvidenceException e = rejected(o.serialize());
            assertThat(e.reason()).isEqualTo(Reason.EVIDENCE_BAD_SIGNATURE);
            assertThat(e.getMessage()).isEqualTo("evidence.bad_signature: header alg: expected ES256, found \"HS256\"");
        }
    }

    @Test
    void verify_otherAlgorithmOrNoAlg_isBadSignature() throws Exception {
        String[] parts = sign(good()).split("\\.");
        for (String header : List.of("{\"alg\":\"ES384\"}", "{\"alg\":\"RS256\"}", "{\"alg\":\"es256\"}")) {
            assertThat(rejected(b64(header) + "." + parts[1] + "." + parts[2]).reason()).as(header)
                    .isEqualTo(Reason.EVIDENCE_BAD_SIGNATURE);
        }
    }

    @Test
    void verify_badSignature_neverConsultsTheNonceStore() throws Exception {
        AtomicInteger asked = new AtomicInteger();
        String jws = signRaw(laptopHeader(), "{}", (ECPrivateKey) other.keys().getPrivate());
        assertThatThrownBy(() -> Evidence.verify(jws, laptop.cert(), n -> asked.incrementAndGet() > 0, NOW, SKEW))
                .isInstanceOf(EvidenceException.class);
        assertThat(asked).hasValue(0);
    }

    // ---- nonce, freshness, profile -----------------------------------------------------------

    @Test
    void verify_validEvidenceForAnotherNonce_isNonceUnknown() throws Exception {
        EvidenceException e = rejected(sign(claims("an-old-nonce", "laptop-42", NOW, PostureClaims.PROFILE)));
        assertThat(e.reason()).isEqualTo(Reason.EVIDENCE_NONCE_UNKNOWN);
        assertThat(e.getMessage()).isEqualTo("evidence.nonce_unknown: eat_nonce: expected a live challenge issued to"
                + " laptop-42, found an unknown or used nonce");
    }

    @Test
    void verify_nonceStoreSaysUsed_isNonceUnknown() throws Exception {
        String jws = sign(good());
        assertThatThrownBy(() -> Evidence.verify(jws, laptop.cert(), n -> false, NOW, SKEW))
                .isInstanceOfSatisfying(EvidenceException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.EVIDENCE_NONCE_UNKNOWN));
    }

    @Test
    void verify_noNonceInTheClaims_isNonceUnknown() throws Exception {
        String json = "{\"ueid\":\"laptop-42\",\"iat\":" + NOW.getEpochSecond() + ",\"eat_profile\":\"urn:postern:posture:1\"}";
        assertThat(rejected(signRaw(laptopHeader(), json, (ECPrivateKey) laptop.keys().getPrivate())).reason())
                .isEqualTo(Reason.EVIDENCE_NONCE_UNKNOWN);
    }

    @Test
    void verify_iatOlderThanSkew_isStale() throws Exception {
        EvidenceException e = rejected(sign(claims(NONCE, "laptop-42", NOW.minus(SKEW).minusSeconds(1), PostureClaims.PROFILE)));
        assertThat(e.reason()).isEqualTo(Reason.EVIDENCE_STALE);
        assertThat(e.getMessage()).endsWith("(old by 61s)");
    }

    @Test
    void verify_iatInTheFutureBeyondSkew_isStale() throws Exception {
        EvidenceException e = rejected(sign(claims(NONCE, "laptop-42", NOW.plus(SKEW).plusSeconds(1), PostureClaims.PROFILE)));
        assertThat(e.reason()).isEqualTo(Reason.EVIDENCE_STALE);
        assertThat(e.getMessage()).endsWith("(in the future by 61s)");
    }

    @Test
    void verify_wrongEatProfile_isBadProfile() throws Exception {
        EvidenceException e = rejected(sign(claims(NONCE, "laptop-42", NOW, "urn:postern:posture:2")));
        assertThat(e.reason()).isEqualTo(Reason.EVIDENCE_BAD_PROFILE);
        assertThat(e.getMessage()).isEqualTo("evidence.bad_profile: eat_profile: expected urn:postern:posture:1,"
                + " found \"urn:postern:posture:2\"");
    }

    @Test
    void verify_wrongOrMissingTyp_isBadProfile() throws Exception {
        String payload = JWSObject.parse(sign(good())).getPayload().toString();
        ECPrivateKey key = (ECPrivateKey) laptop.keys().getPrivate();
        String kid = Evidence.certificateSha256(laptop.cert());
        String jwt = signRaw(new JWSHeader.Builder(JWSAlgorithm.ES256).type(JOSEObjectType.JWT).keyID(kid).build(), payload, key);
        assertThat(rejected(jwt).getMessage()).isEqualTo("evidence.bad_profile: header typ: expected postern-posture+jwt,"
                + " found \"JWT\"");
        String none = signRaw(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(kid).build(), payload, key);
        assertThat(rejected(none).reason()).isEqualTo(Reason.EVIDENCE_BAD_PROFILE);
    }

    // ---- malformed ---------------------------------------------------------------------------

    @Test
    void verify_truncatedEvidence_isMalformed() throws Exception {
        String jws = sign(good());
        for (int cut : new int[] {1, 10, 43, jws.lastIndexOf('.') + 1, jws.indexOf('.') + 5, jws.indexOf('.'), 5}) {
            String truncated = jws.substring(0, jws.length() - cut);
            EvidenceException e = rejected(truncated);
            assertThat(e.reason()).as("cut %d", cut).isEqualTo(Reason.EVIDENCE_MALFORMED);
        }
        assertThat(rejected(jws.substring(0, jws.length() - 10)).getMessage())
                .startsWith("evidence.malformed: signature: expected 64 bytes for ES256, found ");
    }

    @Test
    void verify_textThatIsNotJws_isMalformed() {
        for (String garbage : new String[] {"", "   ", "hello", "a.b.c", "a.b.c.d.e", "{\"alg\":\"ES256\"}",
                "eyJhbGciOiJFUzI1NiJ9", "!!!.???.***", "x".repeat(70_000)}) {
            assertThat(rejected(garbage).reason()).as(garbage.length() > 40 ? "long" : garbage)
                    .isEqualTo(Reason.EVIDENCE_MALFORMED);
        }
        assertThat(catchThrowableOfType(EvidenceException.class,
                () -> Evidence.verify(null, laptop.cert(), NONCE, NOW, SKEW)).reason()).isEqualTo(Reason.EVIDENCE_MALFORMED);
    }

    @Test
    void verify_signedPayloadThatIsNotClaimsJson_isMalformed() throws Exception {
        ECPrivateKey key = (ECPrivateKey) laptop.keys().getPrivate();
        String base = "\"eat_nonce\":\"" + NONCE + "\",\"ueid\":\"laptop-42\",\"iat\":" + NOW.getEpochSecond()
                + ",\"eat_profile\":\"urn:postern:posture:1\"";
        for (String payload : List.of("not json", "[1,2]", "{\"ueid\":\"laptop-42\"}",
                "{" + base + ",\"location\":\"52.52,13.40\"}",
                "{" + base + ",\"disk\":{\"encrypted\":\"true\"}}",
                "{" + base + ",\"patch\":{\"lastUpdate\":\"2024-05-01T00:00:00Z\"}}",
                "{" + base + ",\"iat\":1}",
                "{" + base + "} trailing",
                "{" + base + ",\"errors\":[{\"check\":\"disk\"}]}")) {
            EvidenceException e = rejected(signRaw(laptopHeader(), payload, key));
            assertThat(e.reason()).as(payload).isEqualTo(Reason.EVIDENCE_MALFORMED);
        }
        assertThat(rejected(signRaw(laptopHeader(), "{" + base + ",\"disk\":{\"encrypted\":\"true\"}}", key)).getMessage())
                .isEqualTo("evidence.malformed: claims.disk.encrypted: expected true or false, found \"true\"");
        assertThat(rejected(signRaw(laptopHeader(), "{" + base + ",\"location\":\"52.52,13.40\"}", key)).getMessage())
                .isEqualTo("evidence.malformed: claims.location: not a member of profile urn:postern:posture:1");
    }

    @Test
    void verify_ueidOfAnotherDevice_isMalformed() throws Exception {
        String json = "{\"eat_nonce\":\"" + NONCE + "\",\"ueid\":\"laptop-7\",\"iat\":" + NOW.getEpochSecond()
                + ",\"eat_profile\":\"urn:postern:posture:1\"}";
        EvidenceException e = rejected(signRaw(laptopHeader(), json, (ECPrivateKey) laptop.keys().getPrivate()));
        assertThat(e.reason()).isEqualTo(Reason.EVIDENCE_MALFORMED);
        assertThat(e.getMessage()).isEqualTo("evidence.malformed: ueid: expected the certificate's device id \"laptop-42\","
                + " found \"laptop-7\"");
    }

    // ---- signing side and helpers ------------------------------------------------------------

    @Test
    void sign_withoutNonceOrForAnotherDevice_isRefused() {
        assertThatThrownBy(() -> sign(claims(null, "laptop-42", NOW, PostureClaims.PROFILE)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nonce");
        assertThatThrownBy(() -> sign(claims(NONCE, "laptop-7", NOW, PostureClaims.PROFILE)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("claims ueid \"laptop-7\" is not the certificate's device id \"laptop-42\"");
    }

    @Test
    void evidenceSha256_isHexSha256OfTheCompactText() {
        assertThat(Evidence.evidenceSha256("abc"))
                .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    @Test
    void evidenceException_detail_isTheGenericTextForThePeer() {
        EvidenceException e = new EvidenceException(Reason.EVIDENCE_STALE, "iat: expected …");
        assertThat(e.detail()).isEqualTo(new ReasonDetail("evidence.stale",
                "The posture evidence is too old or dated in the future.",
                "Make sure the laptop sets its date and time automatically, then connect again."));
    }

    @Test
    void reason_codes_areTheStableDesignNames() {
        assertThat(Reason.values()).extracting(Reason::code).containsExactly("disk.not_encrypted", "disk.protection_off",
                "disk.encryption_in_progress", "os.unsupported", "os.too_old", "patch.stale", "patch.security_pending",
                "patch.reboot_required", "agent.too_old", "cert.expiring", "check.failed", "evidence.stale",
                "evidence.bad_signature", "evidence.nonce_unknown", "evidence.bad_profile", "evidence.malformed");
        assertThat(Reason.fromCode("os.too_old")).contains(Reason.OS_TOO_OLD);
        assertThat(Reason.fromCode("os.ancient")).isEmpty();
        assertThatThrownBy(() -> new ReasonDetail("os.ancient", "m", "r")).isInstanceOf(IllegalArgumentException.class);
    }
}
