package org.postern.cli;

/**
 * A command ending with a message and an exit code, not a stack trace. The codes are listed in
 * {@code postern --help}.
 */
public final class Exit extends RuntimeException {
    /** The operation was refused; the message says why. */
    public static final int REFUSED = 1;
    /** Bad usage or configuration. */
    public static final int USAGE = 2;
    /** The CA is missing or could not be unlocked. */
    public static final int CA = 3;
    /** The registry or audit log cannot be read or written. */
    public static final int UNAVAILABLE = 4;
    /** The running gateway's admin endpoint cannot be reached (not running, wrong address). */
    public static final int GATEWAY_DOWN = 6;
    /** A listener cannot bind its address (in use by another process, not an address of this host, not permitted). */
    public static final int LISTEN = 7;

    /** {@code postern selfcheck} found at least one critical problem. */
    public static final int CRITICAL = 8;

    private final int code;

    public Exit(int code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public int code() {
        return code;
    }
}
