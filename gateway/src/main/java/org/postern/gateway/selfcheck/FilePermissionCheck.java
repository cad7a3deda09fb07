package org.postern.gateway.selfcheck;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Modes of the data directory, the private keys and the registry: any group or other permission on
 * them is critical (a key readable by another account is a key that account has; the registry holds
 * the devices and their owners). The audit trail directory must not be writable by group or others.
 * A file inside a 0700 directory is out of reach while the directory stays so, but keys get copied
 * and directories chmod-ed: each file is judged by its own mode.
 */
public final class FilePermissionCheck implements Check {
    static final String NAME = "permissions";
    /** How deep below the data directory private keys are looked for: DATA/ca/*.key, DATA/server/*.key, DATA/ssh/host.key. */
    private static final int KEY_DEPTH = 3;

    private final Path dataDir;
    private final List<Path> secrets;
    private final Path trailDir;

    /**
     * @param dataDir  {@code dataDir}: must be owner-only; its {@code *.key} files and {@code registry.db} are secrets
     * @param secrets  more secret files named by the settings ({@code tls.key}, {@code ssh.hostKey}, the SIEM client key)
     * @param trailDir {@code audit.dir}: must not be writable by group or others
     */
    public FilePermissionCheck(Path dataDir, List<Path> secrets, Path trailDir) {
        this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
        this.secrets = List.copyOf(secrets);
        this.trailDir = Objects.requireNonNull(trailDir, "trailDir");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Finding> run() throws IOException {
        List<Finding> out = new ArrayList<>();
        if (!Files.isDirectory(dataDir)) {
            out.add(new Finding(NAME, Severity.CRITICAL, "dataDir " + dataDir + ": expected the data directory, found "
                    + (Files.exists(dataDir) ? "a file" : "nothing"), "create it with: postern pki init --dir " + dataDir));
            return out;
        }
        Set<PosixFilePermission> dataMode;
        try {
            dataMode = Files.getPosixFilePermissions(dataDir, LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException e) {
            out.add(new Finding(NAME, Severity.WARNING, "dataDir " + dataDir + " is on a file system without POSIX modes;"
                    + " file permissions were not checked", "keep the data directory on a POSIX file system (ext4, xfs)"));
            return out;
        }
        if (groupOrOthers(dataMode)) {
            out.add(new Finding(NAME, Severity.CRITICAL, "dataDir " + dataDir + " has mode "
                    + PosixFilePermissions.toString(dataMode) + ": group or others may enter it",
                    "chmod 700 " + dataDir));
        }
        Set<Path> files = new LinkedHashSet<>();
        try (Stream<Path> walk = Files.walk(dataDir, KEY_DEPTH)) {
            walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                    .filter(p -> p.getFileName().toString().endsWith(".key") || p.getFileName().toString().equals("registry.db"))
                    .sorted()
                    .forEach(files::add);
        }
        for (Path s : secrets) {
            if (Files.isRegularFile(s)) {
                files.add(s);
            }
        }
        int bad = 0;
        for (Path f : files) {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(f);
            if (groupOrOthers(mode)) {
                bad++;
                out.add(new Finding(NAME, Severity.CRITICAL, f + " has mode " + PosixFilePermissions.toString(mode)
                        + ": expected owner-only (rw-------), found group or others may "
                        + (writable(mode) ? "write" : "read") + " it", "chmod 600 " + f));
            }
        }
        if (Files.isDirectory(trailDir)) {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(trailDir);
            if (mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
                out.add(new Finding(NAME, Severity.CRITICAL, "audit.dir " + trailDir + " has mode "
                        + PosixFilePermissions.toString(mode) + ": group or others may add, replace or delete trail segments",
                        "chmod go-w " + trailDir));
            }
        }
        if (out.isEmpty()) {
            out.add(Finding.info(NAME, "dataDir " + dataDir + " and its " + files.size()
                    + " private keys and registry files are owner-only"));
        } else if (bad == 0 && files.size() > 0) {
            out.add(Finding.info(NAME, files.size() + " private keys and registry files are owner-only"));
        }
        return out;
    }

    private static boolean groupOrOthers(Set<PosixFilePermission> mode) {
        return mode.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"));
    }

    private static boolean writable(Set<PosixFilePermission> mode) {
        return mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE);
    }
}
