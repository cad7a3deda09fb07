package org.postern.agent.collect.linux;

import org.jspecify.annotations.Nullable;

/**
 * What a device-mapper device is, read from {@code /sys/block/dm-N/dm/uuid}. The prefixes are set
 * by the tool that created the mapping: cryptsetup names its devices
 * {@code CRYPT-<TYPE>-<uuid>-<name>} (lib/libdevmapper.c, {@code dm_prepare_uuid}) with TYPE one
 * of LUKS1, LUKS2, PLAIN, LOOPAES, TCRYPT, BITLK, FVAULT2, VERITY, INTEGRITY (and SUBDEV for the
 * helper devices of LUKS2 with integrity); LVM2 uses {@code LVM-<vg uuid><lv uuid>}; multipath
 * {@code mpath-}; kpartx {@code part<N>-}.
 *
 * <p>Only some cryptsetup types encrypt: VERITY checks integrity of a read-only image and
 * INTEGRITY adds checksums, both leave the data readable. That is why the {@code crypt} TYPE of
 * {@code lsblk}, which is derived from the {@code CRYPT-} prefix alone, cannot be trusted here.
 */
enum DmUuid {
    LUKS1("LUKS1"),
    LUKS2("LUKS2"),
    PLAIN("dm-crypt plain"),
    LOOPAES("dm-crypt loop-AES"),
    TCRYPT("dm-crypt TrueCrypt/VeraCrypt"),
    BITLK("dm-crypt BitLocker"),
    FVAULT2("dm-crypt FileVault2"),
    /** A layer that maps blocks without transforming them: LVM, multipath, partitions, verity. */
    PASS_THROUGH(null),
    /** No uuid, or one no known tool writes: could be a dm-crypt table made by hand. */
    UNKNOWN(null);

    private final @Nullable String method;

    DmUuid(@Nullable String method) {
        this.method = method;
    }

    /** The method reported in {@code DiskFacts.method}; null unless this layer encrypts. */
    @Nullable String method() {
        return method;
    }

    boolean encrypts() {
        return method != null;
    }

    static DmUuid of(String uuid) {
        if (uuid == null || uuid.isBlank()) {
            return UNKNOWN;
        }
        if (uuid.startsWith("CRYPT-")) {
            String type = uuid.substring("CRYPT-".length()).split("-", 2)[0];
            return switch (type) {
                case "LUKS1" -> LUKS1;
                case "LUKS2" -> LUKS2;
                case "PLAIN" -> PLAIN;
                case "LOOPAES" -> LOOPAES;
                case "TCRYPT" -> TCRYPT;
                case "BITLK" -> BITLK;
                case "FVAULT2" -> FVAULT2;
                case "VERITY", "INTEGRITY", "SUBDEV" -> PASS_THROUGH;
                default -> UNKNOWN;
            };
        }
        if (uuid.startsWith("LVM-") || uuid.startsWith("mpath-") || uuid.matches("part\\d+-.*")) {
            return PASS_THROUGH;
        }
        return UNKNOWN;
    }
}
