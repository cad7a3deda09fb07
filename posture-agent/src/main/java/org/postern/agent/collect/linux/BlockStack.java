package org.postern.agent.collect.linux;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Walks the stack of block devices under a device through sysfs: a device-mapper or md device
 * lists what it is built on in {@code /sys/block/<dev>/slaves/}; a partition or a disk has no
 * slaves and ends the walk.
 *
 * <p>The rule: {@code /} is encrypted only when <em>all</em> its data passes through an encrypting
 * layer. A device is encrypted when it is a crypt target itself, or when it is a pass-through
 * layer (LVM, md, multipath, verity) whose every slave is encrypted. "Any layer is crypt" would be
 * wrong: an LVM volume group spanning a LUKS partition and a plain one puts part of {@code /} in
 * clear text. So LVM on LUKS is encrypted (the LV's only PV is the LUKS device), LUKS on LVM is
 * encrypted (the top layer is LUKS), and dm-verity over a partition is not.
 */
final class BlockStack {
    private static final int MAX_DEPTH = 16;

    private final RootFs fs;

    BlockStack(RootFs fs) {
        this.fs = fs;
    }

    /** What the walk found. */
    sealed interface Layering permits Encrypted, Clear, Unknown {
    }

    /** Every path down from the device passes through a crypt layer; {@code methods} names them. */
    record Encrypted(Set<String> methods, Set<String> cryptDevices) implements Layering {
    }

    /** Some data reaches {@code leaf} without passing through a crypt layer. */
    record Clear(String leaf, List<String> path) implements Layering {
    }

    /** The walk could not decide; {@code why} says where and what. */
    record Unknown(String why) implements Layering {
    }

    /** The device-mapper name ({@code /dev/mapper/<name>}) of a dm device, if it has one. */
    Optional<String> dmName(String dev) {
        return fs.attribute("sys/block/" + dev + "/dm/name").filter(s -> !s.isEmpty());
    }

    /** The dm device whose {@code dm/name} is {@code mapperName} ({@code /dev/mapper/X}). */
    Optional<String> byMapperName(String mapperName) {
        for (String dev : fs.list("sys/block")) {
            if (dmName(dev).filter(mapperName::equals).isPresent()) {
                return Optional.of(dev);
            }
        }
        return Optional.empty();
    }

    Layering walk(String dev) {
        return walk(dev, new ArrayList<>());
    }

    /** All of {@code devs} together, as for the members of a multi-device btrfs. */
    Layering walkAll(List<String> devs) {
        List<Layering> parts = new ArrayList<>();
        for (String d : devs) {
            parts.add(walk(d));
        }
        return combine("the devices " + devs, parts);
    }

    private Layering walk(String dev, List<String> above) {
        List<String> path = new ArrayList<>(above);
        path.add(dev);
        if (path.size() > MAX_DEPTH) {
            return new Unknown("device stack deeper than " + MAX_DEPTH + " at " + String.join(" -> ", path));
        }
        String base = "sys/block/" + dev;
        boolean isDm = fs.exists(base + "/dm");
        if (isDm) {
            String uuid = fs.attribute(base + "/dm/uuid").orElse("");
            DmUuid kind = DmUuid.of(uuid);
            if (kind.encrypts()) {
                return new Encrypted(Set.of(kind.method()), Set.of(dev));
            }
            List<String> slaves = fs.list(base + "/slaves");
            if (slaves.isEmpty()) {
                return new Unknown(dev + " is a device-mapper device without slaves in "
                        + RootFs.show(base + "/slaves") + " (uuid \"" + uuid + "\")");
            }
            Layering below = combineSlaves(dev, slaves, path);
            if (kind == DmUuid.UNKNOWN && !(below instanceof Encrypted)) {
                // A table made by hand with dmsetup has no uuid and may well be crypt: do not guess.
                return new Unknown(dev + " is a device-mapper device with "
                        + (uuid.isEmpty() ? "no uuid" : "uuid \"" + uuid + "\"")
                        + " that names no known target, so whether it encrypts cannot be told");
            }
            return below;
        }
        if (dev.startsWith("loop")) {
            return new Unknown(dev + " is a loop device backed by a file; the encryption of the file"
                    + " system holding that file is not followed");
        }
        List<String> slaves = fs.list(base + "/slaves");
        if (!slaves.isEmpty()) {
            return combineSlaves(dev, slaves, path); // md RAID and similar
        }
        return new Clear(dev, path);
    }

    private Layering combineSlaves(String dev, List<String> slaves, List<String> path) {
        List<Layering> parts = new ArrayList<>();
        for (String s : slaves) {
            parts.add(walk(s, path));
        }
        return combine(dev, parts);
    }

    /** Clear wins (some data is in clear text whatever the rest is), then Unknown, then Encrypted. */
    private static Layering combine(String what, List<Layering> parts) {
        if (parts.isEmpty()) {
            return new Unknown(what + " has no devices");
        }
        Set<String> methods = new LinkedHashSet<>();
        Set<String> crypts = new LinkedHashSet<>();
        Unknown unknown = null;
        for (Layering p : parts) {
            switch (p) {
                case Clear c -> {
                    return c;
                }
                case Unknown u -> unknown = unknown == null ? u : unknown;
                case Encrypted e -> {
                    methods.addAll(e.methods());
                    crypts.addAll(e.cryptDevices());
                }
            }
        }
        return unknown != null ? unknown : new Encrypted(methods, crypts);
    }
}
