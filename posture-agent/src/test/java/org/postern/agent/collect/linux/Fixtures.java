package org.postern.agent.collect.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;

/** The fixture root trees under {@code src/test/resources/collect/linux/<case>/}. */
final class Fixtures {
    private Fixtures() {
    }

    static Path root(String name) {
        URL url = Fixtures.class.getResource("/collect/linux/" + name);
        if (url == null) {
            throw new IllegalArgumentException("no fixture " + name);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A file of a fixture as a machine would show it: the {@code #>} provenance lines removed. */
    static String text(String name, String path) {
        try {
            String raw = Files.readString(root(name).resolve(path), StandardCharsets.UTF_8);
            return raw.lines().filter(l -> !l.startsWith("#>")).collect(Collectors.joining("\n", "", "\n"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes files into a scratch root: {@code file("sys/block/dm-0/dm/uuid", "CRYPT-…")}. */
    record Tree(Path root) {
        Tree file(String path, String content) {
            try {
                Path p = root.resolve(path);
                Files.createDirectories(p.getParent());
                Files.writeString(p, content);
                return this;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Tree dm(String dev, String uuid, String name, String... slaves) {
            file("sys/block/" + dev + "/dm/uuid", uuid + "\n");
            file("sys/block/" + dev + "/dm/name", name + "\n");
            for (String s : slaves) {
                file("sys/block/" + dev + "/slaves/" + s, "");
            }
            return this;
        }

        Tree copyOf(String fixture) {
            Path from = Fixtures.root(fixture);
            try (var files = Files.walk(from)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    Path to = root.resolve(from.relativize(f).toString());
                    Files.createDirectories(to.getParent());
                    Files.copy(f, to);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }
    }
}
