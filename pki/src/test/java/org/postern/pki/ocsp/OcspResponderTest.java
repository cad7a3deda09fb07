package org.postern.pki.ocsp;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.security.cert.X509Certificate;

import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.TestPki;

class OcspResponderTest {
    private static TestPki pki;

    @BeforeAll
    static void setUp() {
        pki = TestPki.create();
    }

    @AfterAll
    static void tearDown() {
        pki.close();
    }

    private static byte[] request(BigInteger serial, byte[] nonce) throws Exception {
        CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                new JcaX509CertificateHolder(pki.ca.issuing().certificate()), serial);
        OCSPReqBuilder b = new OCSPReqBuilder().addRequest(id);
        if (nonce != null) {
            b.setRequestExtensions(new Extensions(new Extension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce, false, new DEROctetString(nonce))));
        }
        return b.build().getEncoded();
    }

    private static BasicOCSPResp answer(byte[] req) throws Exception {
        OcspResponder.Answer a = pki.ocsp.respond(req);
        assertThat(a.status()).as(a.summary()).isEqualTo(OCSPRespBuilder.SUCCESSFUL);
        BasicOCSPResp basic = (BasicOCSPResp) new OCSPResp(a.der()).getResponseObject();
        X509Certificate responder = pki.ca.ocsp().certificate();
        assertThat(basic.isSignatureValid(new JcaContentVerifierProviderBuilder().build(responder.getPublicKey()))).isTrue();
        assertThat(basic.getCerts()[0].getEncoded()).isEqualTo(responder.getEncoded());
        return basic;
    }

    private static CertificateStatus status(X509Certificate cert) throws Exception {
        SingleResp[] r = answer(request(cert.getSerialNumber(), null)).getResponses();
        assertThat(r).hasSize(1);
        return r[0].getCertStatus();
    }

    @Test
    void respond_enrolledCertificate_isGood() throws Exception {
        assertThat(status(pki.enroll("ocsp-good", "alice").certificate())).isEqualTo(CertificateStatus.GOOD);
    }

    @Test
    void respond_revokedCertificate_isRevokedWithReason() throws Exception {
        X509Certificate cert = pki.enroll("ocsp-revoked", "alice").certificate();
        pki.service.revoke("ocsp-revoked", RevocationReason.retired, "test");
        CertificateStatus s = status(cert);
        assertThat(s).isInstanceOf(RevokedStatus.class);
        assertThat(((RevokedStatus) s).getRevocationReason()).isEqualTo(CRLReason.cessationOfOperation);
        assertThat(((RevokedStatus) s).getRevocationTime().toInstant()).isEqualTo(pki.clock.instant());
    }

    @Test
    void respond_suspendedThenResumed_isOnHoldThenGood() throws Exception {
        X509Certificate cert = pki.enroll("ocsp-held", "alice").certificate();
        pki.service.suspend("ocsp-held", "test");
        assertThat(((RevokedStatus) status(cert)).getRevocationReason()).isEqualTo(CRLReason.certificateHold);
        pki.service.resume("ocsp-held", "test");
        assertThat(status(cert)).isEqualTo(CertificateStatus.GOOD);
    }

    @Test
    void respond_unknownSerial_isUnknown() throws Exception {
        SingleResp[] r = answer(request(BigInteger.valueOf(424242), null)).getResponses();
        assertThat(r[0].getCertStatus()).isInstanceOf(UnknownStatus.class);
    }

    @Test
    void respond_nonce_isEchoed() throws Exception {
        byte[] nonce = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        BasicOCSPResp basic = answer(request(BigInteger.ONE, nonce));
        Extension echoed = basic.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
        assertThat(echoed).isNotNull();
        assertThat(echoed.getExtnValue().getOctets()).as("the nonce exactly as sent").isEqualTo(nonce);
    }

    @Test
    void respond_garbage_isMalformedRequest() {
        OcspResponder.Answer a = pki.ocsp.respond(new byte[] {1, 2, 3});
        assertThat(a.status()).isEqualTo(OCSPRespBuilder.MALFORMED_REQUEST);
        assertThat(a.summary()).startsWith("malformed request: ");
    }
}
