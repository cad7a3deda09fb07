package org.postern.cli;

import java.nio.file.Path;

/**
 * Where an installed Postern keeps its files when no option names them: the settings under
 * {@code /etc/postern} (the Debian package's conffiles), the data under {@code /var/lib/postern}
 * ({@code GatewaySettings.DEFAULT_DATA_DIR}, the default of {@code dataDir}). The settings directory
 * is read here and nowhere else, so tests point it at a scratch directory with the system property
 * {@value #ETC_PROPERTY} instead of touching the host's {@code /etc}.
 */
public final class DefaultPaths {
    /** System property overriding {@code /etc/postern} (tests; an unpacked tarball's launcher may set it too). */
    public static final String ETC_PROPERTY = "postern.etc";

    private DefaultPaths() {
    }

    /** The settings directory: {@code /etc/postern} unless {@value #ETC_PROPERTY} names another. */
    public static Path etc() {
        String dir = System.getProperty(ETC_PROPERTY);
        return Path.of(dir == null || dir.isBlank() ? "/etc/postern" : dir);
    }

    /** {@code ETC/gateway.yaml}: what {@code postern gateway run|sessions|kill} read without {@code --config}. */
    public static Path gatewayConfig() {
        return etc().resolve("gateway.yaml");
    }
}
