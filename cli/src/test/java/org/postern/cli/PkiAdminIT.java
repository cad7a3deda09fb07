package org.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.cli.PosternCliIT.concat;
import static org.postern.cli.PosternCliIT.run;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.cli.PosternCliIT.Run;

/**
 * Issue 11 item 18: {@code pki issue-admin} refuses to overwrite an admin's files, {@code pki admin list|revoke}
 * show and revoke admin certificates (registry, CRL, audit), and {@code pki device update} changes a device's
 * owner and groups, audited with the old and new values. Bad input is refused with a message naming it.
 */
class PkiAdminIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    Path data;
    String[] dir;
    String[] unlock;

    @BeforeEach
    void setUp() throws Exception {
        data = tmp.resolve("data");
        Path pass = Files.writeString(tmp.resolve("pass.txt"), "correct horse battery staple\n");
        dir = new String[] {"--dir", data.toString()};
        unlock = new String[] {"--dir", data.toString(), "--passphrase-file", pass.toString()};
        ok(run(concat(new String[] {"pki", "init"}, unlock)));
    }

    private static Run ok(Run r) {
        assertThat(r.code()).as(r.err()).isZero();
        return r;
    }

    private static Run fails(int code, Run r) {
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(code);
        assertThat(r.err()).as("one line, no stack trace").hasLineCount(1).doesNotContain("\tat ");
        return r;
    }

    private JsonNode admins() throws Exception {
        return JSON.readTree(ok(run(concat(new String[] {"pki", "admin", "list", "--json"}, dir))).out());
    }

    @Test
    void issueAdmin_filesExist_refusesNamingTheFile_andKeepsThem() throws Exception {
        ok(run(concat(new String[] {"pki", "issue-admin", "--name", "ops", "--role", "security-admin"}, unlock)));
        Path crt = data.resolve("admin/ops.crt");
        String before = Files.readString(crt);
        Run again = fails(1, run(concat(new String[] {"pki", "issue-admin", "--name", "ops", "--role", "auditor"}, unlock)));
        assertThat(again.err()).isEqualTo("postern: " + crt + " already exists; refusing to overwrite it (the certificate in it"
                + " stays valid until revoked: postern pki admin revoke ops --reason superseded, then move the files away"
                + " and issue again)\n");
        assertThat(Files.readString(crt)).isEqualTo(before);
        assertThat(admins()).hasSize(1); // nothing was issued

        // only the key left behind (the certificate moved away) is refused too
        Files.move(crt, tmp.resolve("ops.crt.old"));
        assertThat(fails(1, run(concat(new String[] {"pki", "issue-admin", "--name", "ops", "--role", "auditor"}, unlock))).err())
                .contains(data.resolve("admin/ops.key") + " already exists");
        fails(2, run(concat(new String[] {"pki", "issue-admin", "--name", "../ops", "--role", "auditor"}, unlock)));
    }

    @Test
    void adminListAndRevoke_revokesInRegistryAndCrl_andAudits() throws Exception {
        ok(run(concat(new String[] {"pki", "issue-admin", "--name", "ops", "--role", "security-admin"}, unlock)));
        ok(run(concat(new String[] {"pki", "issue-admin", "--name", "eve", "--role", "auditor"}, unlock)));
        JsonNode list = admins();
        assertThat(list).hasSize(2);
        assertThat(list.get(0).get("name").asText()).isEqualTo("ops");
        assertThat(list.get(0).get("role").asText()).isEqualTo("security-admin");
        assertThat(list.get(0).get("status").asText()).isEqualTo("good");
        assertThat(list.get(1).get("role").asText()).isEqualTo("auditor");
        String opsSerial = list.get(0).get("serial").asText();
        Run table = ok(run(concat(new String[] {"pki", "admin", "list"}, dir)));
        assertThat(table.out()).startsWith("SERIAL").contains(opsSerial).containsPattern("ops +security-admin +20\\d\\d-.*good");

        Run revoked = ok(run(concat(new String[] {"pki", "admin", "revoke", "ops", "--reason", "retired"}, unlock)));
        assertThat(revoked.out()).contains("Revoked admin certificate " + opsSerial + " of ops (security-admin): revoked (retired) at ")
                .contains("CRL re-signed.");
        list = admins();
        assertThat(list.get(0).get("status").asText()).isEqualTo("revoked");
        assertThat(list.get(0).get("revocationReason").asText()).isEqualTo("retired");
        assertThat(list.get(1).get("status").asText()).isEqualTo("good");
        assertThat(ok(run(concat(new String[] {"pki", "admin", "list"}, dir))).out()).contains("revoked (retired) at ");

        // the re-signed CRL lists it, read by openssl
        Path crl = tmp.resolve("crl.der");
        ok(run(concat(new String[] {"pki", "crl", "--out", crl.toString()}, dir)));
        Process p = new ProcessBuilder(List.of("openssl", "crl", "-inform", "DER", "-in", crl.toString(), "-noout", "-text"))
                .redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(text.replace(":", "").toLowerCase()).contains("serial number " + opsSerial.toLowerCase());

        String trail = pkiTrail();
        assertThat(trail).contains("\"type\":\"pki.admin.revoke\"").contains("\"user\":\"ops\"").contains("\"role\":\"security-admin\"")
                .contains("\"certSerial\":\"" + opsSerial + "\"").contains("\"reason\":\"retired\"");

        // by serial; then every bad input, each a one-line refusal naming it
        String eveSerial = list.get(1).get("serial").asText();
        ok(run(concat(new String[] {"pki", "admin", "revoke", "--serial", eveSerial, "--reason", "keyCompromise"}, unlock)));
        assertThat(fails(1, run(concat(new String[] {"pki", "admin", "revoke", "--serial", eveSerial, "--reason", "retired"}, unlock)))
                .err()).contains("certificate " + eveSerial + " (").contains("is already revoked since");
        assertThat(fails(1, run(concat(new String[] {"pki", "admin", "revoke", "ops", "--reason", "retired"}, unlock))).err())
                .isEqualTo("postern: no unrevoked admin certificate named \"ops\" (see postern pki admin list)\n");
        assertThat(fails(1, run(concat(new String[] {"pki", "admin", "revoke", "nobody", "--reason", "retired"}, unlock))).err())
                .contains("no unrevoked admin certificate named \"nobody\"");
        assertThat(fails(1, run(concat(new String[] {"pki", "admin", "revoke", "--serial", "abc123", "--reason", "retired"}, unlock)))
                .err()).contains("no certificate with serial abc123 in the registry");
        assertThat(fails(2, run(concat(new String[] {"pki", "admin", "revoke", "--serial", "xyz", "--reason", "retired"}, unlock)))
                .err()).contains("--serial: expected a hex serial like 5f3a9c").contains("found \"xyz\"");
        assertThat(fails(2, run(concat(new String[] {"pki", "admin", "revoke", "eve", "--reason", "stolen"}, unlock))).err())
                .contains("--reason: expected keyCompromise|lost|retired|superseded, found \"stolen\"");
        assertThat(run(concat(new String[] {"pki", "admin", "revoke", "--reason", "retired"}, unlock)).code()).isEqualTo(2);
        ok(run(concat(new String[] {"pki", "issue-server", "--ip", "127.0.0.1"}, unlock)));
        String server = Files.readString(data.resolve("server/127.0.0.1.crt"));
        String serverSerial = org.postern.keys.Pem.readCertificate(data.resolve("server/127.0.0.1.crt")).getSerialNumber().toString(16);
        assertThat(server).isNotEmpty();
        assertThat(fails(1, run(concat(new String[] {"pki", "admin", "revoke", "--serial", serverSerial, "--reason", "retired"}, unlock)))
                .err()).contains("certificate " + serverSerial + " is a server certificate").contains("not an admin certificate");
    }

    @Test
    void deviceUpdate_changesOwnerAndGroups_auditedWithOldAndNew() throws Exception {
        ok(run(concat(new String[] {"pki", "device", "add", "laptop-1", "--owner", "alice", "--groups", "admins,dba"}, dir)));
        Run owner = ok(run(concat(new String[] {"pki", "device", "update", "laptop-1", "--owner", "bob"}, dir)));
        assertThat(owner.out()).isEqualTo("Updated laptop-1: owner alice -> bob, groups admins,dba (unchanged).\n");
        Run groups = ok(run(concat(new String[] {"pki", "device", "update", "laptop-1", "--groups", "ops"}, dir)));
        assertThat(groups.out()).isEqualTo("Updated laptop-1: owner bob (unchanged), groups admins,dba -> ops.\n");
        JsonNode shown = JSON.readTree(ok(run(concat(new String[] {"pki", "device", "show", "laptop-1", "--json"}, dir))).out());
        assertThat(shown.get("owner").asText()).isEqualTo("bob");
        assertThat(shown.get("groups").toString()).isEqualTo("[\"ops\"]");
        assertThat(ok(run(concat(new String[] {"pki", "device", "update", "laptop-1", "--groups", ""}, dir))).out())
                .contains("groups ops -> (none)");

        List<JsonNode> updates = pkiTrail().lines().map(PkiAdminIT::json).filter(r -> r.get("type").asText().equals("pki.device.update")).toList();
        assertThat(updates).hasSize(3);
        assertThat(updates.get(0).get("previousOwner").asText()).isEqualTo("alice");
        assertThat(updates.get(0).get("user").asText()).isEqualTo("bob");
        assertThat(updates.get(1).get("previousGroups").toString()).isEqualTo("[\"admins\",\"dba\"]");
        assertThat(updates.get(1).get("groups").toString()).isEqualTo("[\"ops\"]");
        assertThat(updates.get(0).get("actor").asText()).startsWith("cli:");

        // bad input: each a one-line refusal naming what was expected and found; nothing changes
        assertThat(fails(1, run(concat(new String[] {"pki", "device", "update", "laptop-9", "--owner", "bob"}, dir))).err())
                .isEqualTo("postern: no device laptop-9 in the registry (see postern pki device list)\n");
        assertThat(fails(2, run(concat(new String[] {"pki", "device", "update", "laptop-1", "--groups", "ops,bad group"}, dir))).err())
                .contains("device group: expected letters, digits, '.', '_', '@' or '-', found \"bad group\"");
        assertThat(fails(2, run(concat(new String[] {"pki", "device", "update", "laptop-1", "--groups", "ops,"}, dir))).err())
                .contains("device group: expected letters, digits").contains("found \"\"");
        assertThat(fails(2, run(concat(new String[] {"pki", "device", "update", "laptop-1", "--owner", "al ice"}, dir))).err())
                .contains("device owner: expected a user name").contains("found \"al ice\"");
        assertThat(fails(2, run(concat(new String[] {"pki", "device", "update", "laptop-1"}, dir))).err())
                .contains("expected --owner USER, --groups G1,G2 or both, found neither");
        assertThat(fails(2, run(concat(new String[] {"pki", "device", "update", "../etc", "--owner", "bob"}, dir))).err())
                .contains("device id: expected 1-63 letters");
        ok(run(concat(new String[] {"pki", "device", "revoke", "laptop-1", "--reason", "retired"}, unlock)));
        assertThat(fails(1, run(concat(new String[] {"pki", "device", "update", "laptop-1", "--owner", "carol"}, dir))).err())
                .contains("device laptop-1 is revoked; its owner and groups stay as they were");
        assertThat(JSON.readTree(ok(run(concat(new String[] {"pki", "device", "show", "laptop-1", "--json"}, dir))).out())
                .get("owner").asText()).isEqualTo("bob");
        assertThat(pkiTrail().lines().filter(l -> l.contains("\"pki.device.update\"")).count()).isEqualTo(3);
    }

    private static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + line, e);
        }
    }

    private String pkiTrail() throws java.io.IOException {
        StringBuilder b = new StringBuilder();
        try (var files = Files.list(data.resolve("audit/pki"))) {
            for (var f : files.filter(f -> f.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                b.append(Files.readString(f));
            }
        }
        return b.toString();
    }
}
