package org.postern.pki.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.pki.registry.Fixtures.enrolled;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Many threads, two registries and a second JVM on one file: nothing lost, nothing corrupt. */
class SqliteRegistryConcurrencyTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void twoRegistriesManyThreads_addAndEnroll_allRecorded() throws Exception {
        int threadsPerRegistry = 4;
        int devicesPerThread = 25;
        try (SqliteRegistry a = SqliteRegistry.open(dir, Fixtures.CLOCK);
                SqliteRegistry b = SqliteRegistry.open(dir, Fixtures.CLOCK);
                ExecutorService pool = Executors.newFixedThreadPool(2 * threadsPerRegistry)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Callable<Void>> jobs = new ArrayList<>();
            for (int t = 0; t < 2 * threadsPerRegistry; t++) {
                SqliteRegistry r = t % 2 == 0 ? a : b;
                int thread = t;
                jobs.add(() -> {
                    start.await(10, TimeUnit.SECONDS);
                    for (int i = 0; i < devicesPerThread; i++) {
                        enrolled(r, "t" + thread + "-d" + i, 1000L * (thread + 1) + i);
                        // readers run alongside the writers
                        assertThat(r.status(BigInteger.valueOf(1000L * (thread + 1) + i))).isInstanceOf(CertStatus.Good.class);
                    }
                    return null;
                });
            }
            List<Future<Void>> futures = jobs.stream().map(pool::submit).toList();
            start.countDown();
            for (Future<Void> f : futures) {
                f.get(90, TimeUnit.SECONDS);
            }
        }

        assertAllEnrolled(2 * threadsPerRegistry * devicesPerThread);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void secondProcess_writingAtTheSameTime_allRecorded() throws Exception {
        int perProcess = 100;
        String java = ProcessHandle.current().info().command().orElseThrow();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", classpath,
                RegistryWriterMain.class.getName(), dir.toString(), "child-", String.valueOf(perProcess), "500000")
                .redirectErrorStream(true)
                .start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread pump = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (java.io.IOException e) {
                lines.add("pump failed: " + e);
            }
        });
        try (SqliteRegistry parent = SqliteRegistry.open(dir, Fixtures.CLOCK)) {
            awaitLine(lines, "ready", child);
            for (int i = 0; i < perProcess; i++) {
                enrolled(parent, "parent-" + i, 1 + i);
            }
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).as("child finished within 60 s").isTrue();
            pump.join(5_000);
            assertThat(child.exitValue()).as("child exit status; output: %s", lines).isZero();
            assertThat(lines).contains("done");
        } finally {
            child.destroyForcibly();
        }

        assertAllEnrolled(2 * perProcess);
    }

    private static void awaitLine(BlockingQueue<String> lines, String expected, Process child) throws InterruptedException {
        List<String> seen = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (line != null) {
                seen.add(line);
                if (line.equals(expected)) {
                    lines.addAll(seen);
                    return;
                }
            } else if (!child.isAlive() && lines.isEmpty()) {
                break;
            }
        }
        throw new AssertionError("child did not print \"" + expected + "\" within 30 s; output: " + seen);
    }

    private void assertAllEnrolled(int expected) {
        try (SqliteRegistry r = SqliteRegistry.open(dir, Fixtures.CLOCK)) {
            assertThat(r.devices()).hasSize(expected).allSatisfy(d -> {
                assertThat(d.status()).isEqualTo(DeviceStatus.ACTIVE);
                assertThat(r.certificatesOf(d.id())).hasSize(1);
            });
        }
        Path db = dir.resolve("registry.db");
        assertThat(SqliteRegistryStorageTest.query(db, "PRAGMA integrity_check")).containsExactly("ok");
        assertThat(SqliteRegistryStorageTest.query(db, "PRAGMA foreign_key_check")).isEmpty();
        assertThat(SqliteRegistryStorageTest.query(db, "SELECT count(*) FROM certificates")).containsExactly(String.valueOf(expected));
    }
}
