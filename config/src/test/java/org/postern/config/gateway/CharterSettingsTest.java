package org.postern.config.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.ConfigException;

/** {@code charter:} in gateway.yaml: absent means none required; present, it must be whole. */
class CharterSettingsTest {

    @TempDir
    Path dir;

    private GatewaySettings load(String yaml) throws IOException {
        return GatewaySettings.load(Files.writeString(dir.resolve("gateway.yaml"), yaml));
    }

    private List<String> problems(String yaml) throws IOException {
        Path f = Files.writeString(dir.resolve("gateway.yaml"), yaml);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> GatewaySettings.load(f));
        assertThat(e).as("expected a ConfigException for:\n" + yaml).isNotNull();
        return e.problems().stream().map(p -> p.replace(f.toString(), "gateway.yaml")).toList();
    }

    @Test
    void absent_noCharterIsRequired() throws IOException {
        assertThat(load("gateway:\n  id: gw-1\n").charter()).isNull();
        assertThat(GatewaySettings.defaults().charter()).isNull();
    }

    @Test
    void inlineText_isReadWithItsVersionAndHash() throws IOException {
        Charter c = load("charter:\n  version: 3\n  text: \"I keep my laptop locked.\"\n").charter();
        assertThat(c).isNotNull();
        assertThat(c.version()).isEqualTo(3);
        assertThat(c.text()).isEqualTo("I keep my laptop locked.");
        assertThat(c.file()).isNull();
        // sha256 of the UTF-8 bytes, as `printf %s 'I keep my laptop locked.' | sha256sum` prints it
        assertThat(c.sha256()).hasSize(64).isEqualTo(new Charter(1, "I keep my laptop locked.").sha256())
                .isNotEqualTo(new Charter(3, "I keep my laptop locked").sha256());
    }

    @Test
    void file_isReadAsUtf8_relativeToTheConfig() throws IOException {
        Files.writeString(dir.resolve("charter.txt"), "Charte du télétravail\nArticle 1 : …\n", StandardCharsets.UTF_8);
        Charter c = load("charter:\n  version: 1\n  file: charter.txt\n").charter();
        assertThat(c).isNotNull();
        assertThat(c.text()).isEqualTo("Charte du télétravail\nArticle 1 : …\n");
        assertThat(c.file()).isEqualTo(dir.resolve("charter.txt"));
    }

    @Test
    void badVersions_areNamed() throws IOException {
        assertThat(problems("charter:\n  version: 0\n  text: x\n"))
                .containsExactly("gateway.yaml: charter.version: expected a positive integer like 1 (raised for each new text), found 0");
        assertThat(problems("charter:\n  version: -1\n  text: x\n"))
                .containsExactly("gateway.yaml: charter.version: expected a positive integer like 1 (raised for each new text), found -1");
        assertThat(problems("charter:\n  version: abc\n  text: x\n"))
                .containsExactly("gateway.yaml: charter.version: expected a positive integer like 1 (raised for each new text), found \"abc\"");
        assertThat(problems("charter:\n  text: x\n")).containsExactly(
                "gateway.yaml: charter.version: expected a positive integer like 1 (raised for each new text), found none (a charter needs a version)");
    }

    @Test
    void emptyOrBlankText_isRefused() throws IOException {
        assertThat(problems("charter:\n  version: 1\n  text: \"\"\n"))
                .containsExactly("gateway.yaml: charter.text: expected the charter's text, found an empty text");
        assertThat(problems("charter:\n  version: 1\n  text: \"   \"\n"))
                .containsExactly("gateway.yaml: charter.text: expected the charter's text, found only blanks");
        Files.writeString(dir.resolve("empty.txt"), "\n");
        assertThat(problems("charter:\n  version: 1\n  file: empty.txt\n"))
                .containsExactly("gateway.yaml: charter.file: " + dir.resolve("empty.txt") + ": expected the charter's text, found only blanks");
    }

    @Test
    void missingOrUnreadableFile_isRefused() throws IOException {
        assertThat(problems("charter:\n  version: 1\n  file: nowhere.txt\n"))
                .containsExactly("gateway.yaml: charter.file: expected a readable UTF-8 text file, found no file " + dir.resolve("nowhere.txt"));
        Files.write(dir.resolve("latin1.txt"), new byte[] {'C', 'h', 'a', 'r', 't', (byte) 0xE9});
        assertThat(problems("charter:\n  version: 1\n  file: latin1.txt\n"))
                .containsExactly("gateway.yaml: charter.file: expected a readable UTF-8 text file, found " + dir.resolve("latin1.txt")
                        + ", which is not valid UTF-8");
        Files.createDirectory(dir.resolve("adir"));
        assertThat(problems("charter:\n  version: 1\n  file: adir\n"))
                .containsExactly("gateway.yaml: charter.file: expected a readable UTF-8 text file, found " + dir.resolve("adir")
                        + ", which is not a regular file");
    }

    @Test
    void bothOrNeither_isRefused() throws IOException {
        Files.writeString(dir.resolve("charter.txt"), "text\n");
        assertThat(problems("charter:\n  version: 1\n  text: x\n  file: charter.txt\n"))
                .containsExactly("gateway.yaml: charter: expected one of text or file, found both");
        assertThat(problems("charter:\n  version: 1\n"))
                .containsExactly("gateway.yaml: charter: expected text or file (the charter's text), found neither");
    }

    @Test
    void unknownKey_isRefused() throws IOException {
        assertThat(problems("charter:\n  version: 1\n  text: x\n  versoin: 2\n")).singleElement()
                .asString().startsWith("gateway.yaml: charter.versoin: unknown key");
    }

    @Test
    void constructor_checksLikeTheFile() {
        assertThatThrownBy(() -> new Charter(0, "x")).hasMessage(
                "charter.version: expected a positive integer like 1 (raised for each new text), found 0");
        assertThatThrownBy(() -> new Charter(1, " ")).hasMessage("charter.text: expected the charter's text, found only blanks");
        assertThatThrownBy(() -> new Charter(1, "x".repeat(Charter.MAX_TEXT + 1)))
                .hasMessage("charter.text: expected at most 65536 characters, found 65537");
    }
}
