package org.postern.agent.collect;

import java.util.Locale;

import org.postern.agent.collect.linux.LinuxCollector;

/** Picks the collector for the machine the agent runs on. */
public final class Collectors {
    private Collectors() {
    }

    /** Which backend: the OS's own tools, or osquery. */
    public enum Backend { NATIVE, OSQUERY }

    /** The native collector for this OS; an OS without one is a clear error, never a silent pass. */
    public static Collector forThisMachine(Backend backend) {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (backend == Backend.OSQUERY) {
            throw new IllegalArgumentException("--collector osquery: the osquery backend is not available in this build");
        }
        if (os.contains("linux")) {
            return LinuxCollector.system();
        }
        throw new IllegalArgumentException("no posture collector for this operating system (os.name \"" + System.getProperty("os.name")
                + "\"); expected Linux, Windows or macOS");
    }
}
