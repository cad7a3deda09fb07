package org.postern.tls;

import java.net.InetAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

import org.jspecify.annotations.Nullable;

/**
 * A server's chain decided by a plain {@link X509TrustManager} (a pinned root), then its certificate
 * checked against the host dialled by HTTPS rules: an IP literal must be one of its IP addresses, a
 * name one of its DNS names ({@code *.} matching exactly one leftmost label); the subject's CN is not
 * looked at.
 *
 * <p>Why our own: the JDK checks the name only for a trust manager it wrapped itself, inside its own
 * engine; Netty's BoringSSL engine calls a plain trust manager as it is, and its way of borrowing the
 * JDK's wrapper needs {@code sun.misc.Unsafe}. One check here gives both engines the same rule.
 */
final class HostNameTrustManager extends X509ExtendedTrustManager {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private final X509TrustManager chainTrust;
    private final @Nullable String host; // the one host dialled, when the engine does not say (QUIC's)

    HostNameTrustManager(X509TrustManager chainTrust) {
        this(chainTrust, null);
    }

    HostNameTrustManager(X509TrustManager chainTrust, @Nullable String host) {
        this.chainTrust = Objects.requireNonNull(chainTrust, "chainTrust");
        this.host = host;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        chainTrust.checkServerTrusted(chain, authType);
        checkHost(chain[0], host != null ? host : engine.getPeerHost());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        chainTrust.checkServerTrusted(chain, authType);
        // the name the socket was opened for, never a reverse lookup of its address
        checkHost(chain[0], socket instanceof SSLSocket s && s.getHandshakeSession() != null ? s.getHandshakeSession().getPeerHost() : null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the server's host name cannot be checked without the connection it came on");
    }

    /** Whether {@code cert} names {@code host}; a {@link CertificateException} saying what it names if not. */
    static void checkHost(X509Certificate cert, @Nullable String host) throws CertificateException {
        if (host == null || host.isEmpty()) {
            throw new CertificateException("the server's host name cannot be checked: the connection has no host name");
        }
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        List<String> names = new ArrayList<>();
        boolean literal = isAddressLiteral(h);
        for (List<?> san : subjectAltNames(cert)) {
            int type = (Integer) san.get(0);
            String value = String.valueOf(san.get(1));
            names.add((type == 7 ? "IP:" : type == 2 ? "DNS:" : "type " + type + ":") + value);
            if (literal ? type == 7 && sameAddress(h, value) : type == 2 && dnsMatches(value, h)) {
                return;
            }
        }
        throw new CertificateException("the server's certificate does not name the host dialled: expected " + host
                + " among its subject alternative names, found " + names + " (" + cert.getSubjectX500Principal().getName() + ")");
    }

    private static Collection<List<?>> subjectAltNames(X509Certificate cert) throws CertificateException {
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            return sans == null ? List.of() : sans;
        } catch (CertificateParsingException e) {
            throw new CertificateException("cannot read the server certificate's subject alternative names: " + e.getMessage(), e);
        }
    }

    private static boolean isAddressLiteral(String h) {
        return h.contains(":") || IPV4.matcher(h).matches();
    }

    private static boolean sameAddress(String literal, String san) {
        try {
            // both are literals: no resolution happens
            return InetAddress.getByName(literal).equals(InetAddress.getByName(san));
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** RFC 6125 §6.4: case-insensitive; a wildcard only as the whole leftmost label of a name with at least three labels. */
    static boolean dnsMatches(String pattern, String host) {
        String p = strip(pattern).toLowerCase(Locale.ROOT);
        String h = strip(host).toLowerCase(Locale.ROOT);
        if (!p.startsWith("*.")) {
            return p.equals(h);
        }
        String suffix = p.substring(1); // ".example.org"
        if (suffix.indexOf('.', 1) < 0 || suffix.contains("*")) {
            return false;
        }
        int dot = h.indexOf('.');
        return dot > 0 && h.substring(dot).equals(suffix);
    }

    private static String strip(String name) {
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw new CertificateException("this trust manager only checks servers");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw new CertificateException("this trust manager only checks servers");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("this trust manager only checks servers");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return chainTrust.getAcceptedIssuers();
    }
}
