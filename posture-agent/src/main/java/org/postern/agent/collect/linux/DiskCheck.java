package org.postern.agent.collect.linux;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.postern.agent.collect.CommandRunner;
import org.postern.agent.collect.CommandRunner.CommandException;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.DiskFacts;

/**
 * Is the file system at {@code /} on an encrypted block device? {@code /proc/self/mountinfo} gives
 * the device number of {@code /}, {@code /sys/dev/block/MAJ:MIN} its name, {@link BlockStack} the
 * layers beneath it, and {@code lsblk} a cross-check.
 *
 * <p>LUKS has no state like BitLocker's "suspended" that sysfs would show while the machine runs:
 * {@code cryptsetup luksSuspend} freezes all I/O on the device, so an agent on that root could
 * not run at all. Hence protection is on exactly when the data is encrypted. Online LUKS2
 * (re)encryption in progress is not detected (see the collector's notes).
 */
final class DiskCheck {
    static final String CHECK = "disk";
    private static final List<String> LSBLK = List.of("lsblk", "-J", "-o", "NAME,TYPE,FSTYPE,MOUNTPOINT,PKNAME");

    private final RootFs fs;
    private final BlockStack stack;
    private final CommandRunner runner;
    private final Duration timeout;

    DiskCheck(RootFs fs, CommandRunner runner, Duration timeout) {
        this.fs = fs;
        this.stack = new BlockStack(fs);
        this.runner = runner;
        this.timeout = timeout;
    }

    DiskFacts collect(List<CheckError> errors) {
        Optional<String> mountinfo;
        try {
            mountinfo = fs.read("proc/self/mountinfo");
        } catch (IOException e) {
            return unknown("/", errors, "cannot read /proc/self/mountinfo: " + e);
        }
        if (mountinfo.isEmpty()) {
            return unknown("/", errors, "/proc/self/mountinfo does not exist (is /proc mounted?)");
        }
        Optional<MountInfo.Mount> root = MountInfo.rootMount(mountinfo.get());
        if (root.isEmpty()) {
            return unknown("/", errors, "/proc/self/mountinfo has no entry for /");
        }
        MountInfo.Mount m = root.get();

        List<String> devices;
        String volume;
        if (m.hasBlockDevice()) {
            String link = "sys/dev/block/" + m.devNumber();
            Optional<String> dev = fs.linkName(link);
            if (dev.isEmpty()) {
                return unknown("/ on " + m.source(), errors, "/ is " + m.fsType() + " on device " + m.devNumber()
                        + " (" + m.source() + ") but " + RootFs.show(link) + " does not name a block device");
            }
            devices = List.of(dev.get());
            volume = "/ on " + devPath(dev.get());
        } else if (m.fsType().equals("btrfs") && m.source().startsWith("/dev/")) {
            // btrfs reports an anonymous st_dev per subvolume; its source names the real device.
            Optional<String> dev = deviceOfSource(m.source());
            if (dev.isEmpty()) {
                return unknown("/ on " + m.source(), errors, "/ is btrfs on " + m.source()
                        + ", which matches no device in /sys/block or /sys/class/block");
            }
            devices = btrfsMembers(dev.get());
            volume = "/ on " + m.source();
        } else {
            return unknown("/", errors, "/ is on a file system of type " + m.fsType() + " (source \"" + m.source()
                    + "\", device " + m.devNumber() + ") with no block device behind it, as in a container;"
                    + " the encryption of the disk that holds it cannot be seen from here");
        }

        BlockStack.Layering layering = devices.size() == 1 ? stack.walk(devices.getFirst()) : stack.walkAll(devices);
        return switch (layering) {
            case BlockStack.Unknown u -> unknown(volume, errors, "cannot tell whether / (" + volume + ") is encrypted: " + u.why());
            case BlockStack.Clear c -> new DiskFacts(volume, false, null, false, DiskFacts.FULLY_DECRYPTED, 0);
            case BlockStack.Encrypted e -> crossCheck(volume, e, errors);
        };
    }

    /**
     * lsblk must show a {@code crypt} device between the disk and {@code /} when sysfs found one.
     * When lsblk is missing, fails or prints something else, the sysfs verdict stands: it is the
     * primary source, and lsblk reads the same sysfs.
     */
    private DiskFacts crossCheck(String volume, BlockStack.Encrypted e, List<CheckError> errors) {
        String method = String.join(", ", e.methods());
        try {
            CommandRunner.Result r = runner.run(LSBLK, timeout);
            if (r.exitCode() == 0) {
                Optional<List<Lsblk.Node>> path = Lsblk.pathToRoot(r.stdout());
                if (path.isPresent() && !Lsblk.hasCryptType(path.get())) {
                    return unknown(volume, errors, "sysfs shows " + method + " on " + e.cryptDevices()
                            + " under / but lsblk shows no crypt device on the way to / (" + describe(path.get()) + ")");
                }
            }
        } catch (CommandException | IllegalArgumentException ex) {
            // cross-check unavailable: the sysfs verdict stands
        }
        return new DiskFacts(volume, true, method, true, DiskFacts.FULLY_ENCRYPTED, 100);
    }

    private Optional<String> deviceOfSource(String source) {
        String name = source.substring("/dev/".length());
        if (name.startsWith("mapper/")) {
            return stack.byMapperName(name.substring("mapper/".length()));
        }
        if (fs.exists("sys/class/block/" + name) || fs.exists("sys/block/" + name)) {
            return Optional.of(name);
        }
        return Optional.empty();
    }

    /** All devices of the btrfs file system that holds {@code dev} ({@code /sys/fs/btrfs/<fsid>/devices/}). */
    private List<String> btrfsMembers(String dev) {
        for (String fsid : fs.list("sys/fs/btrfs")) {
            List<String> members = fs.list("sys/fs/btrfs/" + fsid + "/devices");
            if (members.contains(dev)) {
                return members;
            }
        }
        return List.of(dev);
    }

    private String devPath(String dev) {
        return stack.dmName(dev).map(n -> "/dev/mapper/" + n).orElse("/dev/" + dev);
    }

    private static String describe(List<Lsblk.Node> path) {
        StringBuilder b = new StringBuilder();
        for (Lsblk.Node n : path) {
            if (!b.isEmpty()) {
                b.append(" -> ");
            }
            b.append(n.name()).append(' ').append(n.type());
        }
        return b.toString();
    }

    private static DiskFacts unknown(String volume, List<CheckError> errors, String why) {
        errors.add(new CheckError(CHECK, why));
        return new DiskFacts(volume, null, null, null, null, null);
    }
}
