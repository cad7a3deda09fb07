package org.postern.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.BeforeAll;
import org.postern.config.agent.AgentSettings;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;

/**
 * {@link ConfigReader#parse} on arbitrary text, bound as each of the four files Postern reads
 * ({@code gateway.yaml}, {@code pki.yaml}, {@code agent.yaml}, the posture policy). The only
 * refusal is {@link ConfigException}, with at least one problem, each naming the file. Corpus:
 * {@code ConfigReaderFuzzTestInputs/parse}; long runs: docs/fuzzing.md.
 */
class ConfigReaderFuzzTest {

    private static final List<Binder> BINDERS = List.of(
            new Binder("gateway.yaml", GatewaySettings::read),
            new Binder("pki.yaml", PkiSettings::read),
            new Binder("agent.yaml", AgentSettings::read),
            new Binder("posture.yaml", PosturePolicy::read));

    private record Binder(String name, Function<ConfigReader, ?> read) {
    }

    private static Path dir;

    @BeforeAll
    static void emptyDirectory() throws Exception {
        dir = Files.createTempDirectory("config-fuzz");
        dir.toFile().deleteOnExit();
    }

    @FuzzTest
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        for (Binder b : BINDERS) {
            try {
                ConfigReader.parse(text, b.name(), dir, b.read());
            } catch (ConfigException refused) {
                assertThat(refused.problems()).isNotEmpty().allSatisfy(p -> assertThat(p).startsWith(b.name() + ": "));
            }
        }
    }
}
