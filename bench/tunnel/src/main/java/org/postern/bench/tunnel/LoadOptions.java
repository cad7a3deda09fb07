package org.postern.bench.tunnel;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@link LaptopLoad}'s command line, checked all together before anything starts.
 *
 * @param path      {@code h2}: each laptop its own mutual-TLS HTTP/2 connection to the gateway;
 *                  {@code tcp}: each tunnel a plain TCP connection to {@code entry}
 * @param entry     the gateway (h2) or the local entry, e.g. a stunnel client service (tcp)
 * @param laptopDir h2: where {@code laptop-NNN.crt}/{@code .key} and {@code root.pem} are
 * @param to        h2: the destination each CONNECT names (the {@link CountingSink})
 * @param watch     processes whose CPU time is measured over the push, by name
 */
record LoadOptions(String path, InetSocketAddress entry, Path laptopDir, String to, int laptops, int streams,
                   int seconds, int threads, Map<String, Long> watch) {
    static final String USAGE = """
            usage: LaptopLoad h2 --gateway HOST:PORT --laptops DIR --to HOST:PORT [common]
                   LaptopLoad tcp --entry HOST:PORT [common]
            common: --count N (laptops, 1..1000) --streams K (per laptop, 1..64) --seconds T (1..600)
                    [--threads N (event loops)] [--watch NAME=PID ...]""";

    static LoadOptions parse(String[] args) {
        if (args.length == 0 || !(args[0].equals("h2") || args[0].equals("tcp"))) {
            throw new IllegalArgumentException("expected the path h2 or tcp first, found "
                    + (args.length == 0 ? "nothing" : args[0]) + "\n" + USAGE);
        }
        String path = args[0];
        Map<String, String> o = new LinkedHashMap<>();
        Map<String, Long> watch = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --OPTION VALUE, found " + args[i] + "\n" + USAGE);
            }
            if (args[i].equals("--watch")) {
                String[] kv = args[i + 1].split("=", 2);
                if (kv.length != 2 || !kv[1].matches("[0-9]+")) {
                    throw new IllegalArgumentException("--watch: expected NAME=PID, found " + args[i + 1]);
                }
                watch.put(kv[0], Long.parseLong(kv[1]));
            } else {
                o.put(args[i].substring(2), args[i + 1]);
            }
        }
        boolean h2 = path.equals("h2");
        InetSocketAddress entry = address(h2 ? "gateway" : "entry", required(o, h2 ? "gateway" : "entry"));
        Path dir = h2 ? Path.of(required(o, "laptops")) : null;
        String to = h2 ? required(o, "to") : null;
        if (to != null) {
            address("to", to);
        }
        LoadOptions parsed = new LoadOptions(path, entry, dir, to, count(o, "count", 1, 1000, null),
                count(o, "streams", 1, 64, "1"), count(o, "seconds", 1, 600, null),
                count(o, "threads", 1, 64, String.valueOf(Runtime.getRuntime().availableProcessors())), watch);
        o.keySet().removeAll(java.util.Set.of("gateway", "entry", "laptops", "to", "count", "streams", "seconds", "threads"));
        if (!o.isEmpty()) {
            throw new IllegalArgumentException("unknown options for path " + path + ": " + o.keySet() + "\n" + USAGE);
        }
        return parsed;
    }

    private static String required(Map<String, String> o, String name) {
        String v = o.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required\n" + USAGE);
        }
        return v;
    }

    private static int count(Map<String, String> o, String name, int min, int max, String fallback) {
        String v = o.getOrDefault(name, fallback);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required\n" + USAGE);
        }
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--" + name + ": expected a whole number from " + min + " to " + max + ", found " + v);
    }

    private static InetSocketAddress address(String name, String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        try {
            if (colon > 0) {
                return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        throw new IllegalArgumentException("--" + name + ": expected HOST:PORT, found " + hostPort);
    }
}
