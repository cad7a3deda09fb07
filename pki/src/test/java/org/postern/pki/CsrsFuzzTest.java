package org.postern.pki;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.interfaces.ECPublicKey;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * What EST {@code simpleenroll}/{@code simplereenroll} does with a request body before any
 * registry lookup ({@link Csrs}), on arbitrary bytes, twice per input: as the body (strict base64,
 * then the CSR) and as the DER itself (so the fuzzer reaches the ASN.1 without having to learn
 * base64). The only refusal is {@link PkiException} with a 400 and an {@code est.} code; an accepted
 * CSR has an EC P-256 key that decodes. Corpus: {@code CsrsFuzzTestInputs/parse} (DER CSRs made by
 * openssl, PEM bodies, known-bad encodings).
 */
class CsrsFuzzTest {

    @FuzzTest
    void parse(byte[] input) {
        check(() -> Csrs.parseAndCheck(Csrs.base64(input)));
        check(() -> Csrs.parseAndCheck(input));
    }

    private interface Step {
        PKCS10CertificationRequest run();
    }

    private static void check(Step step) {
        PKCS10CertificationRequest csr;
        try {
            csr = step.run();
        } catch (PkiException refused) {
            assertThat(refused.code()).startsWith("est.");
            assertThat(refused.httpStatus()).isEqualTo(400);
            return;
        }
        assertThat(Csrs.describe(csr.getSubjectPublicKeyInfo())).isEqualTo("EC P-256");
        assertThat(Csrs.publicKey(csr)).isInstanceOf(ECPublicKey.class);
    }
}
