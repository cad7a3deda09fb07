package org.postern.agent.collect.linux;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The machine's file system seen from a root: {@code /} in production, a fixture tree in tests.
 * Paths are given as the machine knows them ({@code "proc/self/mountinfo"}, no leading slash) and
 * shown in messages the same way ({@code /proc/self/mountinfo}), never as the fixture path.
 * Reads are bounded: the files read here are small, and a huge one is a sign of something wrong.
 */
final class RootFs {
    static final int MAX_BYTES = 8 * 1024 * 1024;

    private final Path root;

    RootFs(Path root) {
        this.root = root;
    }

    Path resolve(String path) {
        return root.resolve(strip(path));
    }

    /** How a message names the file: the path on the machine, not under the fixture root. */
    static String show(String path) {
        return "/" + strip(path);
    }

    boolean exists(String path) {
        return Files.exists(resolve(path));
    }

    /** The file's text, or empty when it does not exist; other read failures are thrown. */
    Optional<String> read(String path) throws IOException {
        Path p = resolve(path);
        if (!Files.exists(p)) {
            return Optional.empty();
        }
        try (InputStream in = Files.newInputStream(p)) {
            return Optional.of(new String(in.readNBytes(MAX_BYTES), StandardCharsets.UTF_8));
        }
    }

    /** The text of a gzip-compressed file (rotated logs). */
    String readGzip(String path) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(resolve(path)))) {
            return new String(in.readNBytes(MAX_BYTES), StandardCharsets.UTF_8);
        }
    }

    /** First line of a small sysfs attribute, trimmed; empty when the attribute does not exist. */
    Optional<String> attribute(String path) {
        try {
            return read(path).map(s -> s.lines().findFirst().orElse("").trim());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Names of the entries of a directory, sorted; empty when it does not exist. */
    List<String> list(String path) {
        Path p = resolve(path);
        if (!Files.isDirectory(p)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(p)) {
            List<String> names = new ArrayList<>(s.map(x -> x.getFileName().toString()).toList());
            names.sort(null);
            return names;
        } catch (IOException e) {
            return List.of();
        }
    }

    /**
     * The last component of a symlink's target ({@code /sys/dev/block/254:0 ->
     * ../../devices/virtual/block/dm-0} gives {@code dm-0}). Fixtures cannot ship symlinks
     * comfortably inside Maven resources, so a regular file holding the device name is read as
     * the same thing.
     */
    Optional<String> linkName(String path) {
        Path p = resolve(path);
        try {
            if (Files.isSymbolicLink(p)) {
                Path target = Files.readSymbolicLink(p);
                Path name = target.getFileName();
                return name == null ? Optional.empty() : Optional.of(name.toString());
            }
            if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                return attribute(path).filter(s -> !s.isEmpty());
            }
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    Optional<FileTime> mtime(String path) {
        try {
            return Optional.of(Files.getLastModifiedTime(resolve(path)));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static String strip(String path) {
        return path.startsWith("/") ? path.substring(1) : path;
    }
}
