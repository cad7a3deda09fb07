package org.postern.gateway.selfcheck;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import org.postern.config.DataSize;

/**
 * Free space where the trail is written against {@code audit.minFree}: below it the gateway treats
 * the trail as unwritable (and, with {@code failMode: closed}, refuses new sessions), so that is
 * critical; below twice it a warning; above, an info with the figures.
 */
public final class FreeSpaceCheck implements Check {
    static final String NAME = "free-space";

    /** Usable bytes on the file system of a path that exists; a test gives its own figure. */
    public interface Space {
        long usable(Path existing) throws IOException;
    }

    private final Path trailDir;
    private final DataSize minFree;
    private final Space space;

    public FreeSpaceCheck(Path trailDir, DataSize minFree, Space space) {
        this.trailDir = Objects.requireNonNull(trailDir, "trailDir");
        this.minFree = Objects.requireNonNull(minFree, "minFree");
        this.space = Objects.requireNonNull(space, "space");
    }

    /** The file store's usable space, as the gateway's writer measures it. */
    public static Space fileStore() {
        return p -> Files.getFileStore(p).getUsableSpace();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Finding> run() throws IOException {
        Path existing = trailDir.toAbsolutePath();
        while (!Files.exists(existing) && existing.getParent() != null) {
            existing = existing.getParent(); // the trail directory is made at the gateway's first start
        }
        long free = space.usable(existing);
        String figures = human(free) + " free for audit.dir " + trailDir + " (on " + existing + "), audit.minFree " + minFree;
        if (free < minFree.bytes()) {
            return List.of(new Finding(NAME, Severity.CRITICAL, figures + ": below audit.minFree the trail counts as"
                    + " unwritable and the gateway refuses new sessions", "free space on that file system or move audit.dir"
                    + " to a larger one"));
        }
        if (free < 2 * minFree.bytes()) {
            return List.of(new Finding(NAME, Severity.WARNING, figures + ": less than twice audit.minFree left",
                    "free space on that file system or move audit.dir to a larger one"));
        }
        return List.of(Finding.info(NAME, figures));
    }

    static String human(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int i = 0;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        return i == 0 ? bytes + "B" : String.format(Locale.ROOT, "%.1f%s", v, units[i]);
    }
}
