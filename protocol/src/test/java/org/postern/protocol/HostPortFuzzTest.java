package org.postern.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * {@link HostPort#parse} on whatever a peer puts in a CONNECT request-target or an HTTP/2
 * {@code :authority}. The only refusal is {@link IllegalArgumentException}; what it accepts is a
 * destination the gateway can name again: a non-blank host without brackets, white space or
 * control characters, a port in range, and a text form that parses back to the same value. Corpus: {@code HostPortFuzzTestInputs/parse}; long runs:
 * docs/fuzzing.md.
 */
class HostPortFuzzTest {

    @FuzzTest
    void parse(byte[] input) {
        String authority = new String(input, StandardCharsets.UTF_8);
        HostPort parsed;
        try {
            parsed = HostPort.parse(authority);
        } catch (IllegalArgumentException refused) {
            assertThat(refused.getMessage()).startsWith("expected ");
            return;
        }
        assertThat(parsed.host()).isNotBlank();
        assertThat(parsed.host().chars()).noneMatch(
                c -> c == '[' || c == ']' || Character.isWhitespace(c) || Character.isISOControl(c));
        assertThat(parsed.port()).isBetween(1, 65535);
        assertThat(HostPort.parse(parsed.toString())).isEqualTo(parsed);
    }
}
