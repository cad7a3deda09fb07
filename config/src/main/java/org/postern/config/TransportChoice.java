package org.postern.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The top-level {@code transport} setting of {@code gateway.yaml} and {@code agent.yaml}: which
 * Netty transport carries the sockets. {@code auto} takes epoll when the host offers it, else NIO
 * (io_uring only when named); a named one must be available or the process does not start.
 */
public enum TransportChoice {
    AUTO, IO_URING, EPOLL, NIO;

    /** What a valid value looks like, for the "expected" half of a problem. */
    public static final String EXPECTED = "one of " + Arrays.stream(values()).map(TransportChoice::spelling)
            .collect(Collectors.joining(", "));

    /** How the setting is written: {@code auto}, {@code io_uring}, {@code epoll}, {@code nio}. */
    public String spelling() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Reads the {@code transport} key of {@code r}'s section; {@code auto} when absent. */
    public static TransportChoice read(ConfigReader r) {
        return r.value("transport", AUTO, EXPECTED, s -> {
            for (TransportChoice c : values()) {
                if (c.spelling().equals(s)) {
                    return c;
                }
            }
            throw new InvalidValueException(EXPECTED, s);
        });
    }
}
