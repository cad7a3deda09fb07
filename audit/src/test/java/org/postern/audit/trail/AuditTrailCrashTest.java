package org.postern.audit.trail;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SIGKILL a child process that writes the trail: nothing it acknowledged is lost, and the trail verifies. */
class AuditTrailCrashTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void sigkill_atRandomMoments_losesNoAcknowledgedRecordAndTheTrailVerifies() throws Exception {
        Path dir = tmp.resolve("audit");
        Path keyFile = tmp.resolve("audit.key");
        AuditKeys keys = AuditKeys.loadOrCreate(keyFile, new SecureRandom());
        Set<Long> acknowledged = new HashSet<>();
        for (int round = 0; round < 4; round++) {
            List<String> command = List.of(ProcessHandle.current().info().command().orElseThrow(),
                    "-cp", System.getProperty("java.class.path"), CrashChild.class.getName(), dir.toString(), keyFile.toString());
            Process child = new ProcessBuilder(command).redirectError(tmp.resolve("child-" + round + ".err").toFile()).start();
            CountDownLatch ready = new CountDownLatch(1);
            Set<Long> acks = java.util.concurrent.ConcurrentHashMap.newKeySet();
            Thread reader = Thread.ofPlatform().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        if (!line.equals("ready")) {
                            acks.add(Long.parseLong(line));
                            ready.countDown(); // writing for real: from here on, any moment is fair
                        }
                    }
                } catch (Exception e) {
                    // the child died mid-line: that ack is simply not counted
                }
            });
            assertThat(ready.await(30, TimeUnit.SECONDS))
                    .withFailMessage("the child JVM did not start writing within 30 s of starting: %s", Files.readString(tmp.resolve("child-" + round + ".err"))).isTrue();
            long delay = ThreadLocalRandom.current().nextLong(0, 500);
            assertThat(child.waitFor(delay, TimeUnit.MILLISECONDS))
                    .withFailMessage("round %d: the child exited early: %s", round, Files.readString(tmp.resolve("child-" + round + ".err"))).isFalse();
            child.destroyForcibly();
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            reader.join(10_000);
            assertThat(acks).withFailMessage("round %d: the child acknowledged nothing in %d ms", round, delay).isNotEmpty();
            acknowledged.addAll(acks);

            // Reopen as the gateway would after the crash (a torn tail is moved aside), then check.
            new AuditTrail(dir, AuditTrailConfig.defaults("gw-crash").withMinFreeBytes(0).withTickEvery(java.time.Duration.ZERO), keys).close();
            Set<Long> present = seqsIn(dir);
            assertThat(present).containsAll(acknowledged);
            var result = AuditVerifier.verify(dir, keys.publicKey(), false);
            assertThat(result.problem()).withFailMessage("round %d: %s", round, result.problem()).isNull();
            assertThat(result.unsealed()).isZero();
        }
    }

    private static Set<Long> seqsIn(Path dir) throws Exception {
        Set<Long> seqs = new HashSet<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(f -> f.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).toList()) {
                for (String line : Files.readAllLines(p)) {
                    seqs.add(JSON.readTree(line).path("seq").asLong());
                }
            }
        }
        return seqs;
    }
}
