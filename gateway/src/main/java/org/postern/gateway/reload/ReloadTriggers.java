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
 * still provides in {@code jdk.unsupported}) and a watcher on the configuration file's directory
 * (editors replace files by rename, so the directory is watched, not the file). The watcher waits
 * for the file to be quiet for {@link #SETTLE} and reloads only when its content changed.
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
    private byte[] lastDigest;

    private ReloadTriggers(ConfigReloader reloader, boolean sighup, boolean watchFile) throws IOException {
        this.reloader = Objects.requireNonNull(reloader, "reloader");
        this.sighup = sighup;
        if (sighup) {
            installSighup();
            ON_SIGHUP.add(reloader);
        }
        if (watchFile) {
            Path file = reloader.file().toAbsolutePath();
            lastDigest = digest(file);
            watch = FileSystems.getDefault().newWatchService();
            file.getParent().register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
            watcher = Thread.ofPlatform().name("config-watch").daemon().start(() -> watchLoop(file));
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

    private void watchLoop(Path file) {
        Path name = file.getFileName();
        try {
            while (!closed) {
                WatchKey key = watch.take();
                boolean ours = false;
                for (WatchEvent<?> e : key.pollEvents()) {
                    ours |= e.kind() == StandardWatchEventKinds.OVERFLOW || name.equals(e.context());
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
                byte[] now = digest(file);
                if (now == null || Arrays.equals(now, lastDigest)) {
                    continue; // gone for a moment (replace by rename) or unchanged (touch)
                }
                lastDigest = now;
                reloader.reload("file-watch");
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closing
        } catch (RuntimeException e) {
            log.error("the configuration watcher stopped: {}; reload with SIGHUP or POST /v1/reload", e.toString());
        }
    }

    private static byte @Nullable [] digest(Path file) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
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
