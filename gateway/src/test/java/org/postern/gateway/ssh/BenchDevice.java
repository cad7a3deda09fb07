package org.postern.gateway.ssh;

import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/** {@link DeviceClient} for the bench main, which lives in another package (not a test). */
public final class BenchDevice {
    private final DeviceClient client;

    public BenchDevice(InetSocketAddress gateway, X509Certificate root, String id, KeyPair keys, X509Certificate cert,
                       List<X509Certificate> chain) throws Exception {
        this.client = new DeviceClient(new DeviceClient.Gateway(gateway, root), id, keys, cert, chain);
    }

    /** A compliant posture decision. */
    public JsonNode posture() throws Exception {
        return client.posture(true);
    }

    public String sshCertificate(String publicKeyLine) throws Exception {
        return client.sshCertificate(publicKeyLine);
    }
}
