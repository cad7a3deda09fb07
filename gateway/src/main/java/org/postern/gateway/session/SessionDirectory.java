package org.postern.gateway.session;

import java.util.List;

/**
 * The live sessions of this gateway, for the admin API: list them, end one. Implemented by the
 * session layer; read by the admin listener. Thread-safe.
 */
public interface SessionDirectory {

    /** The live sessions, oldest first. */
    List<SessionInfo> sessions();

    /**
     * Ends a live session and all its flows ({@code session.end} reason {@code killed}).
     *
     * @param sessionId the session to end
     * @param by        who asked (the admin certificate's name), recorded in the audit trail
     * @return false when there is no such live session
     */
    boolean kill(String sessionId, String by);
}
