package org.postern.config;

import java.util.regex.Pattern;

/**
 * The name of a network interface Postern creates (the VPN's TUN device), as {@code vpn.interface}
 * in gateway.yaml and agent.yaml. Linux takes at most 15 bytes ({@code IFNAMSIZ} 16 with the NUL)
 * and refuses '/' and blanks; a narrower set keeps the name safe to pass to {@code ip} and to
 * write in the audit trail.
 */
public final class InterfaceName {

    /** The name when none is set. */
    public static final String DEFAULT = "postern0";
    /** What a valid name looks like, for the "expected" half of a problem. */
    public static final String EXPECTED =
            "an interface name of 1 to 15 letters, digits, '_', '.' or '-', starting with a letter or digit, like postern0";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,14}");

    private InterfaceName() {
    }

    /** Whether {@code name} is a valid interface name. */
    public static boolean isValid(String name) {
        return NAME.matcher(name).matches();
    }

    /** Reads {@code key} of {@code r}'s section; {@link #DEFAULT} when absent. */
    public static String read(ConfigReader r, String key) {
        return r.value(key, DEFAULT, EXPECTED, s -> {
            if (!isValid(s)) {
                throw new InvalidValueException(EXPECTED, s);
            }
            return s;
        });
    }
}
