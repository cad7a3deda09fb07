package org.postern.audit.trail;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The fixed on-disk format shared by the writer and the verifier (docs/audit.md). */
final class TrailFormat {
    static final String CHECKPOINT_TYPE = "audit.checkpoint";
    static final String TORN_TAIL_TYPE = "audit.torn_tail";
    static final String GENESIS = "0".repeat(64);
    static final Pattern SEGMENT = Pattern.compile("segment-(\\d{6})\\.jsonl");
    static final Pattern TORN = Pattern.compile("(segment-\\d{6}\\.jsonl)\\.torn-(\\d+)");
    /** UTC, always three fraction digits (ISO_INSTANT drops them on a whole second). */
    static final DateTimeFormatter TIME = new DateTimeFormatterBuilder().appendInstant(3).toFormatter();
    private static final HexFormat HEX = HexFormat.of();

    private TrailFormat() {
    }

    static String segmentName(long number) {
        if (number < 1 || number > 999_999) {
            throw new IllegalStateException("audit segment number " + number + " is outside 1..999999");
        }
        return "segment-%06d.jsonl".formatted(number);
    }

    /** The segment number of a file name, or -1 if it is not a segment file. */
    static long segmentNumber(String fileName) {
        Matcher m = SEGMENT.matcher(fileName);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    static String time(Instant t) {
        return TIME.format(t.truncatedTo(ChronoUnit.MILLIS));
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this JDK", e);
        }
    }

    static String hex(byte[] bytes) {
        return HEX.formatHex(bytes);
    }

    static String sha256Hex(byte[] bytes, int off, int len) {
        MessageDigest md = sha256();
        md.update(bytes, off, len);
        return hex(md.digest());
    }

    /** What a checkpoint signature covers: {@code postern-audit-checkpoint/1|gateway|seq|time|records|head}. */
    static byte[] checkpointMessage(String gateway, long seq, String time, long records, String head) {
        return ("postern-audit-checkpoint/1|" + gateway + "|" + seq + "|" + time + "|" + records + "|" + head)
                .getBytes(StandardCharsets.UTF_8);
    }
}
