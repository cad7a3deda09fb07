package org.postern.bench.tunnel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import org.postern.keys.Pem;

/**
 * For {@code bench/tunnel/run.sh} (not a test): N simulated laptops pushing bytes to a
 * {@link CountingSink} at once, for T seconds, through the gateway (each laptop its own
 * mutual-TLS HTTP/2 connection and device certificate, posture proven, K CONNECT streams:
 * {@link H2Laptop}) or through a local entry such as a stunnel client (each tunnel its own TCP
 * connection: {@link TcpLaptop}). All tunnels are opened and greeted by the sink first; then all
 * push from the same instant until the same deadline, half-close, and the sink's counts say
 * what arrived.
 *
 * <p>Prints one {@code result} line of {@code key=value} figures: aggregate Gbit/s (bytes the
 * sink counted, over the time from the start to the last count), per-laptop Mbit/s (min, median,
 * max), errors, and the CPU seconds over the push of each watched process and of this one
 * ({@code cpu_s.self}); then the first errors.
 */
public final class LaptopLoad {
    static final int CHUNK = 64 * 1024;
    /** Linux reports process times in USER_HZ ticks, 100 a second on every architecture Java runs on. */
    private static final double USER_HZ = 100.0;
    private static final long SETUP_SECONDS = 120;

    private LaptopLoad() {
    }

    public static void main(String[] args) throws Exception {
        LoadOptions o;
        try {
            o = LoadOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("LaptopLoad: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(run(o) ? 0 : 1);
    }

    /** A laptop and its ready tunnels, or why it is not ready. */
    private record Ready(Laptop laptop, List<PushHandler> tunnels, String error) {
    }

    static boolean run(LoadOptions o) throws Exception {
        byte[] random = new byte[CHUNK];
        new SecureRandom().nextBytes(random);
        ByteBuf chunk = Unpooled.unreleasableBuffer(Unpooled.directBuffer(CHUNK).writeBytes(random).asReadOnly());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(o.threads(), NioIoHandler.newFactory());
        ExecutorService setup = Executors.newFixedThreadPool(16);
        List<Ready> laptops = new ArrayList<>();
        try {
            X509Certificate root = o.path().equals("h2") ? Pem.readCertificate(o.laptopDir().resolve("root.pem")) : null;
            long s0 = System.nanoTime();
            List<Laptop> pending = new ArrayList<>();
            List<CompletableFuture<Ready>> opening = new ArrayList<>();
            for (int i = 1; i <= o.laptops(); i++) {
                Laptop laptop = laptop(o, String.format(Locale.ROOT, "laptop-%03d", i), group, chunk, root);
                pending.add(laptop);
                opening.add(CompletableFuture.supplyAsync(() -> open(laptop, o.streams()), setup));
            }
            long setupEnd = s0 + TimeUnit.SECONDS.toNanos(SETUP_SECONDS + 60);
            for (int i = 0; i < opening.size(); i++) {
                try {
                    laptops.add(opening.get(i).get(Math.max(0, setupEnd - System.nanoTime()), TimeUnit.NANOSECONDS));
                } catch (java.util.concurrent.TimeoutException e) {
                    laptops.add(new Ready(pending.get(i), List.of(), pending.get(i).name() + ": not ready within the set-up time"));
                }
            }
            double setupSeconds = (System.nanoTime() - s0) / 1e9;
            List<Ready> ok = laptops.stream().filter(r -> r.error() == null).toList();

            // the load client's own CPU too: on a shared machine it competes with what it measures
            Map<String, Long> watched = new LinkedHashMap<>(o.watch());
            watched.put("self", ProcessHandle.current().pid());
            Map<String, Long> cpu0 = ticks(watched);
            long t0 = System.nanoTime();
            long deadline = t0 + TimeUnit.SECONDS.toNanos(o.seconds());
            ok.forEach(r -> r.tunnels().forEach(t -> t.start(deadline)));
            List<CompletableFuture<PushHandler.Outcome>> all = ok.stream().flatMap(r -> r.tunnels().stream())
                    .map(PushHandler::outcome).toList();
            try {
                CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
                        .get(o.seconds() + PushHandler.COUNT_WAIT_SECONDS + 10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // each failed tunnel is reported below
            }
            Map<String, Long> cpu1 = ticks(watched);
            report(o, laptops, t0, setupSeconds, cpu0, cpu1);
            return !ok.isEmpty() && all.stream().anyMatch(f -> f.isDone() && !f.isCompletedExceptionally());
        } finally {
            laptops.forEach(r -> r.laptop().close());
            setup.shutdownNow();
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }

    private static Laptop laptop(LoadOptions o, String name, EventLoopGroup group, ByteBuf chunk, X509Certificate root)
            throws IOException {
        if (o.path().equals("tcp")) {
            return new TcpLaptop(name, group, o.entry(), chunk);
        }
        return new H2Laptop(name, group, o.entry(), LaptopIdentity.read(o.laptopDir(), name, root), o.to(), chunk);
    }

    /** Connects (and proves posture), opens the tunnels, and waits for the sink's greeting on each. */
    private static Ready open(Laptop laptop, int streams) {
        try {
            List<PushHandler> tunnels = laptop.open(streams);
            CompletableFuture.allOf(tunnels.stream().map(PushHandler::ready).toArray(CompletableFuture[]::new))
                    .get(SETUP_SECONDS, TimeUnit.SECONDS);
            return new Ready(laptop, tunnels, null);
        } catch (Exception e) {
            Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
            return new Ready(laptop, List.of(), laptop.name() + ": set-up failed: " + cause.getMessage());
        }
    }

    private static void report(LoadOptions o, List<Ready> laptops, long t0, double setupSeconds,
                               Map<String, Long> cpu0, Map<String, Long> cpu1) {
        List<String> errors = new ArrayList<>();
        List<Double> perLaptopMbps = new ArrayList<>();
        long delivered = 0;
        long sent = 0;
        long lastEnd = t0;
        int okTunnels = 0;
        for (Ready r : laptops) {
            if (r.error() != null) {
                errors.add(r.error());
                continue;
            }
            long mine = 0;
            long myEnd = t0;
            for (int i = 0; i < r.tunnels().size(); i++) {
                CompletableFuture<PushHandler.Outcome> f = r.tunnels().get(i).outcome();
                if (!f.isDone() || f.isCompletedExceptionally()) {
                    errors.add(r.laptop().name() + " tunnel " + (i + 1) + ": " + why(f));
                    continue;
                }
                PushHandler.Outcome out = f.join();
                okTunnels++;
                mine += out.delivered();
                sent += out.sent();
                myEnd = Math.max(myEnd, out.endNanos());
            }
            delivered += mine;
            lastEnd = Math.max(lastEnd, myEnd);
            if (myEnd > t0) {
                perLaptopMbps.add(mine * 8 / ((myEnd - t0) / 1e9) / 1e6);
            }
        }
        double seconds = (lastEnd - t0) / 1e9;
        Collections.sort(perLaptopMbps);
        StringBuilder line = new StringBuilder("result");
        line.append(" path=").append(o.path())
                .append(" laptops=").append(o.laptops())
                .append(" tunnels=").append(o.laptops() * o.streams())
                .append(" ok=").append(okTunnels)
                .append(" errors=").append(errors.size())
                .append(" setup_s=").append(fmt(setupSeconds))
                .append(" seconds=").append(fmt(seconds))
                .append(" sent_bytes=").append(sent)
                .append(" delivered_bytes=").append(delivered)
                .append(" gbps=").append(fmt(seconds > 0 ? delivered * 8 / seconds / 1e9 : 0))
                .append(" laptop_mbps_min=").append(perLaptopMbps.isEmpty() ? "n/a" : fmt(perLaptopMbps.getFirst()))
                .append(" laptop_mbps_median=").append(perLaptopMbps.isEmpty() ? "n/a" : fmt(median(perLaptopMbps)))
                .append(" laptop_mbps_max=").append(perLaptopMbps.isEmpty() ? "n/a" : fmt(perLaptopMbps.getLast()));
        for (String name : cpu0.keySet()) {
            Long a = cpu0.get(name);
            Long b = cpu1.get(name);
            line.append(" cpu_s.").append(name).append('=').append(a == null || b == null ? "n/a" : fmt((b - a) / USER_HZ));
        }
        System.out.println(line);
        errors.stream().limit(5).forEach(e -> System.out.println("error: " + e));
        if (errors.size() > 5) {
            System.out.println("error: … and " + (errors.size() - 5) + " more");
        }
    }

    private static String why(CompletableFuture<?> f) {
        if (!f.isDone()) {
            return "no outcome in time";
        }
        try {
            f.join();
            return "none";
        } catch (Exception e) {
            return e.getCause() != null ? e.getCause().getMessage() : e.toString();
        }
    }

    private static double median(List<Double> sorted) {
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    /** utime + stime of each process (fields 14 and 15 of /proc/PID/stat, after the command name). */
    static Map<String, Long> ticks(Map<String, Long> pids) {
        Map<String, Long> t = new LinkedHashMap<>();
        for (Map.Entry<String, Long> e : pids.entrySet()) {
            try {
                String stat = Files.readString(Path.of("/proc", e.getValue().toString(), "stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                t.put(e.getKey(), Long.parseLong(f[11]) + Long.parseLong(f[12]));
            } catch (IOException | RuntimeException ex) {
                t.put(e.getKey(), null);
            }
        }
        return t;
    }
}
