package org.postern.gateway.ssh;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.sshd.common.Service;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.server.session.ServerUserAuthService;
import org.apache.sshd.server.session.ServerUserAuthServiceFactory;
import org.postern.audit.AuditEvent;
import org.postern.protocol.Reasons;

/**
 * The {@code ssh-userauth} service with a look at each request before MINA SSHD handles it: it
 * notes the login and the method (for the record of a connection that never authenticates), and
 * records {@code access.denied} ({@code ssh.method_refused}) for a password or keyboard-interactive
 * request — methods the bastion never offers, which MINA then refuses. The password itself is
 * never read, logged or recorded.
 */
final class AuthRequestAudit extends ServerUserAuthServiceFactory {

    static final String METHOD_REFUSED = Reasons.SSH_METHOD_REFUSED.code();

    private final BastionContext ctx;

    AuthRequestAudit(BastionContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Service create(Session session) throws IOException {
        return new ServerUserAuthService(session) {
            @Override
            protected boolean handleUserAuthRequestMessage(ServerSession s, Buffer buffer, AtomicReference<Boolean> authHolder)
                    throws Exception {
                if (!s.isAuthenticated()) {
                    Buffer peek = new ByteArrayBuffer(buffer.array(), buffer.rpos(), buffer.available());
                    String login = peek.getString();
                    peek.getString(); // service
                    String method = peek.getString();
                    SshBastion.attempted(s, login, method);
                    if (method.equals("password") || method.equals("keyboard-interactive")) {
                        SshBastion.markRefused(s);
                        ctx.denied(ctx.event("access.denied")
                                        .with("user", AuditEvent.peerText(login))
                                        .with("source", SshBastion.source(s))
                                        .with("method", method), METHOD_REFUSED,
                                method + " authentication is refused: expected publickey with an OpenSSH certificate"
                                        + " from the Postern SSH user CA");
                    }
                }
                return super.handleUserAuthRequestMessage(s, buffer, authHolder);
            }
        };
    }
}
