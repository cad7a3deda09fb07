package org.postern.agent.enroll;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postern.keys.Fingerprints;
import org.postern.pki.testing.TestPki;

@Timeout(60)
class PinnedRootTrustManagerTest {
    private static TestPki pki;
    private static TestPki otherPki; // another CA, same names: only keys and signatures differ
    private static X509Certificate[] serverChain;
    private static X509Certificate[] foreignLeafChain;

    @BeforeAll
    static void createPkis() {
        pki = TestPki.create();
        otherPki = TestPki.create();
        X509Certificate leaf = pki.service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test").certificate();
        serverChain = new X509Certificate[] {leaf, pki.ca.chain().get(0), pki.ca.root()};
        X509Certificate foreignLeaf = otherPki.service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test").certificate();
        foreignLeafChain = new X509Certificate[] {foreignLeaf, pki.ca.chain().get(0), pki.ca.root()};
    }

    @AfterAll
    static void closePkis() {
        if (pki != null) {
            pki.close();
        }
        if (otherPki != null) {
            otherPki.close();
        }
    }

    /** {@code AB:CD:…}, the way openssl prints a fingerprint. */
    private static String opensslStyle(String hex) {
        return HexFormat.ofDelimiter(":").withUpperCase().formatHex(HexFormat.of().parseHex(hex));
    }

    @Test
    void checkServerTrusted_pinnedToTheRoot_acceptsTheServerChain() {
        PinnedRootTrustManager tm = new PinnedRootTrustManager(pki.ca.rootSha256());

        assertThatCode(() -> tm.checkServerTrusted(serverChain, "ECDHE_ECDSA")).doesNotThrowAnyException();
    }

    @Test
    void checkServerTrusted_pinWithColonsAndUpperCase_isAccepted() {
        String pin = opensslStyle(pki.ca.rootSha256());
        assertThat(pin).contains(":").isUpperCase();
        PinnedRootTrustManager tm = new PinnedRootTrustManager(pin);

        assertThatCode(() -> tm.checkServerTrusted(serverChain, "ECDHE_ECDSA")).doesNotThrowAnyException();
    }

    @Test
    void checkServerTrusted_pinnedToAnotherCa_isRejectedListingPinAndPresentedSubjects() {
        String otherRoot = otherPki.ca.rootSha256();
        PinnedRootTrustManager tm = new PinnedRootTrustManager(opensslStyle(otherRoot));

        assertThatThrownBy(() -> tm.checkServerTrusted(serverChain, "ECDHE_ECDSA"))
                .isInstanceOf(CertificateException.class)
                .hasMessageStartingWith("the server's chain does not contain the pinned CA: expected SHA-256 " + otherRoot + ", found [")
                .hasMessageContaining(serverChain[0].getSubjectX500Principal().getName() + "=" + Fingerprints.sha256(serverChain[0]))
                .hasMessageContaining(serverChain[1].getSubjectX500Principal().getName() + "=" + Fingerprints.sha256(serverChain[1]))
                .hasMessageContaining(serverChain[2].getSubjectX500Principal().getName() + "=" + pki.ca.rootSha256());
    }

    @Test
    void checkServerTrusted_leafNotSignedByThePinnedCa_isRejected() {
        // Same issuer name as the real issuing CA, but signed by another CA's key.
        assertThat(foreignLeafChain[0].getIssuerX500Principal()).isEqualTo(serverChain[0].getIssuerX500Principal());
        PinnedRootTrustManager tm = new PinnedRootTrustManager(pki.ca.rootSha256());

        assertThatThrownBy(() -> tm.checkServerTrusted(foreignLeafChain, "ECDHE_ECDSA"))
                .isInstanceOf(CertificateException.class)
                .hasMessageStartingWith("the server's certificate does not validate up to the pinned CA: ");
    }

    @Test
    void checkServerTrusted_caCertificateAsLeaf_isRejected() {
        PinnedRootTrustManager tm = new PinnedRootTrustManager(pki.ca.rootSha256());

        assertThatThrownBy(() -> tm.checkServerTrusted(new X509Certificate[] {pki.ca.root()}, "ECDHE_ECDSA"))
                .isInstanceOf(CertificateException.class)
                .hasMessage("the server presented the CA certificate itself as its leaf");
    }

    @Test
    void constructor_malformedPin_isRejectedShowingWhatWasGiven() {
        String truncated = pki.ca.rootSha256().substring(0, 63);

        assertThatThrownBy(() -> new PinnedRootTrustManager(truncated))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected a SHA-256 fingerprint of 64 hex digits (colons allowed), found \"" + truncated + "\"");
        assertThatThrownBy(() -> new PinnedRootTrustManager("sha256:" + pki.ca.rootSha256().toUpperCase(Locale.ROOT)))
                .hasMessageStartingWith("expected a SHA-256 fingerprint of 64 hex digits");
    }

    @Test
    void checkClientTrusted_isRefused() {
        PinnedRootTrustManager tm = new PinnedRootTrustManager(pki.ca.rootSha256());

        assertThatThrownBy(() -> tm.checkClientTrusted(serverChain, "ECDHE_ECDSA"))
                .isInstanceOf(CertificateException.class)
                .hasMessage("this trust manager only checks servers");
        assertThat(tm.getAcceptedIssuers()).isEmpty();
    }
}
