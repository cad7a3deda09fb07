package org.postern.agent.enroll;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;

import org.jspecify.annotations.Nullable;

/**
 * A PKCS#10 certification request (RFC 2986) for an EC key, {@code CN=<device id>}, signed with
 * SHA256withECDSA, in DER: the one request the agent makes, written with the JDK alone so that
 * the laptop carries no ASN.1 library. The CA takes names from its registry, not from here.
 */
final class Pkcs10 {
    /** 2.5.4.3 commonName */
    private static final byte[] CN = {0x06, 0x03, 0x55, 0x04, 0x03};
    /** 1.2.840.10045.4.3.2 ecdsa-with-SHA256, no parameters */
    private static final byte[] ECDSA_SHA256 = {0x30, 0x0a, 0x06, 0x08, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x04, 0x03, 0x02};

    private Pkcs10() {
    }

    /** @param provider the key's JCA provider (a token's, for a key inside it), or null for the default */
    static byte[] request(PublicKey publicKey, PrivateKey privateKey, @Nullable Provider provider, String commonName)
            throws GeneralSecurityException {
        byte[] name = der(0x30, der(0x31, der(0x30, CN, der(0x0c, commonName.getBytes(StandardCharsets.UTF_8)))));
        byte[] info = der(0x30, new byte[] {0x02, 0x01, 0x00}, name, publicKey.getEncoded(), new byte[] {(byte) 0xa0, 0x00});
        Signature signer = provider == null ? Signature.getInstance("SHA256withECDSA")
                : Signature.getInstance("SHA256withECDSA", provider);
        signer.initSign(privateKey);
        signer.update(info);
        byte[] signature = signer.sign();
        byte[] bits = new byte[signature.length + 1]; // no unused bits
        System.arraycopy(signature, 0, bits, 1, signature.length);
        return der(0x30, info, ECDSA_SHA256, der(0x03, bits));
    }

    /** A DER element: tag, definite length, the parts concatenated. */
    private static byte[] der(int tag, byte[]... parts) {
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            content.writeBytes(p);
        }
        int n = content.size();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        if (n < 0x80) {
            out.write(n);
        } else {
            int bytes = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write(n >>> (8 * i));
            }
        }
        out.writeBytes(content.toByteArray());
        return out.toByteArray();
    }

}
