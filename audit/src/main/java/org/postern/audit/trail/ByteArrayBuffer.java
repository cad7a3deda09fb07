package org.postern.audit.trail;

import java.nio.charset.StandardCharsets;

/** A growable byte array the writer reuses for each batch. */
final class ByteArrayBuffer {
    private byte[] bytes = new byte[1 << 16];
    private int size;

    ByteArrayBuffer ascii(String s) {
        int n = s.length();
        ensure(n);
        for (int i = 0; i < n; i++) {
            bytes[size++] = (byte) s.charAt(i);
        }
        return this;
    }

    ByteArrayBuffer utf8(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        ensure(b.length);
        System.arraycopy(b, 0, bytes, size, b.length);
        size += b.length;
        return this;
    }

    private void ensure(int n) {
        if (size + n > bytes.length) {
            bytes = java.util.Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + n));
        }
    }

    byte[] array() {
        return bytes;
    }

    int size() {
        return size;
    }

    void reset() {
        size = 0;
    }
}
