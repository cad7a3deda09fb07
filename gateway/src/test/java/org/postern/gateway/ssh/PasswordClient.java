package org.postern.gateway.ssh;

import java.net.InetSocketAddress;
import java.time.Duration;

import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.util.buffer.Buffer;

/**
 * A client that sends a password although the bastion never offers that method — what a brute
 * forcer or a misconfigured client does, and what OpenSSH will not do. Built on MINA SSHD's
 * client; the bastion's host key is not checked (test only: nothing secret is protected here).
 */
final class PasswordClient {

    private PasswordClient() {
    }

    static void tryPassword(InetSocketAddress bastion, String user, String password) throws Exception {
        SshClient client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        client.start();
        try (ClientSession s = client.connect(user, bastion).verify(Duration.ofSeconds(10)).getSession()) {
            s.addPasswordIdentity(password);
            // MINA's client asks "none" first, sees only publickey offered, and gives up
            s.auth().await(Duration.ofSeconds(10));
            if (!s.isOpen()) {
                throw new AssertionError("the bastion closed the session before the password request could be sent");
            }
            Buffer b = s.createBuffer(SshConstants.SSH_MSG_USERAUTH_REQUEST);
            b.putString(user);
            b.putString("ssh-connection");
            b.putString("password");
            b.putBoolean(false);
            b.putString(password);
            s.writePacket(b).verify(Duration.ofSeconds(5));
            Thread.onSpinWait();
        } finally {
            client.stop();
        }
    }
}
