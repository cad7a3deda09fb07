package org.postern.audit.trail;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.postern.audit.AuditEvent;

/** Child process of {@link AuditTrailCrashTest}: writes events from 8 threads, prints each seq once durable. */
public final class CrashChild {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        AuditKeys keys = AuditKeys.load(Path.of(args[1]));
        AuditTrail trail = new AuditTrail(dir, AuditTrailConfig.defaults("gw-crash").withMinFreeBytes(0)
                .withMaxSegmentBytes(256 * 1024).withCheckpointInterval(Duration.ofSeconds(1)).withTickEvery(Duration.ofMillis(100)), keys);
        System.out.println("ready");
        System.out.flush();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        for (int t = 0; t < 8; t++) {
            int thread = t;
            pool.submit(() -> {
                for (int i = 0; ; i++) {
                    long seq = trail.append(AuditEvent.of("flow.open", Instant.now()).with("flow", thread + "-" + i).with("destination", "admin-" + i + ".corp:22").build());
                    synchronized (System.out) {
                        System.out.println(seq);
                        System.out.flush();
                    }
                }
            });
        }
        Thread.sleep(Long.MAX_VALUE);
    }
}
