package org.postern.agent.collect;

import java.io.File;
import java.util.Locale;

import org.jspecify.annotations.Nullable;
import org.postern.agent.collect.linux.LinuxCollector;
import org.postern.agent.collect.macos.MacosCollector;
import org.postern.agent.collect.osquery.OsqueryCollector;
import org.postern.agent.collect.windows.WindowsCollector;

/** Picks the collector for the machine the agent runs on. */
public final class Collectors {
    private Collectors() {
    }

    /** Which backend: the OS's own tools, osquery, or osquery when installed and the OS's tools otherwise. */
    public enum Backend { NATIVE, OSQUERY, AUTO }

    /**
     * The collector for this OS; an OS without one is a clear error, never a silent pass.
     * {@code stateDir} (the agent's directory, or null) is where collectors may remember things
     * between runs.
     */
    public static Collector forThisMachine(Backend backend, java.nio.file.@Nullable Path stateDir) {
        if (backend == Backend.OSQUERY || (backend == Backend.AUTO && onPath("osqueryi"))) {
            return OsqueryCollector.system();
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.contains("linux")) {
            return stateDir != null ? LinuxCollector.system(stateDir) : LinuxCollector.system();
        }
        if (os.startsWith("windows")) {
            return WindowsCollector.system();
        }
        if (os.contains("mac")) {
            return MacosCollector.system();
        }
        throw new IllegalArgumentException("no posture collector for this operating system (os.name \"" + System.getProperty("os.name")
                + "\"); expected Linux, Windows or macOS");
    }

    static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (new File(dir, program).canExecute() || new File(dir, program + ".exe").canExecute()) {
                return true;
            }
        }
        return false;
    }
}
