package org.postern.gateway.selfcheck;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;

/**
 * Whether the host clock is synchronised: certificate validity, the 60 s posture nonces, leases and
 * the audit trail's times all read it. Asks {@code timedatectl} first, then {@code chronyc tracking},
 * then looks for a running time daemon. A clock known not to be synchronised, or whose state nothing
 * tells, is a warning naming what was tried.
 */
public final class ClockCheck implements Check {
    static final String NAME = "clock";
    static final List<String> TIMEDATECTL = List.of("timedatectl", "show", "-p", "NTPSynchronized", "--value");
    static final List<String> CHRONYC = List.of("chronyc", "-n", "tracking");
    static final List<String> DAEMONS = List.of("chronyd", "ntpd", "systemd-timesyncd", "openntpd");

    /** What the check reads from the host; a test gives canned answers. */
    public interface Probe {
        /** The standard output of {@code command} when it ran and exited 0; null when it is missing, failed or hung. */
        @Nullable String output(List<String> command);

        /** Whether a process named {@code name} runs now. */
        boolean running(String name);
    }

    private final Probe probe;

    public ClockCheck(Probe probe) {
        this.probe = Objects.requireNonNull(probe, "probe");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Finding> run() {
        String fix = "enable time synchronisation: timedatectl set-ntp true, or install and start chrony";
        String ntp = probe.output(TIMEDATECTL);
        if (ntp != null && ntp.strip().equals("yes")) {
            return List.of(Finding.info(NAME, "the system clock is synchronised (timedatectl NTPSynchronized=yes)"));
        }
        if (ntp != null && ntp.strip().equals("no")) {
            return List.of(new Finding(NAME, Severity.WARNING, "the system clock is not synchronised (timedatectl"
                    + " NTPSynchronized=no): certificates, posture nonces, leases and audit times depend on it", fix));
        }
        String chrony = probe.output(CHRONYC);
        if (chrony != null) {
            for (String line : chrony.split("\n")) {
                if (line.startsWith("Leap status")) {
                    String status = line.substring(line.indexOf(':') + 1).strip();
                    return status.equals("Not synchronised")
                            ? List.of(new Finding(NAME, Severity.WARNING, "the system clock is not synchronised (chronyc"
                                    + " tracking: Leap status " + status + ")", "check chrony's sources: chronyc sources -v"))
                            : List.of(Finding.info(NAME, "chrony keeps the clock (chronyc tracking: Leap status " + status + ")"));
                }
            }
        }
        for (String daemon : DAEMONS) {
            if (probe.running(daemon)) {
                return List.of(Finding.info(NAME, daemon + " is running (its synchronisation state was not read)"));
            }
        }
        return List.of(new Finding(NAME, Severity.WARNING, "clock synchronisation unknown: tried "
                + String.join(" ", TIMEDATECTL) + " (" + (ntp == null ? "did not run" : "answered \"" + ntp.strip() + "\"")
                + "), " + String.join(" ", CHRONYC) + " (" + (chrony == null ? "did not run" : "no Leap status")
                + "), and found none of " + String.join(", ", DAEMONS) + " running", fix));
    }

    /** The host itself: commands run with a bound of a few seconds, processes found in {@code /proc}. */
    public static Probe hostProbe() {
        return new HostProbe(Path.of("/proc"), Duration.ofSeconds(5));
    }

    record HostProbe(Path proc, Duration timeout) implements Probe {
        @Override
        public @Nullable String output(List<String> command) {
            Process p;
            try {
                p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            } catch (IOException e) {
                return null; // not installed
            }
            try {
                p.getOutputStream().close();
                // the outputs read here are a few lines: reading after the exit cannot block the child on a full pipe
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    return null;
                }
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                return p.exitValue() == 0 ? out : null;
            } catch (IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                return null;
            }
        }

        @Override
        public boolean running(String name) {
            try (Stream<Path> entries = Files.list(proc)) {
                return entries.filter(d -> d.getFileName().toString().chars().allMatch(Character::isDigit))
                        .anyMatch(d -> comm(d).equals(name));
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }

        private static String comm(Path pidDir) {
            try {
                return Files.readString(pidDir.resolve("comm"), StandardCharsets.UTF_8).strip();
            } catch (IOException | RuntimeException e) {
                return ""; // the process ended meanwhile
            }
        }
    }
}
