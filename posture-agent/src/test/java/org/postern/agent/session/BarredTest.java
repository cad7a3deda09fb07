package org.postern.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

import org.junit.jupiter.api.Test;

/** The gateway's refusal of this laptop, read from a TLS failure as either engine reports it. */
class BarredTest {
    @Test
    void certificateAlert_asTheJdkSaysIt() {
        assertThat(Barred.certificateAlert(new IOException("read failed",
                new SSLHandshakeException("Received fatal alert: certificate_revoked")))).contains("certificate_revoked");
    }

    @Test
    void certificateAlert_asBoringSslSaysIt() {
        // what Netty's OpenSSL engine throws when the gateway's alert arrives (after the TLS 1.3 handshake)
        assertThat(Barred.certificateAlert(new SSLException(
                "error:10000414:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_REVOKED"))).contains("certificate_revoked");
        assertThat(Barred.certificateAlert(new SSLException(
                "error:10000416:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_UNKNOWN"))).contains("certificate_unknown");
        assertThat(Barred.certificateAlert(new SSLException(
                "error:1000049d:SSL routines:OPENSSL_internal:TLSV1_ALERT_ACCESS_DENIED"))).contains("access_denied");
    }

    @Test
    void otherFailures_areNoRefusalOfTheLaptop() {
        assertThat(Barred.certificateAlert(new SSLException("error:100000f0:SSL routines:OPENSSL_internal:UNSUPPORTED_PROTOCOL"))).isEmpty();
        assertThat(Barred.certificateAlert(new SSLException("error:10000410:SSL routines:OPENSSL_internal:SSLV3_ALERT_HANDSHAKE_FAILURE"))).isEmpty();
        assertThat(Barred.certificateAlert(new SSLException("Received fatal alert: handshake_failure"))).isEmpty();
        assertThat(Barred.certificateAlert(new IOException("Connection reset"))).isEmpty();
        assertThat(Barred.certificateAlert(null)).isEmpty();
    }
}
