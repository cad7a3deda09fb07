package org.postern.bench;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

import org.postern.config.RegistrySettings;
import org.postern.gateway.tls.LiveRevocations;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.EnrollmentToken;
import org.postern.pki.registry.Registries;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.registry.SqliteRegistry;
import org.postern.pki.testing.TestPostgres;
import org.postern.config.Secret;

/**
 * Issue 14's registry figures, one PostgreSQL started here (Debian's binaries, as the tests start
 * it), printed as {@code name key=value} lines for bench/cluster/run.sh:
 * <ul>
 *   <li>{@code registry DIR N OCSP_SECONDS}: PkiBench's issuance and OCSP runs on SQLite and on
 *       PostgreSQL, the same code, the same machine, one after the other;</li>
 *   <li>{@code propagation DIR N}: a revocation committed through one registry connection pool
 *       (gateway A's) until the revocation view of another (gateway B's {@link LiveRevocations},
 *       the check every handshake asks and the trigger that closes the device's sessions) announces
 *       the device barred; with LISTEN/NOTIFY and with the 200 ms poll alone.</li>
 * </ul>
 */
public final class ClusterBench {
    private static final Clock CLOCK = Clock.systemUTC();

    private ClusterBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        Files.createDirectories(dir);
        try (TestPostgres pg = TestPostgres.start(dir.resolve("pg"))) {
            RegistrySettings shared = settings(pg);
            switch (args[0]) {
                case "registry" -> registry(dir, shared, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
                case "propagation" -> propagation(shared, Integer.parseInt(args[2]));
                default -> throw new IllegalArgumentException("expected registry or propagation, found " + args[0]);
            }
        }
    }

    static RegistrySettings settings(TestPostgres pg) {
        String database = pg.url().substring(pg.url().lastIndexOf('/') + 1);
        return new RegistrySettings(new RegistrySettings.Postgres("127.0.0.1", pg.port(), database, pg.user(),
                Secret.of(pg.password()), null, false), RegistrySettings.DEFAULT_MAX_STALE, RegistrySettings.DEFAULT_POOL_SIZE);
    }

    private static void registry(Path dir, RegistrySettings shared, int n, int ocspSeconds) throws Exception {
        for (String store : List.of("sqlite", "postgresql")) {
            Path data = Files.createDirectories(dir.resolve(store));
            try (Registry registry = store.equals("sqlite") ? SqliteRegistry.open(data, CLOCK)
                    : Registries.open(shared, data, CLOCK)) {
                System.out.println("registry." + store + " begin");
                PkiBench.enroll(data, n, registry);
                PkiBench.ocsp(data, ocspSeconds, registry);
                System.out.println("registry." + store + " end");
            }
        }
    }

    private static void propagation(RegistrySettings shared, int n) throws Exception {
        try (Registry a = Registries.open(shared, Path.of("."), CLOCK); Registry b = Registries.open(shared, Path.of("."), CLOCK)) {
            for (boolean notify : new boolean[] {true, false}) {
                Registry viewed = notify ? b : withoutNotifications(b);
                Map<String, Long> barredAt = new ConcurrentHashMap<>();
                List<Long> micros = new ArrayList<>(n);
                try (LiveRevocations view = LiveRevocations.start(viewed, CLOCK, LiveRevocations.DEFAULT_POLL,
                        RegistrySettings.DEFAULT_MAX_STALE)) {
                    view.onBarred((device, why) -> barredAt.putIfAbsent(device, System.nanoTime()));
                    String prefix = (notify ? "notify-" : "poll-") + System.nanoTime() + "-";
                    for (int i = 0; i < n; i++) {
                        String id = prefix + i;
                        Instant now = CLOCK.instant();
                        a.addDevice(new Device(id, "bench", List.of(), DeviceStatus.PENDING, null, now, null, null, null),
                                new EnrollmentToken(id, id, now, now.plus(Duration.ofDays(1)), null));
                        a.completeEnrollment(id, PkiBench.record(id, new BigInteger(64, ThreadLocalRandom.current()).setBit(63), now), now);
                        // revoke at a random point of the poll interval, as an operator would
                        Thread.sleep(ThreadLocalRandom.current().nextLong(50, 400));
                        long t0 = System.nanoTime();
                        a.revokeDevice(id, RevocationReason.keyCompromise, CLOCK.instant());
                        long deadline = t0 + Duration.ofSeconds(10).toNanos();
                        while (!barredAt.containsKey(id) && System.nanoTime() < deadline) {
                            Thread.sleep(1);
                        }
                        Long at = barredAt.get(id);
                        if (at == null) {
                            throw new AssertionError("gateway B's view never announced " + id + " barred within 10 s");
                        }
                        micros.add((at - t0) / 1_000);
                    }
                }
                Collections.sort(micros);
                System.out.printf("propagation.%s n=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f%n", notify ? "notify" : "poll",
                        n, micros.get(n / 2) / 1e3, micros.get(Math.min(n - 1, (int) Math.ceil(n * 0.99) - 1)) / 1e3,
                        micros.get(n - 1) / 1e3);
            }
        }
    }

    /** {@code registry} with {@link Registry#onChange} left at its default: the view learns by polling only. */
    private static Registry withoutNotifications(Registry registry) {
        return (Registry) Proxy.newProxyInstance(Registry.class.getClassLoader(), new Class<?>[] {Registry.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("onChange")) {
                        AutoCloseable none = () -> { };
                        return none;
                    }
                    return invoke(registry, method, args);
                });
    }

    private static Object invoke(Registry target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
