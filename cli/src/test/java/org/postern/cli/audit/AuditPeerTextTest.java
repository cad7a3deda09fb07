package org.postern.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.export.CsvFormat;
import org.postern.cli.TerminalAssertions;

/**
 * Issue 11, item 9: an unauthenticated {@code CONNECT <ESC>[2J<ESC>]0;pwned<BEL>evil…:443} is
 * recorded as sent; {@code audit search}, {@code report} and {@code export --format csv|cef} must
 * show it as escapes, never reach the auditor's terminal with it, and decode non-ASCII honestly.
 */
class AuditPeerTextTest {
    /** The CONNECT target of the incident, with OSC 52 (clipboard), C1 CSI, bidi override and isolate, DEL. */
    static final String DEST = "\u001b[2J\u001b]0;pwned\u0007\u001b]52;c;cHduZWQ=\u0007evil\u202e\u2066gnp.exe\u0085\u009b31m\u007f:443";
    static final String DEST_SHOWN = "\\x1b[2J\\x1b]0;pwned\\x07\\x1b]52;c;cHduZWQ=\\x07evil\\u202e\\u2066gnp.exe\\u0085\\u009b31m\\x7f:443";
    /** A user whose name hides a zero-width space and a right-to-left mark. */
    static final String USER = "mal\u200bory\u200f";
    static final String USER_SHOWN = "mal\\u200bory\\u200f";

    @TempDir
    Path tmp;
    Path dir;

    @BeforeEach
    void writeTrail() throws Exception {
        dir = tmp.resolve("audit");
        new TestTrail(dir)
                .add("2026-11-30T10:00:00.000Z", "access.denied", "source", "198.51.100.9:4444", "dest", DEST,
                        "reason", "tls.client_cert_required", "detail", "CONNECT " + DEST + " without a client certificate")
                .add("2026-11-30T10:01:00.000Z", "session.start", "session", "s1", "device", "laptop-1", "user", USER,
                        "source", "203.0.113.5:50000", "via", "tls")
                .add("2026-11-30T10:02:00.000Z", "access.denied", "session", "s1", "device", "laptop-1", "user", "Zoë Ünal 山田",
                        "dest", "café.example:443", "reason", "access.no_rule", "detail", "=HYPERLINK(\"http://x\")")
                .add("2026-11-30T11:00:00.000Z", "session.end", "session", "s1", "device", "laptop-1", "user", USER,
                        "reason", "client_closed");
    }

    private static AuditCommandTest.Run run(String... args) {
        return AuditCommandTest.run(args);
    }

    @Test
    void search_table_showsPeerControlsAsEscapes() {
        AuditCommandTest.Run r = run("audit", "search", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        TerminalAssertions.assertSafe(r.out());
        assertThat(r.out()).contains("dest=" + DEST_SHOWN).contains("detail=CONNECT " + DEST_SHOWN + " without")
                .contains(USER_SHOWN).contains("Zoë Ünal 山田").contains("café.example:443");
        assertThat(r.out().lines()).hasSize(1 + 4 + 1); // header, the records, the count: no line forged by the peer
    }

    @Test
    void search_json_staysExactJson() throws Exception {
        AuditCommandTest.Run r = run("audit", "search", dir.toString(), "--json", "--limit", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).doesNotContain("\u001b").doesNotContain("\u0007"); // JSON escapes C0 itself
        assertThat(TestTrailJson.read(r.out()).get("dest").asText()).isEqualTo(DEST);
    }

    @Test
    void export_csv_showsEscapes_andGuardsFormulas() throws Exception {
        AuditCommandTest.Run r = run("audit", "export", dir.toString(), "--format", "csv");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith(CsvFormat.BOM); // the one U+FEFF, on purpose: spreadsheets read UTF-8
        TerminalAssertions.assertSafe(r.out().substring(1));
        assertThat(r.out()).contains(DEST_SHOWN).contains(USER_SHOWN).contains("Zoë Ünal 山田")
                .contains(",\"'=HYPERLINK(\"\"http://x\"\")\",");
        assertThat(r.out().split("\r\n")).hasSize(1 + 4);
    }

    @Test
    void export_cef_showsEscapes() {
        AuditCommandTest.Run r = run("audit", "export", dir.toString(), "--format", "cef");
        assertThat(r.code()).as(r.err()).isZero();
        TerminalAssertions.assertSafe(r.out());
        // CEF escapes the backslash of each escape once more: a CEF reader gets the escape as text
        assertThat(r.out()).contains("dhost=\\\\x1b[2J\\\\x1b]0;pwned\\\\x07").contains("evil\\\\u202e").contains("Zoë Ünal 山田");
        assertThat(r.out().split("\n")).hasSize(4);
    }

    @Test
    void report_text_showsUserNamesAsEscapes() {
        AuditCommandTest.Run r = run("audit", "report", dir.toString(), "--since", "2026-11-30", "--until", "2026-12-01");
        assertThat(r.code()).as(r.err()).isZero();
        TerminalAssertions.assertSafe(r.out());
        assertThat(r.out()).contains(USER_SHOWN);
    }

    @Test
    void report_csv_showsUserNamesAsEscapes() {
        AuditCommandTest.Run r = run("audit", "report", dir.toString(), "--since", "2026-11-30", "--until", "2026-12-01", "--csv");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith(CsvFormat.BOM);
        TerminalAssertions.assertSafe(r.out().substring(1));
        assertThat(r.out()).contains(USER_SHOWN);
    }

    @Test
    void search_invalidUtf8InTheTrail_isShownAsBytesWithAWarning() throws Exception {
        byte[] line = "{\"seq\":5,\"time\":\"2026-11-30T12:00:00.000Z\",\"type\":\"access.denied\",\"gateway\":\"gw-1\",\"dest\":\"a"
                .getBytes(StandardCharsets.UTF_8);
        byte[] tail = ":443\",\"prev\":\"00\"}\n".getBytes(StandardCharsets.UTF_8);
        byte[] bad = {(byte) 0xc3, '(', (byte) 0xe2, (byte) 0x80, (byte) 0xff};
        Path seg = dir.resolve("segment-000001.jsonl");
        Files.write(seg, line, StandardOpenOption.APPEND);
        Files.write(seg, bad, StandardOpenOption.APPEND);
        Files.write(seg, tail, StandardOpenOption.APPEND);
        AuditCommandTest.Run r = run("audit", "search", dir.toString(), "--since", "2026-11-30T11:30:00Z");
        assertThat(r.code()).as(r.err()).isZero();
        TerminalAssertions.assertSafe(r.out());
        assertThat(r.out()).contains("dest=a\\xc3(\\xe2\\x80\\xff:443").doesNotContain("\ufffd").doesNotContain("Ã");
        assertThat(r.err()).contains("segment-000001.jsonl:5: not valid UTF-8; the invalid bytes are shown as \\xNN");
    }

    @Test
    void search_warningAboutABadLine_showsItsTextAsEscapes() throws Exception {
        Files.writeString(dir.resolve("segment-000001.jsonl"),
                "{\"seq\":5,\"time\":\"\\u001b]0;pwned\\u0007\",\"type\":\"x\",\"prev\":\"00\"}\n",
                StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        AuditCommandTest.Run r = run("audit", "search", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        TerminalAssertions.assertSafe(r.err());
        assertThat(r.err()).contains("found \"\\x1b]0;pwned\\x07\"");
    }

    /** Reads one JSON line. */
    static final class TestTrailJson {
        static com.fasterxml.jackson.databind.JsonNode read(String line) throws Exception {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(List.of(line.split("\n")).getFirst());
        }
    }
}
