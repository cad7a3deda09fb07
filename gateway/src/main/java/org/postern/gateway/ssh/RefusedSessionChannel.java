package org.postern.gateway.ssh;

import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.channel.AbstractServerChannel;
import org.postern.protocol.Reasons;

/**
 * The {@code session} channel — shell, exec, subsystems such as sftp, and with them pty, agent and
 * X11 requests — refused at open with an audit record: the bastion is not a host to log in to.
 * The client is told to use it as a jump host.
 */
final class RefusedSessionChannel extends AbstractServerChannel {

    static final String SESSION_REFUSED = Reasons.SSH_SESSION_REFUSED.code();
    static final String MESSAGE = "this bastion only forwards: use it with ssh -J, -W or -L";

    static final class Factory implements ChannelFactory {
        private final BastionContext ctx;

        Factory(BastionContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public String getName() {
            return "session";
        }

        @Override
        public Channel createChannel(Session session) {
            return new RefusedSessionChannel(ctx);
        }
    }

    private final BastionContext ctx;

    private RefusedSessionChannel(BastionContext ctx) {
        super(null);
        this.ctx = ctx;
    }

    @Override
    protected OpenFuture doInit(Buffer buffer) {
        Session session = getSession();
        BastionSession s = session.getAttribute(BastionSession.KEY);
        ctx.denied(s != null ? s.fill(ctx.event("access.denied"))
                        : ctx.event("access.denied").with("source", SshBastion.source(session)), SESSION_REFUSED,
                "a session channel (shell, exec or subsystem) on the bastion itself is refused; it forwards only");
        DefaultOpenFuture f = new DefaultOpenFuture(this, this);
        try {
            f.setException(new SshChannelOpenException(getChannelId(), SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED,
                    MESSAGE));
        } finally {
            close(true);
        }
        return f;
    }

    @Override
    protected void doWriteData(byte[] data, int off, long len) {
        throw new UnsupportedOperationException("session channels are refused");
    }

    @Override
    protected void doWriteExtendedData(byte[] data, int off, long len) {
        throw new UnsupportedOperationException("session channels are refused");
    }
}
