package org.postern.audit.siem;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The durable cursor beside the trail: the {@code seq} of the last record the collector confirmed.
 * Written to a temporary file, forced, and renamed over the old one, so a crash leaves either the
 * old or the new value, never a torn one.
 */
final class SiemCursor {
    private static final String PREFIX = "postern-siem-cursor/1 seq=";

    private final Path file;
    private long seq;

    private SiemCursor(Path file, long seq) {
        this.file = file;
        this.seq = seq;
    }

    static SiemCursor open(Path file) throws IOException {
        Path abs = file.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        if (!Files.exists(abs)) {
            return new SiemCursor(abs, 0);
        }
        String text = Files.readString(abs, StandardCharsets.US_ASCII).strip();
        if (!text.startsWith(PREFIX)) {
            throw new IOException("audit.siem.cursor " + abs + ": expected \"" + PREFIX + "N\", found \"" + text + "\"");
        }
        try {
            return new SiemCursor(abs, Long.parseLong(text.substring(PREFIX.length())));
        } catch (NumberFormatException e) {
            throw new IOException("audit.siem.cursor " + abs + ": expected \"" + PREFIX + "N\", found \"" + text + "\"");
        }
    }

    long seq() {
        return seq;
    }

    Path file() {
        return file;
    }

    void store(long delivered) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap((PREFIX + delivered + "\n").getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            d.force(true);
        }
        seq = delivered;
    }
}
