package org.postern.audit.trail;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link AuditVerifier#verify} on arbitrary bytes as a trail segment, twice per input: as the
 * whole segment, and appended to a genuine segment written at start-up (a torn or tampered
 * tail). The verifier answers with findings and never throws on content; what it calls sound
 * (strict mode) is never more than the genuine records: the fuzzer cannot extend a hash chain
 * sealed by a signed checkpoint. Corpus: {@code AuditVerifierFuzzTestInputs/verify}.
 */
class AuditVerifierFuzzTest {

    private static final String SEGMENT = "segment-000001.jsonl";

    private static Path alone;
    private static Path extended;
    private static byte[] genuine;
    private static long genuineRecords;

    @BeforeAll
    static void genuineTrail() throws Exception {
        TrailFixture fx = new TrailFixture();
        Path original = Files.createTempDirectory("audit-fuzz-genuine");
        try (AuditTrail trail = fx.open(original, TrailFixture.config())) {
            for (int i = 0; i < 3; i++) {
                trail.record(fx.event(i));
            }
            fx.clock.advance(Duration.ofSeconds(61));
            trail.tick();
        }
        genuine = Files.readAllBytes(original.resolve(SEGMENT));
        AuditVerifier.Result sound = AuditVerifier.verify(original, TrailFixture.KEYS.publicKey(), true);
        assertThat(sound.ok()).as("the genuine trail verifies: %s", sound.problem()).isTrue();
        genuineRecords = sound.records();
        alone = Files.createTempDirectory("audit-fuzz-alone");
        extended = Files.createTempDirectory("audit-fuzz-extended");
    }

    @FuzzTest
    void verify(byte[] input) throws Exception {
        Files.write(alone.resolve(SEGMENT), input);
        for (boolean strict : new boolean[] {true, false}) {
            AuditVerifier.Result r = AuditVerifier.verify(alone, TrailFixture.KEYS.publicKey(), strict);
            if (strict && r.ok()) {
                assertThat(r.records()).as("records accepted from bytes nobody signed").isZero();
            }
        }

        byte[] tail = new byte[genuine.length + input.length];
        System.arraycopy(genuine, 0, tail, 0, genuine.length);
        System.arraycopy(input, 0, tail, genuine.length, input.length);
        Files.write(extended.resolve(SEGMENT), tail);
        AuditVerifier.Result r = AuditVerifier.verify(extended, TrailFixture.KEYS.publicKey(), true);
        if (r.ok()) {
            assertThat(r.records()).as("records accepted beyond the signed checkpoint").isEqualTo(genuineRecords);
        }
        AuditVerifier.verify(extended, TrailFixture.KEYS.publicKey(), false);
    }
}
