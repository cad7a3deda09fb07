package org.postern.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader in general, through small binders like the gateway's will be. */
class ConfigReaderTest {

    private static final Path BASE = Path.of("/etc/postern");

    @TempDir
    Path dir;

    enum Mode { ENFORCE, REPORT_ONLY }

    record Rule(String name, List<String> groups, HostPort destination) {
    }

    private static <T> T parse(String yaml, Function<ConfigReader, T> binder) {
        return ConfigReader.parse(yaml, "test.yaml", BASE, binder);
    }

    private static List<String> problems(String yaml, Function<ConfigReader, ?> binder) {
        try {
            parse(yaml, binder);
        } catch (ConfigException e) {
            return e.problems();
        }
        throw new AssertionError("expected a ConfigException for:\n" + yaml);
    }

    @Test
    void string_absent_givesDefault() {
        assertThat(parse("", (ConfigReader r) -> r.string("name", "dflt"))).isEqualTo("dflt");
        assertThat(parse("name:\n", (ConfigReader r) -> r.string("name", "dflt"))).isEqualTo("dflt");
        assertThat(parse("name: ~\n", (ConfigReader r) -> r.string("name", null))).isNull();
    }

    @Test
    void string_scalar_isTakenAsWritten() {
        assertThat(parse("name: 2024\n", (ConfigReader r) -> r.string("name", null))).isEqualTo("2024");
        assertThat(parse("name: \"quoted: yes\"\n", (ConfigReader r) -> r.string("name", null))).isEqualTo("quoted: yes");
    }

    @Test
    void string_yaml11BooleanWord_staysText() {
        assertThat(parse("country: no\n", (ConfigReader r) -> r.string("country", null))).isEqualTo("no");
    }

    @Test
    void string_map_isRejected() {
        assertThat(problems("name: {a: 1}\n", r -> r.string("name", null)))
                .containsExactly("test.yaml: name: expected a string, found a map");
    }

    @Test
    void string_withLengthBounds_rejectsTooLong() {
        assertThat(problems("name: abcdef\n", r -> r.string("name", "x", 1, 5)))
                .containsExactly("test.yaml: name: expected a string of 1 to 5 characters, found \"abcdef\"");
    }

    @Test
    void bool_acceptsTrueFalse_rejectsText() {
        assertThat(parse("on: true\n", (ConfigReader r) -> r.bool("on", false))).isTrue();
        assertThat(parse("", (ConfigReader r) -> r.bool("on", true))).isTrue();
        assertThat(problems("on: \"true\"\n", r -> r.bool("on", false)))
                .containsExactly("test.yaml: on: expected true or false, found \"true\"");
        assertThat(problems("on: yes\n", r -> r.bool("on", false)))
                .containsExactly("test.yaml: on: expected true or false, found \"yes\"");
    }

    @Test
    void integer_outsideBounds_isRejectedNamingTheBounds() {
        assertThat(parse("n: 7\n", (ConfigReader r) -> r.integer("n", 1, 1, 10))).isEqualTo(7);
        assertThat(problems("n: 0\n", r -> r.integer("n", 1, 1, 10)))
                .containsExactly("test.yaml: n: expected an integer between 1 and 10, found 0");
        assertThat(problems("n: ten\n", r -> r.integer("n", 1, 1, 10)))
                .containsExactly("test.yaml: n: expected an integer between 1 and 10, found \"ten\"");
        assertThat(problems("n: 1.5\n", r -> r.integer("n", 1, 1, 10)))
                .containsExactly("test.yaml: n: expected an integer between 1 and 10, found 1.5");
        assertThat(problems("n: 99999999999\n", r -> r.integer("n", 1, 1, 10)))
                .containsExactly("test.yaml: n: expected an integer between 1 and 10, found 99999999999");
    }

    @Test
    void duration_number_isRejectedUnquoted() {
        assertThat(problems("ttl: 10\n", r -> r.duration("ttl", null)))
                .containsExactly("test.yaml: ttl: expected a duration like 10m, found 10");
    }

    @Test
    void duration_outOfBounds_isRejectedNamingTheBounds() {
        Function<ConfigReader, Duration> binder =
                r -> r.duration("ttl", Duration.ofMinutes(10), Duration.ofMinutes(1), Duration.ofDays(30));
        assertThat(parse("ttl: 1h30m\n", binder)).isEqualTo(Duration.ofMinutes(90));
        assertThat(problems("ttl: 31d\n", binder))
                .containsExactly("test.yaml: ttl: expected a duration between 1m and 30d, found \"31d\"");
        assertThat(problems("ttl: 30s\n", binder))
                .containsExactly("test.yaml: ttl: expected a duration between 1m and 30d, found \"30s\"");
    }

    @Test
    void size_garbage_isRejected() {
        assertThat(parse("max: 16KiB\n", (ConfigReader r) -> r.size("max", null))).isEqualTo(DataSize.ofKiB(16));
        assertThat(problems("max: 16k\n", r -> r.size("max", null)))
                .containsExactly("test.yaml: max: expected a size like 64KiB, found \"16k\"");
    }

    @Test
    void hostPort_parsesAndRejects() {
        assertThat(parse("listen: \"[::1]:9443\"\n", (ConfigReader r) -> r.hostPort("listen", null)))
                .isEqualTo(new HostPort("::1", 9443));
        assertThat(problems("listen: localhost:0\n", r -> r.hostPort("listen", null)))
                .containsExactly("test.yaml: listen: expected a port between 1 and 65535, found \"localhost:0\"");
    }

    @Test
    void uri_relative_isRejected() {
        assertThat(parse("u: urn:postern:x\n", (ConfigReader r) -> r.uri("u"))).isEqualTo(URI.create("urn:postern:x"));
        assertThat(problems("u: /pki/crl\n", r -> r.uri("u")))
                .containsExactly("test.yaml: u: expected an absolute URI like https://pki.example.org/pki/crl, found \"/pki/crl\"");
    }

    @Test
    void httpUri_otherScheme_isRejected() {
        assertThat(parse("u: HTTPS://pki.example.org/crl\n", (ConfigReader r) -> r.httpUri("u")))
                .isEqualTo(URI.create("HTTPS://pki.example.org/crl"));
        String expected = "expected an absolute http or https URL like https://pki.example.org/pki/crl";
        assertThat(problems("u: ldap://pki.example.org/crl\n", r -> r.httpUri("u")))
                .containsExactly("test.yaml: u: " + expected + ", found \"ldap://pki.example.org/crl\"");
        assertThat(problems("u: \"http://exa mple\"\n", r -> r.httpUri("u")))
                .containsExactly("test.yaml: u: " + expected + ", found \"http://exa mple\"");
        assertThat(problems("u: http:/nohost\n", r -> r.httpUri("u")))
                .containsExactly("test.yaml: u: " + expected + ", found \"http:/nohost\"");
    }

    @Test
    void path_relative_isResolvedAgainstTheFilesDirectory() {
        assertThat(parse("p: keys/ca.key\n", (ConfigReader r) -> r.path("p"))).isEqualTo(Path.of("/etc/postern/keys/ca.key"));
        assertThat(parse("p: ../shared/ca.pem\n", (ConfigReader r) -> r.path("p"))).isEqualTo(Path.of("/etc/shared/ca.pem"));
        assertThat(parse("p: /var/lib/postern\n", (ConfigReader r) -> r.path("p"))).isEqualTo(Path.of("/var/lib/postern"));
        assertThat(parse("", (ConfigReader r) -> r.path("p", "data"))).isEqualTo(Path.of("/etc/postern/data"));
        assertThat(parse("", (ConfigReader r) -> r.path("p"))).isNull();
    }

    @Test
    void path_blankOrNul_isRejected() {
        assertThat(problems("p: \" \"\n", r -> r.path("p")))
                .containsExactly("test.yaml: p: expected a file path, found \" \"");
        assertThat(problems("p: \"a\\0b\"\n", r -> r.path("p")))
                .containsExactly("test.yaml: p: expected a file path, found \"a\\u0000b\"");
    }

    @Test
    void choice_usesLowerCaseDashedNames() {
        assertThat(parse("mode: report-only\n", (ConfigReader r) -> r.choice("mode", Mode.class, Mode.ENFORCE)))
                .isEqualTo(Mode.REPORT_ONLY);
        assertThat(parse("", (ConfigReader r) -> r.choice("mode", Mode.class, Mode.ENFORCE))).isEqualTo(Mode.ENFORCE);
        assertThat(problems("mode: REPORT_ONLY\n", r -> r.choice("mode", Mode.class, Mode.ENFORCE)))
                .containsExactly("test.yaml: mode: expected one of enforce, report-only, found \"REPORT_ONLY\"");
    }

    @Test
    void stringList_badElements_areEachNamedByIndex() {
        assertThat(parse("g: [admins, dba]\n", (ConfigReader r) -> r.stringList("g", List.of()))).containsExactly("admins", "dba");
        assertThat(parse("", (ConfigReader r) -> r.stringList("g", List.of("x")))).containsExactly("x");
        assertThat(problems("g: [admins, {a: 1}, [b]]\n", r -> r.stringList("g", List.of())))
                .containsExactly("test.yaml: g[1]: expected a string, found a map",
                        "test.yaml: g[2]: expected a string, found a list");
        assertThat(problems("g: admins\n", r -> r.stringList("g", List.of())))
                .containsExactly("test.yaml: g: expected a list of strings, found \"admins\"");
    }

    @Test
    void list_ofSections_bindsEachAndNamesProblemsByIndex() {
        Function<ConfigReader, List<Rule>> binder = r -> r.list("rules", e -> new Rule(
                e.string("name", "unnamed"),
                e.stringList("groups", List.of()),
                e.hostPort("destination", null)));
        String yaml = """
                rules:
                  - name: ssh
                    groups: [admins]
                    destination: 10.0.0.5:22
                  - name: db
                    destination: db:70000
                    group: [dba]
                  - just text
                """;
        assertThat(problems(yaml, binder)).containsExactly(
                "test.yaml: rules[1].destination: expected a port between 1 and 65535, found \"db:70000\"",
                "test.yaml: rules[1].group: unknown key (expected one of: name, groups, destination)",
                "test.yaml: rules[2]: expected a map, found \"just text\"");
        assertThat(parse("rules:\n  - destination: h:1\n", binder))
                .containsExactly(new Rule("unnamed", List.of(), new HostPort("h", 1)));
        assertThat(parse("", binder)).isEmpty();
    }

    @Test
    void section_nested_namesTheFullKeyPath() {
        Function<ConfigReader, String> binder = r -> r.section("a", a -> a.section("b", b -> b.string("c", "x")));
        assertThat(parse("a: {b: {c: y}}\n", binder)).isEqualTo("y");
        assertThat(parse("", binder)).isEqualTo("x");
        assertThat(problems("a: {b: {c: [1]}}\n", binder))
                .containsExactly("test.yaml: a.b.c: expected a string, found a list");
        assertThat(problems("a: {b: {cc: 1}}\n", binder))
                .containsExactly("test.yaml: a.b.cc: unknown key (expected one of: c)");
    }

    @Test
    void section_notAMap_isRejectedAndDefaultsAreUsed() {
        assertThat(problems("a: [1, 2]\nb: 1\n", r -> r.section("a", a -> a.string("c", "x")) + r.integer("b", 0, 5, 9)))
                .containsExactly("test.yaml: a: expected a map, found a list",
                        "test.yaml: b: expected an integer between 5 and 9, found 1");
    }

    @Test
    void unknownKey_inSectionWithoutKeys_saysSo() {
        assertThat(problems("a: {x: 1}\n", r -> r.section("a", a -> "nothing")))
                .containsExactly("test.yaml: a.x: unknown key (this section takes no keys)");
    }

    @Test
    void report_crossFieldCheck_namesTheKey() {
        Function<ConfigReader, Integer> binder = r -> {
            int min = r.integer("min", 1, 0, 100);
            int max = r.integer("max", 10, 0, 100);
            if (min > max) {
                r.report("min", "expected at most max (" + max + "), found " + min);
            }
            return max - min;
        };
        assertThat(problems("min: 9\nmax: 3\n", binder)).containsExactly("test.yaml: min: expected at most max (3), found 9");
    }

    @Test
    void has_marksTheKeyAsKnown() {
        assertThat(parse("extra: 1\n", (ConfigReader r) -> r.has("extra"))).isTrue();
        assertThat(parse("", (ConfigReader r) -> r.has("extra"))).isFalse();
    }

    @Test
    void binder_recordRefusingValue_isReportedNotThrown() {
        assertThat(problems("", r -> {
            throw new IllegalArgumentException("x.y: expected something, found nothing");
        })).containsExactly("test.yaml: x.y: expected something, found nothing");
    }

    @Test
    void topLevel_notAMap_isRejected() {
        assertThat(problems("just a string\n", r -> r.string("a", null)))
                .containsExactly("test.yaml: expected a map of settings at the top level, found \"just a string\"");
    }

    @Test
    void duplicateKey_isRejectedWithLine() {
        assertThat(problems("a: 1\nb: 2\na: 3\n", r -> r.integer("a", 0, 0, 9) + r.integer("b", 0, 0, 9)))
                .singleElement().asString()
                .startsWith("test.yaml: line 3, column ")
                .endsWith(": invalid YAML: duplicate key 'a'");
    }

    @Test
    void secondDocument_isRejected() {
        assertThat(problems("a: 1\n---\nb: 2\n", r -> r.integer("a", 0, 0, 9)))
                .containsExactly("test.yaml: line 3, column 1: expected one YAML document, found a second one");
        assertThat(parse("---\na: 1\n...\n", (ConfigReader r) -> r.integer("a", 0, 0, 9))).isEqualTo(1);
    }

    @Test
    void syntaxError_tab_isReportedWithLineAndColumn() {
        assertThat(problems("a:\n\tb: 1\n", r -> r.string("a", null))).containsExactly(
                "test.yaml: line 2, column 1: invalid YAML: found character '\\t(TAB)' that cannot start any token."
                        + " (Do not use \\t(TAB) for indentation)");
    }

    @Test
    void load_missingFile_isReportedNamingIt() {
        Path f = dir.resolve("absent.yaml");
        assertThatThrownBy(() -> ConfigReader.load(f, r -> r.string("a", null)))
                .isInstanceOf(ConfigException.class)
                .hasMessage(f + ": expected a configuration file, found none");
    }

    @Test
    void load_notUtf8_isReported() throws Exception {
        Path f = Files.write(dir.resolve("latin1.yaml"), new byte[] {'a', ':', ' ', (byte) 0xE9, '\n'});
        assertThatThrownBy(() -> ConfigReader.load(f, r -> r.string("a", null)))
                .hasMessage(f + ": expected UTF-8 text, found bytes that are not UTF-8");
    }

    @Test
    void configException_messageListsProblemsOnePerLine() {
        ConfigException e = new ConfigException(List.of("a.yaml: x: one", "a.yaml: y: two"));
        assertThat(e).hasMessage("a.yaml: x: one\na.yaml: y: two");
        assertThat(e.problems()).containsExactly("a.yaml: x: one", "a.yaml: y: two");
    }

    @Test
    void found_longText_isCut() {
        assertThat(problems("name: " + "x".repeat(100) + "\n", r -> r.string("name", "d", 1, 5)))
                .containsExactly("test.yaml: name: expected a string of 1 to 5 characters, found \""
                        + "x".repeat(60) + "…\"");
    }
}
