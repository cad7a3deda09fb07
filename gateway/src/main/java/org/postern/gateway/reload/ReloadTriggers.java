package org.postern.gateway.reload;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What makes the gateway reload: {@code SIGHUP} (through {@code sun.misc.Signal}, which Java 25
 * still provides in {@code jdk.unsupported}) and a watcher on the directories of the configuration
 * file and of the charter's text file ({@link ConfigReloader#files()}; editors replace files by
 * rename, so directories are watched, not files). The watcher waits for the files to be quiet for
 * {@link #SETTLE} and reloads only when the content of one of them changed. The set of files is
 * taken again after each reload ({@code charter.file} may have moved).
 */
public final class ReloadTriggers implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReloadTriggers.class);

    /** How long the file must stay unchanged before a reload: an editor's save is several events. */
    public static final Duration SETTLE = Duration.ofMillis(300);

    // one process, one SIGHUP handler: it tells every reloader that asked
    private static final List<ConfigReloader> ON_SIGHUP = new CopyOnWriteArrayList<>();
    private static boolean sighupInstalled;

    private final ConfigReloader reloader;
    private final @Nullable WatchService watch;
    private final @Nullable Thread watcher;
    private final boolean sighup;
    private volatile boolean closed;
    private byte @Nullable [] lastDigest;
    private final java.util.Set<Path> registeredDirs = new java.util.HashSet<>();

    private ReloadTriggers(ConfigReloader reloader, boolean sighup, boolean watchFile) throws IOException {
        this.reloader = Objects.requireNonNull(reloader, "reloader");
        this.sighup = sighup;
        if (sighup) {
            installSighup();
            ON_SIGHUP.add(reloader);
        }
        if (watchFile) {
            watch = FileSystems.getDefault().newWatchService();
            List<Path> files = watched();
            lastDigest = digest(files);
            watcher = Thread.ofPlatform().name("config-watch").daemon().start(() -> watchLoop(files));
        } else {
            watch = null;
            watcher = null;
        }
    }

    /**
     * Starts the triggers for {@code reloader}.
     *
     * @param sighup    reload on SIGHUP
     * @param watchFile reload when the file's content changes
     */
    public static ReloadTriggers start(ConfigReloader reloader, boolean sighup, boolean watchFile) throws IOException {
        return new ReloadTriggers(reloader, sighup, watchFile);
    }

    private static synchronized void installSighup() {
        if (sighupInstalled) {
            return;
        }
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> {
                for (ConfigReloader r : ON_SIGHUP) {
                    // off the signal thread; one reload at a time per reloader anyway
                    Thread.ofPlatform().name("config-reload").daemon().start(() -> r.reload("signal:SIGHUP"));
                }
            });
            sighupInstalled = true;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            log.warn("cannot handle SIGHUP here ({}); reload by editing the file or with POST /v1/reload", e.getMessage());
        }
    }

    /** The files to watch now, their directories registered with the watch service. */
    private List<Path> watched() throws IOException {
        // normalised: "--config ./gateway.yaml" registers "/cwd/." while charter.file names "/cwd/charter.txt";
        // the kernel hands both the one key of that directory, so events must compare on one spelling
        List<Path> files = reloader.files().stream().map(p -> p.toAbsolutePath().normalize()).toList();
        for (Path f : files) {
            Path dir = f.getParent();
            if (registeredDirs.add(dir)) {
                dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                        StandardWatchEventKinds.ENTRY_DELETE);
            }
        }
        return files;
    }

    /**
     * Whether an event for {@code name} in the watched directory {@code dir} is about one of
     * {@code files} (absolute, normalised), whatever spelling the directory was registered under.
     */
    static boolean concerns(Path dir, Path name, List<Path> files) {
        return files.contains(dir.resolve(name).toAbsolutePath().normalize());
    }

    private void watchLoop(List<Path> initial) {
        List<Path> files = initial;
        try {
            while (!closed) {
                WatchKey key = watch.take();
                boolean ours = false;
                Path dir = (Path) key.watchable();
                for (WatchEvent<?> e : key.pollEvents()) {
                    ours |= e.kind() == StandardWatchEventKinds.OVERFLOW
                            || (e.context() instanceof Path name && concerns(dir, name, files));
                }
                key.reset();
                if (!ours) {
                    continue;
                }
                // settle: swallow the rest of the burst
                WatchKey more;
                while ((more = watch.poll(SETTLE.toMillis(), TimeUnit.MILLISECONDS)) != null) {
                    more.pollEvents();
                    more.reset();
                }
                byte[] now = digest(files);
                if (now == null || Arrays.equals(now, lastDigest)) {
                    continue; // gone for a moment (replace by rename) or unchanged (touch)
                }
                lastDigest = now;
                reloader.reload("file-watch");
                // after the reload: charter.file may name another file now
                List<Path> after = watched();
                if (!after.equals(files)) {
                    files = after;
                    lastDigest = digest(files);
                }
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closing
        } catch (IOException | RuntimeException e) {
            log.error("the configuration watcher stopped: {}; reload with SIGHUP or POST /v1/reload", e.toString());
        }
    }

    /** One digest over the files' contents, in order; null when one cannot be read (gone for a moment). */
    private static byte @Nullable [] digest(List<Path> files) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (Path f : files) {
                d.update(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
            }
            return d.digest();
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        closed = true;
        if (sighup) {
            ON_SIGHUP.remove(reloader);
        }
        if (watch != null) {
            try {
                watch.close();
            } catch (IOException e) {
                log.debug("closing the configuration watcher: {}", e.toString());
            }
            try {
                watcher.join(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
