package org.postern.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

class ReasonsTest {

    @Test
    void codes_areUniqueStableDottedNames() {
        assertThat(Arrays.stream(Reasons.values()).map(Reasons::code)).doesNotHaveDuplicates()
                .allMatch(c -> c.matches("[a-z]+\\.[a-z_]+"));
        assertThat(Reasons.NO_LEASE.code()).isEqualTo("posture.no_lease");
        assertThat(Reasons.DEVICE_NOT_ACTIVE.code()).isEqualTo("device.not_active");
        assertThat(Reasons.fromCode("access.no_rule")).contains(Reasons.NO_RULE);
    }

    @Test
    void isKnown_coversRefusalsAndPostureReasons() {
        assertThat(Reasons.isKnown("tls.client_cert_required")).isTrue();
        assertThat(Reasons.isKnown("disk.not_encrypted")).isTrue();
        assertThat(Reasons.isKnown("disk.not_shiny")).isFalse();
    }

    @Test
    void hostPort_refusesWhatCanNeverBeADestination() {
        assertThat(HostPort.parse("db1.admin.internal:5432")).isEqualTo(new HostPort("db1.admin.internal", 5432));
        assertThatThrownBy(() -> HostPort.parse("db1")).hasMessage("expected host:port, found \"db1\"");
        assertThatThrownBy(() -> HostPort.parse("db1:x")).hasMessage("expected a port between 1 and 65535, found \"x\" (host db1)");
        assertThatThrownBy(() -> new HostPort("db1", 65536)).hasMessage("expected a port between 1 and 65535, found 65536 (host db1)");
        assertThatThrownBy(() -> HostPort.parse(":22")).hasMessage("expected a host name or IP address, found none");
    }
}
