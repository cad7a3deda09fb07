package org.postern.gateway.session;

import java.util.function.BiConsumer;

/**
 * The flows of the sessions, as the session layer needs them: closed when their session ends,
 * and a word when every flow of a device is closed (revoked, suspended, lease ended) so its
 * sessions end too. The relay implements it ({@code FlowRegistry}); dependencies go one way,
 * relay → session.
 */
public interface SessionFlows {

    /** Closes every flow of {@code session}, recording {@code how}. */
    void closeSession(Session session, FlowEnd how);

    /** Hears of {@code closeAll(device, how)}: the device's sessions end the same way. */
    void onCloseAll(BiConsumer<String, FlowEnd> listener);
}
