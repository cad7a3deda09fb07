package org.postern.demo;

import java.io.PrintWriter;

/** The demo's printed steps: {@code [n] heading}, indented lines, and a ✓ for each check that held. */
final class DemoOutput {
    private final PrintWriter out;
    private int step;

    DemoOutput(PrintWriter out) {
        this.out = out;
    }

    /** The number of the step begun last (0 before the first). */
    int step() {
        return step;
    }

    void begin(String what) {
        step++;
        out.println("[" + step + "] " + what);
        out.flush();
    }

    void show(String line) {
        out.println("      " + line);
    }

    void check(boolean ok, String what) {
        if (!ok) {
            throw new DemoFailed("expected: " + what);
        }
        out.println("      ✓ " + what);
        out.flush();
    }

    /** A line of its own, not part of a step. */
    void println(String line) {
        out.println(line);
    }

    void println() {
        out.println();
    }

    void flush() {
        out.flush();
    }
}
