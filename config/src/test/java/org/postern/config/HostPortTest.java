package org.postern.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HostPortTest {

    @ParameterizedTest
    @CsvSource({
            "127.0.0.1:8443, 127.0.0.1, 8443",
            "[::1]:8443, ::1, 8443",
            "[2001:db8::7]:443, 2001:db8::7, 443",
            "localhost:8443, localhost, 8443",
            "gw-1.example.org:1, gw-1.example.org, 1",
            "0.0.0.0:65535, 0.0.0.0, 65535",
    })
    void parse_validText_givesHostAndPort(String text, String host, int port) {
        HostPort hp = HostPort.parse(text);
        assertThat(hp).isEqualTo(new HostPort(host, port));
        assertThat(hp).hasToString(text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"::1:8443", "localhost", ":8443", "localhost:", "localhost:http", "[::1]8443",
            "[::1]", "[localhost]:8443", "local host:8443", "-bad.example:8443", "999.0.0.1:8443",
            "localhost:-1", "localhost:123456", "", "[:]:8443", "[1:2:3:4:5:6:7:8:9]:8443", "[::1::2]:8443"})
    void parse_malformed_isRejectedWithTheExpectedForm(String text) {
        assertThatThrownBy(() -> HostPort.parse(text))
                .isInstanceOf(InvalidValueException.class)
                .hasMessage("expected host:port like 127.0.0.1:8443 or [::1]:8443, found " + Found.quote(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost:0", "localhost:65536", "[::1]:70000", "127.0.0.1:99999"})
    void parse_portOutOfRange_isRejectedNamingTheRange(String text) {
        assertThatThrownBy(() -> HostPort.parse(text))
                .isInstanceOf(InvalidValueException.class)
                .hasMessage("expected a port between 1 and 65535, found " + Found.quote(text));
    }

    @Test
    void constructor_badPort_isRejected() {
        assertThatThrownBy(() -> new HostPort("localhost", 0))
                .hasMessage("expected a port between 1 and 65535, found 0");
    }

    @Test
    void constructor_emptyHost_isRejected() {
        assertThatThrownBy(() -> new HostPort("", 8443))
                .hasMessage("expected a host name or IP address, found \"\"");
    }

    @Test
    void socketAddress_keepsHostAndPort() {
        var address = HostPort.parse("127.0.0.1:8443").socketAddress();
        assertThat(address.getPort()).isEqualTo(8443);
        assertThat(address.getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    }
}
