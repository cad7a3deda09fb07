package org.postern.agent.collect;

import org.postern.protocol.posture.PostureClaims;

/**
 * Gathers the posture facts of this machine. A check that cannot run does not throw: it leaves
 * its facts null and adds a {@link org.postern.protocol.posture.CheckError}, which the evaluator
 * treats as {@code check.failed}.
 */
public interface Collector {
    PostureClaims.Facts collect();
}
