package org.postern.agent.tunnel;

/** What the local access paths report: one line per tunnel opened or refused. */
public interface TunnelEvents {
    /** A tunnel to {@code destination} for {@code via} (SOCKS5 from …, forward on …) is open. */
    void opened(String via, String destination);

    /** A tunnel to {@code destination} for {@code via} was refused; {@code cause} says by whom and why. */
    void refused(String via, String destination, Throwable cause);

    /** A tunnel ended; {@code close} says why (the gateway's reason when it gave one). */
    default void closed(TunnelClose close) {
    }

    /** Reports nothing. */
    TunnelEvents SILENT = new TunnelEvents() {
        @Override
        public void opened(String via, String destination) {
        }

        @Override
        public void refused(String via, String destination, Throwable cause) {
        }
    };
}
