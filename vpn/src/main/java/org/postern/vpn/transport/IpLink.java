package org.postern.vpn.transport;

import io.netty.buffer.ByteBuf;

/**
 * One open CONNECT-IP request stream (RFC 9484), seen from the gateway or the agent. It moves
 * opaque bytes: the stream's content (which the VPN layer fills with capsules, RFC 9297 §3) and,
 * on HTTP/3, HTTP datagram payloads (RFC 9297 §2.1: the quarter stream id is added and stripped
 * here, so callers see the payload only — for CONNECT-IP, a Context ID then an IP packet).
 *
 * <p><b>Threads.</b> Every link belongs to one event loop: the receiver's callbacks run on it, in
 * order, never at the same time. The send methods and {@link #close} may be called from any
 * thread; from another thread they are handed to that event loop.
 *
 * <p><b>Buffers.</b> A send method takes ownership of its buffer (it is released even when the
 * send fails). A callback hands ownership of its buffer to the receiver, which must release it.
 *
 * <p><b>Writes</b> are queued and go out on {@link #flush()} (so a burst of packets becomes one
 * system call), or when the transport flushes on its own.
 */
public interface IpLink {

    /** The link's transport: {@value #H3} or {@value #H2}. */
    String transport();

    /** {@link #transport()} of CONNECT-IP over HTTP/3 (QUIC, with datagrams). */
    String H3 = "h3";
    /** {@link #transport()} of CONNECT-IP over HTTP/2 extended CONNECT (stream only). */
    String H2 = "h2";

    /** Queues bytes of the request stream (HTTP/3 or HTTP/2 DATA frames; flow controlled). */
    void sendStream(ByteBuf bytes);

    /**
     * Queues one HTTP datagram payload (unreliable: it may be lost, as the IP packet in it may).
     *
     * @return {@link DatagramResult#QUEUED}, or why it was not sent — {@link DatagramResult#UNSUPPORTED}
     *         on a stream-only link (send a DATAGRAM capsule on the stream instead),
     *         {@link DatagramResult#TOO_LARGE} when longer than {@link #maxDatagramPayload()},
     *         {@link DatagramResult#CLOSED} once the link is closed
     */
    DatagramResult sendDatagram(ByteBuf payload);

    /**
     * The longest payload {@link #sendDatagram} takes now: QUIC's current maximum datagram size
     * less the quarter stream id; 0 on a stream-only link (HTTP/2) or before the peer allowed
     * datagrams.
     */
    int maxDatagramPayload();

    /** Sends what the send methods queued. */
    void flush();

    /**
     * Ends the link: the stream is finished (or reset if it cannot be) and the receiver's
     * {@link Receiver#onClose} runs once with {@code why}. When {@code why} is a reason code
     * ({@code revoked}, {@code lease_ended}: lower-case letters and {@code _}), the stream ends with
     * a trailer {@value #CLOSE_TRAILER}{@code : why}, and the peer's receiver hears {@code why}.
     */
    void close(String why);

    /** The trailer field that tells the peer why the link ended (as the CONNECT relay's tunnels do). */
    String CLOSE_TRAILER = "postern-close";

    /**
     * Sets who receives this link's bytes. Nothing is read from the peer before a receiver is
     * set; bytes that arrived earlier are delivered to it then, in order.
     */
    void setReceiver(Receiver receiver);

    /** What became of a {@link #sendDatagram}. */
    enum DatagramResult { QUEUED, UNSUPPORTED, TOO_LARGE, CLOSED }

    /** Receives one link's bytes, on the link's event loop. */
    interface Receiver {
        /** Bytes of the request stream, in order. */
        void onStream(ByteBuf bytes);

        /** One HTTP datagram payload (quarter stream id removed). */
        void onDatagram(ByteBuf payload);

        /**
         * The link ended (peer finished or reset the stream, connection lost, or {@link IpLink#close});
         * {@code why} is the peer's {@value IpLink#CLOSE_TRAILER} when it sent one.
         */
        void onClose(String why);
    }
}
