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

    @Test
    void charterWithNoValue_isRefused_notTakenAsAbsent() throws IOException {
        assertThat(problems("charter:\n")).containsExactly(
                "gateway.yaml: charter: expected a map with version and text or file, found nothing");
        assertThat(problems("charter: null\n")).containsExactly(
                "gateway.yaml: charter: expected a map with version and text or file, found nothing");
        // an indentation slip: the keys end up at the top level
        assertThat(problems("charter:\nversion: 1\ntext: x\n"))
                .contains("gateway.yaml: charter: expected a map with version and text or file, found nothing");
    }

    @Test
    void controlAndInvisibleCharacters_areRefused_withLineAndColumn() throws IOException {
        assertThat(problems("charter:\n  version: 1\n  text: \"Line one\\nab\\u001b[2Jc\"\n")).containsExactly(
                "gateway.yaml: charter.text: expected printable text (no control, invisible or bidirectional formatting"
                        + " characters), found U+001B at line 2, column 3");
        for (char c : new char[] {0, 7, 8, 0x0B, 0x0C, '\r', 0x7F, 0x80, 0x9B, 0x9F, 0x200B, 0x200F, 0x202A, 0x202E, 0x2066, 0x2069,
                0x00AD, 0x061C, 0x180E, 0x2028, 0x2029, 0x2060, 0x2064, 0xFEFF, 0xD800}) {
            assertThatThrownBy(() -> new Charter(1, "ok\nx" + c + "y")).as("U+%04X", (int) c)
                    .hasMessageEndingWith(String.format("found U+%04X at line 2, column 2", (int) c));
        }
        // the invisible tag characters (U+E0000–U+E007F) come as surrogate pairs: judged as one code point
        assertThatThrownBy(() -> new Charter(1, "ok\nx" + Character.toString(0xE0041) + "y"))
                .hasMessageEndingWith("found U+E0041 at line 2, column 2");
        Files.writeString(dir.resolve("bidi.txt"), "I accept\n\u202Etpecca ton\n", StandardCharsets.UTF_8);
        assertThat(problems("charter:\n  version: 1\n  file: bidi.txt\n")).singleElement().asString()
                .startsWith("gateway.yaml: charter.file: " + dir.resolve("bidi.txt") + ": expected printable text")
                .endsWith("found U+202E at line 2, column 1");
    }

    @Test
    void tabsLineFeedsAndCrLf_andOrdinaryUnicode_areKept() {
        String text = "Charte\r\n\tArticle 1 : « télétravail » — 日本語 ✓\r\nfin\n";
        assertThat(new Charter(1, text).text()).isEqualTo(text);
        assertThat(Charter.textProblem(text)).isNull();
    }

    @Test
    void hugeFile_isRefusedBeforeItIsRead() throws IOException {
        Files.write(dir.resolve("huge.txt"), new byte[4 * Charter.MAX_TEXT + 1]);
        assertThat(problems("charter:\n  version: 1\n  file: huge.txt\n")).containsExactly(
                "gateway.yaml: charter.file: expected a readable UTF-8 text file, found " + dir.resolve("huge.txt")
                        + ", which has 262145 bytes (a charter has at most 65536 characters)");
    }

    @Test
    void anAcceptanceIsCurrent_forALaterVersion_orThisVersionWithThisText() {
        Charter c = new Charter(2, "new words");
        assertThat(c.isAcceptedBy(2, c.sha256())).isTrue();
        assertThat(c.isAcceptedBy(2, c.sha256().toUpperCase(java.util.Locale.ROOT))).isTrue();
        assertThat(c.isAcceptedBy(3, "whatever")).isTrue();
        assertThat(c.isAcceptedBy(2, new Charter(2, "old words").sha256())).as("same version, other text").isFalse();
        assertThat(c.isAcceptedBy(1, c.sha256())).isFalse();
    }
}
