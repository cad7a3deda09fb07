package org.postern.agent.enroll;

import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import javax.net.ssl.X509TrustManager;

import org.postern.keys.Fingerprints;

/**
 * Trust on first enrollment, done safely: the server's chain is accepted only if it contains a
 * certificate whose SHA-256 is the fingerprint the administrator handed out ({@code --ca-sha256})
 * and the leaf validates up to it. A plain {@link X509TrustManager} on purpose: the JDK wraps it
 * and still checks the host name.
 */
public final class PinnedRootTrustManager implements X509TrustManager {
    private final String pin;

    public PinnedRootTrustManager(String sha256) {
        this.pin = Fingerprints.normalize(sha256);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        X509Certificate anchor = Arrays.stream(chain).filter(c -> Fingerprints.sha256(c).equals(pin)).findFirst()
                .orElseThrow(() -> new CertificateException("the server's chain does not contain the pinned CA: expected SHA-256 "
                        + pin + ", found " + Arrays.stream(chain).map(c -> c.getSubjectX500Principal().getName() + "=" + Fingerprints.sha256(c)).toList()));
        List<X509Certificate> path = new ArrayList<>();
        for (X509Certificate c : chain) {
            if (c.equals(anchor)) {
                break;
            }
            path.add(c);
        }
        if (path.isEmpty()) {
            throw new CertificateException("the server presented the CA certificate itself as its leaf");
        }
        try {
            PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(anchor, null)));
            params.setRevocationEnabled(false); // the device has no revocation data before it enrolls
            CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
        } catch (GeneralSecurityException e) {
            throw new CertificateException("the server's certificate does not validate up to the pinned CA: " + e.getMessage(), e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("this trust manager only checks servers");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
