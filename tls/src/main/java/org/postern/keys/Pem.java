package org.postern.keys;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * PEM reading and writing for certificates and keys. Certificates and PEM blocks need only the
 * JDK, so the agent runs without BouncyCastle; other objects (CRLs, requests) are written by
 * BouncyCastle's writer, which the CA side has on its class path.
 */
public final class Pem {
    private Pem() {
    }

    /** One PEM block: its label (e.g. {@code CERTIFICATE}) and DER content. */
    public record Block(String type, byte[] der) {
    }

    public static String encode(Object o) {
        if (o instanceof X509Certificate c) {
            try {
                return block("CERTIFICATE", c.getEncoded());
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
        }
        return BouncyCastlePem.encode(o);
    }

    /** {@code -----BEGIN type-----}, the base64 of {@code der} in lines of 64, {@code -----END type-----}. */
    public static String block(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + base64(der) + "-----END " + type + "-----\n";
    }

    public static String encodeAll(List<?> objects) {
        StringBuilder sb = new StringBuilder();
        for (Object o : objects) {
            sb.append(encode(o));
        }
        return sb.toString();
    }

    public static X509Certificate certificate(byte[] der) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException e) {
            throw new IllegalArgumentException("expected a DER X.509 certificate, found bytes that do not parse: " + e.getMessage(), e);
        }
    }

    /** Every PEM block of {@code text}, in order; text outside the blocks is ignored. */
    public static List<Block> blocks(String text) throws IOException {
        List<Block> out = new ArrayList<>();
        String type = null;
        StringBuilder body = new StringBuilder();
        for (String raw : text.split("\r?\n")) {
            String line = raw.strip();
            if (type == null) {
                if (line.startsWith("-----BEGIN ") && line.endsWith("-----")) {
                    type = line.substring("-----BEGIN ".length(), line.length() - 5);
                    body.setLength(0);
                }
            } else if (line.equals("-----END " + type + "-----")) {
                try {
                    out.add(new Block(type, Base64.getMimeDecoder().decode(body.toString())));
                } catch (IllegalArgumentException e) {
                    throw new IOException("PEM " + type + " block: expected base64, found: " + e.getMessage(), e);
                }
                type = null;
            } else if (!line.contains(":")) { // RFC 1421 headers (Proc-Type, DEK-Info) are not content
                body.append(line);
            }
        }
        if (type != null) {
            throw new IOException("PEM " + type + " block: expected -----END " + type + "-----, found the end of the text");
        }
        return out;
    }

    /** Reads every CERTIFICATE block of a PEM file. */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        List<X509Certificate> out = new ArrayList<>();
        for (Block b : blocks(Files.readString(file, StandardCharsets.US_ASCII))) {
            if (b.type().equals("CERTIFICATE")) {
                out.add(certificate(b.der()));
            }
        }
        if (out.isEmpty()) {
            throw new IOException(file + ": expected at least one PEM CERTIFICATE block, found none");
        }
        return out;
    }

    public static X509Certificate readCertificate(Path file) throws IOException {
        return readCertificates(file).getFirst();
    }

    public static String base64(byte[] der) {
        return Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der) + "\n";
    }

    /** BouncyCastle's writer, in its own class so that only callers writing other objects load it. */
    private static final class BouncyCastlePem {
        static String encode(Object o) {
            StringWriter sw = new StringWriter();
            try (org.bouncycastle.openssl.jcajce.JcaPEMWriter w = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(sw)) {
                w.writeObject(o);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            return sw.toString();
        }
    }
}
