package org.postern.keys;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/** PEM reading and writing for certificates and keys. */
public final class Pem {
    private Pem() {
    }

    public static String encode(Object o) {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            w.writeObject(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return sw.toString();
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
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new java.io.ByteArrayInputStream(der));
        } catch (CertificateException e) {
            throw new IllegalArgumentException("expected a DER X.509 certificate, found bytes that do not parse: " + e.getMessage(), e);
        }
    }

    /** Reads every CERTIFICATE block of a PEM file. */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        List<X509Certificate> out = new ArrayList<>();
        try (PemReader r = new PemReader(new StringReader(Files.readString(file, StandardCharsets.US_ASCII)))) {
            PemObject o;
            while ((o = r.readPemObject()) != null) {
                if (o.getType().equals("CERTIFICATE")) {
                    out.add(certificate(o.getContent()));
                }
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
}
