package org.postern.gateway.ssh;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.server.forward.ForwardingFilter;
import org.postern.protocol.Reasons;

/**
 * MINA SSHD's forwarding filter for the bastion. Deny by default: agent forwarding, X11 and remote
 * forwarding ({@code ssh -R}, {@code tcpip-forward}) are refused with an audit record; a
 * {@code direct-tcpip} connect is admitted only to the exact address that
 * {@link DirectTcpipChannel}'s gates — the {@code AccessPolicy} on the resolved address — approved
 * for this session a moment before, once.
 */
final class PolicyForwardingFilter implements ForwardingFilter {

    static final String FORWARDING_REFUSED = Reasons.SSH_FORWARDING_REFUSED.code();

    private static final AttributeRepository.AttributeKey<Set<SshdSocketAddress>> APPROVED =
            new AttributeRepository.AttributeKey<>();

    private final BastionContext ctx;

    PolicyForwardingFilter(BastionContext ctx) {
        this.ctx = ctx;
    }

    /** Records that the gates let this session connect to {@code target} (an IP literal and port), once. */
    static void approve(Session session, SshdSocketAddress target) {
        session.computeAttributeIfAbsent(APPROVED, k -> ConcurrentHashMap.newKeySet()).add(target);
    }

    @Override
    public boolean canConnect(Type type, SshdSocketAddress address, Session session) {
        if (type == Type.Direct) {
            Set<SshdSocketAddress> approved = session.getAttribute(APPROVED);
            if (approved != null && approved.remove(address)) {
                return true;
            }
        }
        refused(session, type.getName() + " to " + address + " without an approval by the access policy");
        return false;
    }

    @Override
    public boolean canListen(SshdSocketAddress address, Session session) {
        refused(session, "remote forwarding (tcpip-forward " + address + ") is refused: the bastion forwards only"
                + " from the laptop to admin hosts");
        return false;
    }

    @Override
    public boolean canForwardAgent(Session session, String requestType) {
        refused(session, "agent forwarding (" + requestType + ") is refused");
        return false;
    }

    @Override
    public boolean canForwardX11(Session session, String requestType) {
        refused(session, "X11 forwarding (" + requestType + ") is refused");
        return false;
    }

    private void refused(Session session, String detail) {
        BastionSession s = session.getAttribute(BastionSession.KEY);
        ctx.denied(s != null ? s.fill(ctx.event("access.denied"))
                : ctx.event("access.denied").with("source", SshBastion.source(session)), FORWARDING_REFUSED, detail);
    }
}
