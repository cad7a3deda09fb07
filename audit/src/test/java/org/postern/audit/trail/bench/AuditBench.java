package org.postern.audit.trail.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import org.postern.audit.AuditEvent;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditTrailConfig;
import org.postern.audit.trail.AuditVerifier;

/**
 * Not a test: durable events/s and submit→durable latency with N concurrent writers, then verify
 * speed over the same trail. Usage: AuditBench DIR WRITERS SECONDS. Run by bench/audit/run.sh.
 */
public final class AuditBench {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int writers = Integer.parseInt(args[1]);
        long seconds = Long.parseLong(args[2]);
        AuditKeys keys = AuditKeys.generate(new SecureRandom());
        AuditTrailConfig config = AuditTrailConfig.defaults("gw-bench");
        AtomicLong count = new AtomicLong();
        long[][] latencies = new long[writers][];
        int[] used = new int[writers];
        try (AuditTrail trail = new AuditTrail(dir, config, keys)) {
            // warm-up
            for (int i = 0; i < 2000; i++) {
                trail.record(event(i));
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
            CountDownLatch done = new CountDownLatch(writers);
            long start = System.nanoTime();
            for (int w = 0; w < writers; w++) {
                int me = w;
                latencies[me] = new long[1 << 16];
                Thread.ofPlatform().start(() -> {
                    int i = 0;
                    while (System.nanoTime() < deadline) {
                        long t0 = System.nanoTime();
                        trail.record(event(i));
                        long t = System.nanoTime() - t0;
                        if (i < latencies[me].length) {
                            latencies[me][i] = t;
                        }
                        i++;
                    }
                    used[me] = Math.min(i, latencies[me].length);
                    count.addAndGet(i);
                    done.countDown();
                });
            }
            done.await();
            double elapsed = (System.nanoTime() - start) / 1e9;
            long[] all = new long[Arrays.stream(used).sum()];
            int k = 0;
            for (int w = 0; w < writers; w++) {
                System.arraycopy(latencies[w], 0, all, k, used[w]);
                k += used[w];
            }
            Arrays.sort(all);
            System.out.printf("write.durable writers=%d events=%d events_per_second=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f%n",
                    writers, count.get(), count.get() / elapsed, all[all.length / 2] / 1e6, all[(int) (all.length * 0.99)] / 1e6, all[all.length - 1] / 1e6);
        }
        long bytes;
        try (var s = Files.list(dir)) {
            bytes = s.mapToLong(p -> p.toFile().length()).sum();
        }
        for (int i = 0; i < 3; i++) {
            AuditVerifier.verify(dir, keys.publicKey(), true); // warm-up (JIT)
        }
        long t0 = System.nanoTime();
        var result = AuditVerifier.verify(dir, keys.publicKey(), true);
        double sec = (System.nanoTime() - t0) / 1e9;
        System.out.printf("verify records=%d segments=%d bytes=%d ok=%s records_per_second=%.0f%n",
                result.records(), result.segments(), bytes, result.ok(), result.records() / sec);
    }

    private static AuditEvent event(int i) {
        return AuditEvent.of("flow.close", Instant.now()).with("session", "s-" + (i % 1000)).with("device", "laptop-" + (i % 300))
                .with("user", "user" + (i % 100)).with("destination", "admin-" + (i % 20) + ".corp:22")
                .with("bytesUp", 1234L + i).with("bytesDown", 98765L + i).with("durationMs", 1500 + i % 7).build();
    }
}
