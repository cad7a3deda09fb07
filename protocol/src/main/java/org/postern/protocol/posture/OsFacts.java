package org.postern.protocol.posture;

/**
 * What the operating system is. {@code family} is {@code windows}, {@code macos} or {@code linux};
 * {@code name} the product or distribution id ({@code "Windows 11 Pro"}, {@code "macOS"},
 * {@code "debian"}); {@code version} its version ({@code "10.0.22631"}, {@code "14.4.1"},
 * {@code "12"}); {@code build} the build that policy compares for Windows ({@code "22631.3447"},
 * i.e. CurrentBuild.UBR) and macOS ({@code "23E224"}); {@code kernel} the kernel release
 * ({@code uname -r}). Any field may be null when it could not be read; the collector then adds a
 * {@link CheckError}.
 */
public record OsFacts(String family, String name, String version, String build, String kernel) {
    public static final String WINDOWS = "windows";
    public static final String MACOS = "macos";
    public static final String LINUX = "linux";
}
