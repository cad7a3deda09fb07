package org.postern.pki.ssh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.util.Set;

import org.postern.keys.KeyFiles;
import org.postern.keys.SecureFiles;

/**
 * Unencrypted ECDSA P-256 SSH keys kept in a file of their own: the bastion's host key and a
 * laptop's SSH key. PKCS#8 PEM, mode 0600 from the moment the file exists, refused when group or
 * others can read it (as OpenSSH refuses a private key that is not private).
 */
public final class SshKeys {

    private SshKeys() {
    }

    /** Loads the key in {@code file}, or creates it (0600, parent directory 0700 when created). */
    public static KeyPair loadOrCreate(Path file, SecureRandom random) throws IOException {
        if (Files.exists(file)) {
            return load(file);
        }
        Path parent = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) {
            SecureFiles.privateDirectory(parent);
        }
        KeyPair kp = KeyFiles.generateP256(random);
        SecureFiles.createSecret(file, KeyFiles.plainPem(kp.getPrivate()));
        return kp;
    }

    /** Reads a P-256 private key from a 0600 PKCS#8 file and derives its public key. */
    public static KeyPair load(Path file) throws IOException {
        if (SecureFiles.posix()) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
                throw new IOException(file + ": expected mode 0600 for a private key, found "
                        + PosixFilePermissions.toString(perms));
            }
        }
        PrivateKey priv = KeyFiles.readPlain(file);
        if (!(priv instanceof ECPrivateKey ec) || ec.getParams().getCurve().getField().getFieldSize() != 256) {
            throw new IOException(file + ": expected an ECDSA P-256 private key, found " + priv.getAlgorithm());
        }
        return new KeyPair(publicOf(ec), priv);
    }

    /** The public key of a P-256 private key (Q = d·G). */
    public static PublicKey publicOf(ECPrivateKey priv) throws IOException {
        try {
            var spec = org.bouncycastle.jce.ECNamedCurveTable.getParameterSpec("secp256r1");
            var q = spec.getG().multiply(priv.getS()).normalize();
            ECPoint point = new ECPoint(q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger());
            return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(point, priv.getParams()));
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot derive the public key of a P-256 key: " + e.getMessage(), e);
        }
    }
}
