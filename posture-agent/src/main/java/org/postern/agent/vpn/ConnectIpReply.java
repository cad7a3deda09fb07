package org.postern.agent.vpn;

import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.jspecify.annotations.Nullable;

/**
 * The gateway's answer to a CONNECT-IP request as read so far, over HTTP/2 or HTTP/3: its status,
 * its {@code postern-reason} and, for a refusal, the first {@value #BODY_LIMIT} bytes of its body,
 * which become the {@link ConnectIpRefusedException}. One per request stream, on its event loop.
 */
final class ConnectIpReply {
    static final int BODY_LIMIT = 4096;

    private int status;
    private @Nullable String reason;
    private final ByteBuf body = Unpooled.buffer();

    /** Notes the status and reason of the answer's HEADERS; returns the status (0 when absent). */
    int answered(@Nullable CharSequence statusField, @Nullable CharSequence reasonField) {
        status = statusField == null ? 0 : Integer.parseInt(statusField.toString());
        reason = reasonField == null ? null : reasonField.toString();
        return status;
    }

    /** The status read, or 0 before the answer's HEADERS. */
    int status() {
        return status;
    }

    /** Keeps what still fits of {@code content} (which stays the caller's). */
    void addBody(ByteBuf content) {
        if (body.readableBytes() < BODY_LIMIT) {
            body.writeBytes(content, Math.min(content.readableBytes(), BODY_LIMIT - body.readableBytes()));
        }
    }

    ConnectIpRefusedException refused() {
        return new ConnectIpRefusedException(status, reason, body.toString(StandardCharsets.UTF_8));
    }

    void release() {
        if (body.refCnt() > 0) {
            body.release();
        }
    }
}
