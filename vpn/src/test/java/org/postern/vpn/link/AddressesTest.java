package org.postern.vpn.link;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AddressesTest {

    @ParameterizedTest
    @CsvSource({
            "fd00:88:0:0:0:0:0:53, fd00:88::53",
            "0:0:0:0:0:0:0:1, ::1",
            "0:0:0:0:0:0:0:0, ::",
            "fd00:0:0:1:0:0:0:1, fd00:0:0:1::1",
            "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
            "fe80:0:0:0:1:0:0:0, fe80::1:0:0:0",
            "10.88.0.53, 10.88.0.53"})
    void text_isRfc5952(String literal, String expected) {
        assertThat(Addresses.text(InetAddress.ofLiteral(literal))).isEqualTo(expected);
    }
}
