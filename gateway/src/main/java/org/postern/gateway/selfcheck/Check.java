package org.postern.gateway.selfcheck;

import java.io.IOException;
import java.util.List;

/**
 * One concern of the selfcheck. Its inputs come through its constructor; {@link #run} reads the
 * host (files, commands) but never changes it. Every check says something, an info at least, so the
 * report shows that it ran.
 */
public interface Check {

    /** The name findings carry, like {@code permissions}. */
    String name();

    /** What this check sees now; never empty. */
    List<Finding> run() throws IOException;
}
