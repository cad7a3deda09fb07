package org.postern.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretTest {

    @TempDir
    Path dir;

    @Test
    void toString_isRedacted() {
        Secret s = Secret.of("hunter2");
        assertThat(s.toString()).isEqualTo("Secret[redacted]").doesNotContain("hunter2");
        assertThat(String.valueOf(Map.of("k", s))).doesNotContain("hunter2");
    }

    @Test
    void reveal_givesTheValue() {
        Secret s = Secret.of("pässword");
        assertThat(s.reveal()).isEqualTo("pässword");
        assertThat(s.revealChars()).containsExactly('p', 'ä', 's', 's', 'w', 'o', 'r', 'd');
        assertThat(s.revealBytes()).isEqualTo("pässword".getBytes(StandardCharsets.UTF_8));
        assertThat(s.length()).isEqualTo(9);
    }

    @Test
    void revealBytes_returnsACopy() {
        Secret s = Secret.of("abc");
        s.revealBytes()[0] = 'x';
        assertThat(s.reveal()).isEqualTo("abc");
    }

    @Test
    void ofBytes_copiesTheInput() {
        byte[] raw = {1, 2, 3};
        Secret s = Secret.ofBytes(raw);
        raw[0] = 9;
        assertThat(s.revealBytes()).containsExactly(1, 2, 3);
    }

    @Test
    void equals_comparesValues() {
        assertThat(Secret.of("same")).isEqualTo(Secret.of("same")).hasSameHashCodeAs(Secret.of("same"));
        assertThat(Secret.of("same")).isNotEqualTo(Secret.of("Same"));
        assertThat(Secret.of("same")).isNotEqualTo(Secret.of("same1"));
        assertThat(Secret.of("same")).isNotEqualTo("same");
    }

    @Test
    void fromEnv_set_givesTheValue() {
        assertThat(Secret.fromEnv("POSTERN_CA_PASSPHRASE", Map.of("POSTERN_CA_PASSPHRASE", "s3cret")).reveal())
                .isEqualTo("s3cret");
    }

    @Test
    void fromEnv_unset_isRejectedNamingTheVariable() {
        assertThatThrownBy(() -> Secret.fromEnv("POSTERN_CA_PASSPHRASE", Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected the environment variable POSTERN_CA_PASSPHRASE to hold the secret, found it unset");
    }

    @Test
    void fromEnv_empty_isRejectedNamingTheVariable() {
        assertThatThrownBy(() -> Secret.fromEnv("POSTERN_CA_PASSPHRASE", Map.of("POSTERN_CA_PASSPHRASE", "")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected the environment variable POSTERN_CA_PASSPHRASE to hold the secret, found it empty");
    }

    @Test
    void fromFile_takesTheFirstLineWithoutItsLineBreak() throws Exception {
        Path f = Files.writeString(dir.resolve("pass"), "first line\r\nsecond line\n");
        assertThat(Secret.fromFile(f).reveal()).isEqualTo("first line");
    }

    @Test
    void fromFile_withoutLineBreak_takesTheWholeFile() throws Exception {
        Path f = Files.writeString(dir.resolve("pass"), "only");
        assertThat(Secret.fromFile(f).reveal()).isEqualTo("only");
    }

    @Test
    void fromFile_empty_isRejectedNamingTheFile() throws Exception {
        Path f = Files.writeString(dir.resolve("pass"), "");
        assertThatThrownBy(() -> Secret.fromFile(f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected a secret on the first line of " + f + ", found an empty line");
    }

    @Test
    void fromFile_emptyFirstLine_isRejected() throws Exception {
        Path f = Files.writeString(dir.resolve("pass"), "\nsecret on line two\n");
        assertThatThrownBy(() -> Secret.fromFile(f))
                .hasMessage("expected a secret on the first line of " + f + ", found an empty line");
    }

    @Test
    void fromFile_missing_isRejectedNamingTheFile() {
        Path f = dir.resolve("absent");
        assertThatThrownBy(() -> Secret.fromFile(f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected a secret file at " + f + ", found none");
    }
}
