package org.postern.gateway.vpn;

/**
 * Decides a CONNECT-IP request that passed the protocol checks ({@link ConnectIpRequestCheck}):
 * it must answer, now or later and from any thread, with exactly one of
 * {@link ConnectIpRequest#accept()} or {@link ConnectIpRequest#refuse}. Until then nothing is read
 * from the stream.
 */
@FunctionalInterface
public interface ConnectIpAcceptor {

    /** Called on the stream's event loop; must not block. */
    void onRequest(ConnectIpRequest request);
}
