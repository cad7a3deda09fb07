package org.postern.pki.ocsp;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.postern.pki.testing.TestPki;

/**
 * {@link OcspResponder#respond} on arbitrary bytes as the DER request (what a relying party POSTs,
 * or GETs base64-encoded). It never throws: a request that does not parse, or names no or too many
 * certificates, is answered {@code malformedRequest}; otherwise the answer is a signed
 * {@code successful} response with one status per certificate id asked (at most 16), and
 * {@code good} only for the one certificate this CA issued. Corpus:
 * {@code OcspResponderFuzzTestInputs/respond} (requests made by openssl, known-bad encodings).
 */
class OcspResponderFuzzTest {

    private static TestPki pki;
    private static BigInteger issued;

    @BeforeAll
    static void setUp() {
        pki = TestPki.create();
        issued = pki.enroll("ocsp-fuzz", "alice").certificate().getSerialNumber();
    }

    @AfterAll
    static void tearDown() {
        pki.close();
    }

    @FuzzTest
    void respond(byte[] input) throws Exception {
        OcspResponder.Answer a = pki.ocsp.respond(input);
        assertThat(a.status()).as(a.summary()).isIn(OCSPRespBuilder.SUCCESSFUL, OCSPRespBuilder.MALFORMED_REQUEST);
        OCSPResp resp = new OCSPResp(a.der());
        assertThat(resp.getStatus()).isEqualTo(a.status());
        if (a.status() != OCSPRespBuilder.SUCCESSFUL) {
            return;
        }
        SingleResp[] answers = ((BasicOCSPResp) resp.getResponseObject()).getResponses();
        assertThat(answers.length).isBetween(1, OcspResponder.MAX_REQUESTS);
        for (SingleResp r : answers) {
            if (r.getCertStatus() == CertificateStatus.GOOD) {
                assertThat(r.getCertID().getSerialNumber()).as("good for a certificate never issued").isEqualTo(issued);
            }
        }
    }
}
