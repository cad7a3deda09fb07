package org.postern.vpn.link;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Points name resolution for the internal zone at the resolvers the gateway pushed, and puts
 * everything back afterwards, a crash included.
 *
 * <p>Where systemd-resolved runs ({@code /run/systemd/resolve} exists and {@code resolvectl}
 * answers), the settings are per link: {@code resolvectl dns DEV ...}, {@code resolvectl domain DEV
 * ...}, {@code resolvectl default-route DEV false}; only queries for the pushed domains go into
 * the tunnel, and resolved forgets them by itself when the interface disappears. Elsewhere
 * {@code /etc/resolv.conf} is rewritten (pushed resolvers first, the original ones after, up to
 * glibc's three) after saving the original, owner-only, in the state directory; {@link #restore}
 * and, after a crash, {@link #cleanupStale} at the next start put it back. A file that no longer
 * carries our header was rewritten by someone else since, and is left alone. docs/vpn.md "DNS".
 */
public final class DnsConfig {

    private static final Logger LOG = LoggerFactory.getLogger(DnsConfig.class);

    static final String BACKUP = "resolv.conf.backup";
    static final String BACKUP_SYMLINK = "resolv.conf.symlink";
    static final String BACKUP_ABSENT = "resolv.conf.absent";
    static final String RESOLVED_LINK = "resolved-link";
    static final String HEADER = "# written by postern-agent for the VPN tunnel";
    /** A DNS name as resolv.conf and resolvectl take it: labels of letters, digits and '-', nothing else. */
    private static final Pattern DOMAIN = Pattern.compile(
            "(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})?)*\\.?");
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final int GLIBC_MAX_NAMESERVERS = 3;

    private final Path stateDir;
    private final Path resolvConf;
    private final Path resolvedRuntimeDir;
    private final String resolvectl;
    private boolean applied;

    DnsConfig(Path stateDir, Path resolvConf, Path resolvedRuntimeDir, String resolvectl) {
        this.stateDir = stateDir;
        this.resolvConf = resolvConf;
        this.resolvedRuntimeDir = resolvedRuntimeDir;
        this.resolvectl = resolvectl;
    }

    /** DNS of this host: systemd-resolved when it runs, else {@code /etc/resolv.conf}; backups in {@code stateDir}. */
    public static DnsConfig forHost(Path stateDir) {
        return new DnsConfig(stateDir, Path.of("/etc/resolv.conf"), Path.of("/run/systemd/resolve"), "resolvectl");
    }

    /** How {@link #apply} set DNS. */
    public enum Method {
        /** systemd-resolved settings for the tunnel interface only. */
        RESOLVED_PER_LINK,
        /** a rewritten resolv.conf, the original saved in the state directory. */
        RESOLV_CONF
    }

    /**
     * Sends queries for {@code searchDomains} (and, with resolv.conf, all queries first) to
     * {@code resolvers}; first undoes what a crashed earlier run left ({@link #cleanupStale}).
     *
     * @throws IllegalArgumentException when no resolver is given or a domain is not a DNS name
     */
    public synchronized Method apply(String device, List<InetAddress> resolvers, List<String> searchDomains)
            throws IOException {
        if (resolvers.isEmpty()) {
            throw new IllegalArgumentException("DNS for " + device + ": expected at least one resolver, found none");
        }
        for (String domain : searchDomains) {
            if (!DOMAIN.matcher(domain).matches()) {
                throw new IllegalArgumentException("DNS search domain for " + device
                        + ": expected a DNS name like admin.internal, found \"" + domain + "\"");
            }
        }
        if (applied) {
            throw new IllegalStateException("DNS is already set for a tunnel: restore() first");
        }
        cleanupStale().ifPresent(LOG::warn);
        Files.createDirectories(stateDir);
        Files.setPosixFilePermissions(stateDir, PosixFilePermissions.fromString("rwx------"));
        if (resolvedRuns()) {
            applyResolved(device, resolvers, searchDomains);
            return Method.RESOLVED_PER_LINK;
        }
        applyResolvConf(device, resolvers, searchDomains);
        return Method.RESOLV_CONF;
    }

    /** Undoes {@link #apply}; does nothing when nothing is applied. */
    public synchronized void restore() throws IOException {
        if (!applied) {
            return;
        }
        cleanupStale();
        applied = false;
    }

    /**
     * Puts back what an earlier run left applied (it was killed before {@link #restore}): the
     * saved resolv.conf, or the per-link resolved settings. Returns what it did, for the log, or
     * empty when there was nothing to do.
     */
    public synchronized Optional<String> cleanupStale() throws IOException {
        Path link = stateDir.resolve(RESOLVED_LINK);
        if (Files.exists(link)) {
            String device = Files.readString(link).strip();
            try {
                Command.run(List.of(resolvectl, "revert", device), null, TIMEOUT);
            } catch (IOException e) {
                LOG.debug("resolvectl revert {}: {} (the link is gone, and its settings with it)", device, e.getMessage());
            }
            Files.delete(link);
            return Optional.of("reverted the systemd-resolved DNS settings of " + device + " left by an earlier run");
        }
        Path backup = stateDir.resolve(BACKUP);
        Path symlink = stateDir.resolve(BACKUP_SYMLINK);
        Path absent = stateDir.resolve(BACKUP_ABSENT);
        if (!Files.exists(backup) && !Files.exists(symlink) && !Files.exists(absent)) {
            return Optional.empty();
        }
        if (!ours()) {
            return Optional.of(resolvConf + " was rewritten by another program since postern-agent wrote it: left as it is;"
                    + " the original from before the tunnel is still in " + backup);
        }
        if (Files.exists(symlink)) {
            Path target = Path.of(Files.readString(symlink));
            Files.deleteIfExists(resolvConf);
            Files.createSymbolicLink(resolvConf, target);
        } else if (Files.exists(absent)) {
            Files.deleteIfExists(resolvConf);
        } else {
            writeAtomically(resolvConf, Files.readAllBytes(backup), "rw-r--r--");
        }
        Files.deleteIfExists(backup);
        Files.deleteIfExists(symlink);
        Files.deleteIfExists(absent);
        return Optional.of("restored " + resolvConf + " from the backup an earlier run left in " + stateDir);
    }

    private boolean ours() throws IOException {
        return Files.isRegularFile(resolvConf, LinkOption.NOFOLLOW_LINKS)
                && Files.readString(resolvConf, StandardCharsets.UTF_8).startsWith(HEADER);
    }

    private boolean resolvedRuns() {
        if (!Files.isDirectory(resolvedRuntimeDir)) {
            return false;
        }
        try {
            Command.run(List.of(resolvectl, "--no-pager", "status", "--no-legend"), null, TIMEOUT);
            return true;
        } catch (IOException e) {
            LOG.warn("{} exists but resolvectl does not answer ({}): setting DNS in {} instead", resolvedRuntimeDir,
                    e.getMessage(), resolvConf);
            return false;
        }
    }

    private void applyResolved(String device, List<InetAddress> resolvers, List<String> domains) throws IOException {
        // the marker first: a crash from here on is undone by the next start's cleanupStale
        writeAtomically(stateDir.resolve(RESOLVED_LINK), device.getBytes(StandardCharsets.UTF_8), "rw-------");
        applied = true;
        try {
            List<String> dns = new ArrayList<>(List.of(resolvectl, "dns", device));
            resolvers.forEach(r -> dns.add(Addresses.text(r)));
            Command.run(dns, null, TIMEOUT);
            if (!domains.isEmpty()) {
                List<String> domain = new ArrayList<>(List.of(resolvectl, "domain", device));
                domain.addAll(domains); // without '~': search domains that also route their queries here
                Command.run(domain, null, TIMEOUT);
            }
            // split tunnel: other names keep using the other links' resolvers
            Command.run(List.of(resolvectl, "default-route", device, "false"), null, TIMEOUT);
        } catch (IOException e) {
            restore();
            throw e;
        }
        LOG.info("DNS set in systemd-resolved for {} only: resolvers {}, domains {}", device, resolvers, domains);
    }

    private void applyResolvConf(String device, List<InetAddress> resolvers, List<String> domains) throws IOException {
        List<String> original = List.of();
        if (Files.isSymbolicLink(resolvConf)) {
            writeAtomically(stateDir.resolve(BACKUP_SYMLINK),
                    Files.readSymbolicLink(resolvConf).toString().getBytes(StandardCharsets.UTF_8), "rw-------");
        } else if (!Files.exists(resolvConf)) {
            writeAtomically(stateDir.resolve(BACKUP_ABSENT), new byte[0], "rw-------");
        }
        if (Files.exists(resolvConf)) {
            byte[] bytes = Files.readAllBytes(resolvConf);
            if (!Files.isSymbolicLink(resolvConf)) {
                writeAtomically(stateDir.resolve(BACKUP), bytes, "rw-------");
            }
            original = new String(bytes, StandardCharsets.UTF_8).lines().toList();
        }
        try {
            writeAtomically(resolvConf, render(device, resolvers, domains, original).getBytes(StandardCharsets.UTF_8),
                    "rw-r--r--");
        } catch (IOException e) {
            // nothing was changed: drop the backup, or the next start would take it for a crash's
            for (String name : List.of(BACKUP, BACKUP_SYMLINK, BACKUP_ABSENT)) {
                Files.deleteIfExists(stateDir.resolve(name));
            }
            throw new IOException("setting DNS for the tunnel " + device + " needs write access to " + resolvConf
                    + " when systemd-resolved does not run (docs/vpn.md \"DNS\"): " + e, e);
        }
        applied = true;
        LOG.info("DNS for the tunnel {} set in {} (no systemd-resolved): resolvers {} first, search {}; the original is "
                + "saved in {} and comes back when the tunnel stops", device, resolvConf, resolvers, domains, stateDir);
    }

    /** Pushed resolvers first, then the original ones (glibc reads three); pushed search domains first. */
    static String render(String device, List<InetAddress> resolvers, List<String> domains, List<String> original) {
        Set<String> nameservers = new LinkedHashSet<>();
        resolvers.forEach(r -> nameservers.add(Addresses.text(r)));
        Set<String> search = new LinkedHashSet<>(domains);
        List<String> options = new ArrayList<>();
        for (String line : original) {
            String[] words = line.strip().split("\\s+");
            switch (words[0]) {
                case "nameserver" -> {
                    if (words.length > 1) {
                        nameservers.add(words[1]);
                    }
                }
                case "search", "domain" -> search.addAll(List.of(words).subList(1, words.length));
                case "options" -> options.add(line.strip());
                default -> { }
            }
        }
        StringBuilder out = new StringBuilder(HEADER).append(' ').append(device)
                .append("; the original comes back when the tunnel stops\n");
        nameservers.stream().limit(GLIBC_MAX_NAMESERVERS).forEach(n -> out.append("nameserver ").append(n).append('\n'));
        if (!search.isEmpty()) {
            out.append("search ").append(String.join(" ", search)).append('\n');
        }
        options.forEach(o -> out.append(o).append('\n'));
        return out.toString();
    }

    /**
     * Writes through a temporary file in the same directory and a rename, so a crash never leaves
     * half a file. A file that is a mount point cannot be renamed over (EBUSY): {@code ip netns exec}
     * and containers bind-mount {@code /etc/resolv.conf}. That one is written in place instead,
     * which is what a resolver reading it sees anyway.
     */
    private static void writeAtomically(Path file, byte[] content, String permissions) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path temp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions)));
        try {
            Files.write(temp, content);
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (FileSystemException e) {
            if (e.getReason() == null || !e.getReason().contains("busy")) {
                throw e;
            }
            LOG.debug("{} is a mount point (rename refused: {}): written in place", file, e.getReason());
            Files.write(file, content, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
