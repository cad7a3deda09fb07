package org.postern.cli.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.AuditEvent;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditTrailConfig;
import org.postern.cli.PosternCliIT;

/** {@code postern audit pubkey} and {@code verify} on a trail the real writer produced, then tampered with. */
class AuditVerifyCliIT {
    @TempDir
    Path tmp;

    @Test
    void verify_intactTrail_isOk_andAFlippedByteIsNamed() throws Exception {
        Path dir = tmp.resolve("trail");
        Path keyFile = tmp.resolve("audit.key");
        AuditKeys keys = AuditKeys.loadOrCreate(keyFile, new SecureRandom());
        try (AuditTrail trail = new AuditTrail(dir, AuditTrailConfig.defaults("gw-test"), keys)) {
            for (int i = 0; i < 20; i++) {
                trail.record(AuditEvent.of("session.start", Instant.now()).with("device", "laptop-" + i).with("user", "alice").build());
            }
        }
        PosternCliIT.Run pub = PosternCliIT.run("audit", "pubkey", keyFile.toString());
        assertThat(pub.code()).as(pub.err()).isZero();
        assertThat(pub.out()).startsWith("-----BEGIN PUBLIC KEY-----");
        Path pubFile = Files.writeString(tmp.resolve("audit.pub"), pub.out());

        PosternCliIT.Run ok = PosternCliIT.run("audit", "verify", dir.toString(), "--pubkey", pubFile.toString());
        assertThat(ok.code()).as(ok.out() + ok.err()).isZero();
        assertThat(ok.out()).contains("OK: 21 records in 1 segments, 1 checkpoints");
        // audit.pub found next to the trail without --pubkey
        assertThat(PosternCliIT.run("audit", "verify", dir.toString()).code()).isZero();

        Path segment = dir.resolve("segment-000001.jsonl");
        List<String> lines = Files.readAllLines(segment, StandardCharsets.UTF_8);
        lines.set(4, lines.get(4).replace("laptop-4", "laptop-X"));
        Files.write(segment, lines, StandardCharsets.UTF_8);
        PosternCliIT.Run broken = PosternCliIT.run("audit", "verify", dir.toString(), "--pubkey", pubFile.toString());
        assertThat(broken.code()).isEqualTo(1);
        assertThat(broken.err()).contains("BROKEN: edited at segment-000001.jsonl:");
    }

    @Test
    void verify_withoutKeyOrDirectory_isAUsageError() {
        PosternCliIT.Run none = PosternCliIT.run("audit", "verify", tmp.resolve("nothing").toString());
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).contains("expected DIR to be an audit trail directory, found nothing");
    }
}
