package org.postern.gateway.reload;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

class ReloadTriggersTest {

    /**
     * {@code --config ./gateway.yaml} registers the directory as {@code /etc/postern/.}; the kernel
     * gives the charter file's directory, {@code /etc/postern}, the same key, so its events arrive
     * under the first spelling and must still be recognised.
     */
    @Test
    void anEventUnderAnotherSpellingOfTheDirectory_concernsTheFile() {
        List<Path> files = List.of(Path.of("/etc/postern/gateway.yaml"), Path.of("/etc/postern/charter.txt"));
        assertThat(ReloadTriggers.concerns(Path.of("/etc/postern/."), Path.of("charter.txt"), files)).isTrue();
        assertThat(ReloadTriggers.concerns(Path.of("/etc/postern/../postern"), Path.of("gateway.yaml"), files)).isTrue();
        assertThat(ReloadTriggers.concerns(Path.of("/etc/postern/."), Path.of("other.txt"), files)).isFalse();
        assertThat(ReloadTriggers.concerns(Path.of("/etc/other"), Path.of("charter.txt"), files)).isFalse();
    }
}
