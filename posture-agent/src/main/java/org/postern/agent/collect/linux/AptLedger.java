package org.postern.agent.collect.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.jspecify.annotations.Nullable;

/**
 * What the agent remembers of pending apt security updates, in its own directory
 * ({@code apt-pending.json}). It answers two things apt cannot:
 * <ul>
 *   <li><b>Since when.</b> apt records no date for an available update, so the ledger notes when
 *       the agent first saw each package pending; the oldest of those still pending is
 *       {@code oldestPendingSince}. It is a lower bound on the true age: an update the agent has
 *       not seen yet counts from the first check that sees it.</li>
 *   <li><b>Whether anything changed.</b> The pending set depends only on the package lists and
 *       the installed packages. While neither {@code /var/lib/dpkg/status} nor
 *       {@code /var/lib/apt/lists/} has changed, the last simulation's answer stands and the slow
 *       {@code apt-get -s dist-upgrade} (seconds) is not run again.</li>
 * </ul>
 * A ledger that cannot be read or written is ignored (apt runs, the age stays unknown): it never
 * turns into a pass.
 */
final class AptLedger {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final RootFs fs;
    private final Clock clock;

    AptLedger(Path file, RootFs fs, Clock clock) {
        this.file = file;
        this.fs = fs;
        this.clock = clock;
    }

    /** The last answer, if the package state has not changed since. */
    record Known(int count, Instant oldestSince) {}

    /** A fingerprint of the package state: dpkg's status file and the newest package list. */
    String stateKey() throws IOException {
        Path status = fs.resolve("var/lib/dpkg/status");
        Path lists = fs.resolve("var/lib/apt/lists");
        long newest = 0;
        if (Files.isDirectory(lists)) {
            try (Stream<Path> s = Files.list(lists)) {
                newest = s.mapToLong(p -> {
                    try {
                        return Files.getLastModifiedTime(p).toMillis();
                    } catch (IOException e) {
                        return 0;
                    }
                }).max().orElse(0);
            }
        }
        String dpkg = Files.exists(status) ? Files.getLastModifiedTime(status).toMillis() + ":" + Files.size(status) : "none";
        return "dpkg=" + dpkg + ";lists=" + newest;
    }

    Optional<Known> known(String key) {
        JsonNode n = load();
        if (n == null || !key.equals(n.path("key").asText())) {
            return Optional.empty();
        }
        return Optional.of(new Known(n.path("count").asInt(), oldest(n.path("firstSeen"))));
    }

    /** Records the packages pending now; returns since when the oldest of them has been seen pending. */
    Instant record(String key, List<String> pending) throws IOException {
        JsonNode old = load();
        Map<String, Long> firstSeen = new LinkedHashMap<>();
        long now = clock.instant().getEpochSecond();
        for (String pkg : pending) {
            long seen = old == null ? 0 : old.path("firstSeen").path(pkg).asLong(0);
            firstSeen.put(pkg, seen > 0 ? seen : now);
        }
        ObjectNode n = JSON.createObjectNode();
        n.put("key", key);
        n.put("count", pending.size());
        ObjectNode seen = n.putObject("firstSeen");
        firstSeen.forEach(seen::put);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".apt-pending", ".tmp");
        try {
            JSON.writeValue(tmp.toFile(), n);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return oldest(seen);
    }

    private @Nullable JsonNode load() {
        try {
            return Files.exists(file) ? JSON.readTree(file.toFile()) : null;
        } catch (IOException e) {
            return null; // a damaged ledger is rebuilt from the next simulation
        }
    }

    private static Instant oldest(JsonNode firstSeen) {
        long min = Long.MAX_VALUE;
        for (JsonNode v : firstSeen) {
            if (v.asLong(0) > 0) {
                min = Math.min(min, v.asLong());
            }
        }
        return min == Long.MAX_VALUE ? null : Instant.ofEpochSecond(min);
    }
}
