package org.postern.agent.collect.linux;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Reads {@code /proc/self/mountinfo} (format in proc(5), "/proc/pid/mountinfo"):
 * <pre>36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue</pre>
 * mount id, parent id, {@code major:minor} of st_dev, root within the file system, mount point,
 * mount options, zero or more optional fields, a {@code -}, file-system type, mount source, super
 * options. Spaces and other special characters in paths are written as octal escapes
 * ({@code \040}).
 */
final class MountInfo {
    private MountInfo() {
    }

    /** One mount: its device number, where it is mounted, its type and source. */
    record Mount(int major, int minor, String mountPoint, String fsType, String source) {
        String devNumber() {
            return major + ":" + minor;
        }

        /**
         * Major 0 is the kernel's "unnamed" device class: overlay, tmpfs, proc, NFS, and also
         * btrfs, whose st_dev is an anonymous number per subvolume rather than the disk's.
         */
        boolean hasBlockDevice() {
            return major != 0;
        }
    }

    /**
     * The mount visible at {@code /}: the last entry whose mount point is {@code /}, since a
     * later mount over the same point hides the earlier one.
     */
    static Optional<Mount> rootMount(String mountinfo) {
        Mount found = null;
        for (String line : mountinfo.split("\n")) {
            Optional<Mount> m = parse(line);
            if (m.isPresent() && m.get().mountPoint().equals("/")) {
                found = m.get();
            }
        }
        return Optional.ofNullable(found);
    }

    /** One line, or empty when it does not have the documented shape. */
    static Optional<Mount> parse(String line) {
        List<String> f = Arrays.asList(line.trim().split(" +"));
        int dash = f.indexOf("-");
        if (f.size() < 6 || dash < 6 || f.size() < dash + 3) {
            return Optional.empty();
        }
        String[] dev = f.get(2).split(":");
        if (dev.length != 2) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Mount(Integer.parseInt(dev[0]), Integer.parseInt(dev[1]),
                    unescape(f.get(4)), unescape(f.get(dash + 1)), unescape(f.get(dash + 2))));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Undoes the kernel's octal escapes ({@code \040} is a space). */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
