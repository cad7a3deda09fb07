package org.postern.vpn.tun;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * A test that runs each method in its own throw-away namespace {@link #ns} ({@link TestNetns}),
 * created before and deleted after it, with whatever interfaces the test left in it.
 */
public abstract class NetnsTestBase {

    protected TestNetns ns;

    @BeforeEach
    protected final void createNamespace() throws Exception {
        ns = TestNetns.create();
    }

    @AfterEach
    protected final void deleteNamespace() throws Exception {
        ns.delete();
    }
}
