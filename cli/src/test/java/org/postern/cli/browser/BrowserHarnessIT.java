package org.postern.cli.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import javax.imageio.ImageIO;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.keys.KeyFiles;
import org.postern.pki.PkiService;
import org.postern.pki.testing.TestPki;
import org.postern.tls.TlsContexts;

/**
 * The browser harness proved without the console: a small HTTPS server on 127.0.0.1 (the JDK's,
 * TLS 1.3, client certificate required, trusting the test CA) echoes the client certificate's
 * subject, and real headless Chromium browsers log in to it with admin certificates from
 * {@link TestPki}.
 */
class BrowserHarnessIT {
    static final String TEST = "BrowserHarnessIT";

    static TestPki pki;
    static HttpsServer server;
    static ExecutorService serverThreads;
    /** The client subject of every request the server answered. */
    static final Queue<String> served = new ConcurrentLinkedQueue<>();
    static PkiService.Issued ops;
    static PkiService.Issued eve;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startServer() throws Exception {
        pki = TestPki.create();
        ops = pki.service.issueAdmin("ops", "security-admin", "test");
        eve = pki.service.issueAdmin("eve", "auditor", "test");
        PkiService.Issued tls = pki.service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test");
        List<X509Certificate> serverChain = new ArrayList<>();
        serverChain.add(tls.certificate());
        serverChain.addAll(pki.ca.chain());
        SSLContext ctx = SSLContext.getInstance(TlsContexts.TLS_1_3);
        ctx.init(new javax.net.ssl.KeyManager[] {TlsContexts.keyManager(tls.keys().getPrivate(), serverChain)},
                new javax.net.ssl.TrustManager[] {TlsContexts.trustManager(List.of(pki.ca.root()))}, null);

        server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.setHttpsConfigurator(new HttpsConfigurator(ctx) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = ctx.getDefaultSSLParameters();
                p.setProtocols(new String[] {TlsContexts.TLS_1_3});
                p.setNeedClientAuth(true);
                params.setSSLParameters(p);
            }
        });
        server.createContext("/", ex -> page(ex, "whoami", "<p id=subject>" + escape(clientSubject(ex)) + "</p>"));
        // Script that would change the title and set the hostile-data marker, if it runs.
        server.createContext("/script", ex -> page(ex, "static",
                "<p>plain text</p><noscript><p>script is off</p></noscript>"
                        + "<script>document.title = 'scripted'; window." + TestBrowser.PWNED_GLOBAL + " = 1;</script>"));
        server.createContext("/alert", ex -> page(ex, "alert", "<script>alert('pwned by ' + location.pathname)</script>"));
        serverThreads = Executors.newFixedThreadPool(4);
        server.setExecutor(serverThreads);
        server.start();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.stop(0);
            serverThreads.shutdownNow();
        }
        if (pki != null) {
            pki.close();
        }
    }

    static String url(String path) {
        return "https://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    static TestBrowser.Builder browser(String test, PkiService.Issued admin) {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(admin.certificate());
        chain.addAll(pki.ca.chain());
        return TestBrowser.builder(TEST + "." + test).clientCertificate(admin.keys().getPrivate(), chain).trust(pki.ca.root());
    }

    @Test
    void twoBrowsersWithDifferentCertificatesAtOnceEachShowTheirOwnSubjectOverAVerifiedChain() throws Exception {
        String before = url("/");
        try (TestBrowser a = browser("twoAtOnce-ops", ops).start();
             TestBrowser b = browser("twoAtOnce-eve", eve).start()) {
            // Both load at the same time, each with its own chromedriver, HOME and NSS database.
            var loadA = CompletableFuture.supplyAsync(() -> a.open(before).text());
            var loadB = CompletableFuture.supplyAsync(() -> b.open(before).text());
            assertThat(loadA.get(60, TimeUnit.SECONDS)).contains("CN=ops,OU=security-admin,O=" + TestPki.CA_NAME);
            assertThat(loadB.get(60, TimeUnit.SECONDS)).contains("CN=eve,OU=auditor,O=" + TestPki.CA_NAME);
            assertThat(a.title()).isEqualTo("whoami");
            assertThat(a.loadError()).isEmpty();
            a.screenshot("ops-whoami");
            b.screenshot("eve-whoami");
        }
        assertThat(served).contains("CN=ops,OU=security-admin,O=" + TestPki.CA_NAME, "CN=eve,OU=auditor,O=" + TestPki.CA_NAME);
    }

    @Test
    void browsersOneAfterTheOtherFromPemAndPkcs12FilesAndNothingIsLeftBehind() throws Exception {
        // eve from the files `postern pki issue-admin` writes
        PkiService.Issued.Files eveFiles = eve.writeTo(tmp, "eve", pki.ca.chain());
        Path eveDir;
        try (TestBrowser b = TestBrowser.builder(TEST + ".sequential").clientCertificate(eveFiles.certificate(), eveFiles.key())
                .trust(pki.ca.root()).start()) {
            eveDir = b.directory();
            assertThat(Files.isDirectory(eveDir.resolve("home/.pki/nssdb"))).isTrue();
            assertThat(b.open(url("/")).text()).contains("CN=eve,OU=auditor");
        }
        assertThat(eveDir).doesNotExist();

        // then ops from a PKCS#12 file and its passphrase
        Path p12 = tmp.resolve("ops.p12");
        char[] pass = "p12 passphrase".toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("ops", KeyFiles.jdkKey(ops.keys().getPrivate()), pass,
                new Certificate[] {ops.certificate(), pki.ca.chain().get(0), pki.ca.chain().get(1)});
        try (var out = Files.newOutputStream(p12)) {
            ks.store(out, pass);
        }
        try (TestBrowser a = TestBrowser.builder(TEST + ".sequential").clientPkcs12(p12, pass).trust(pki.ca.root()).start()) {
            assertThat(a.open(url("/")).text()).contains("CN=ops,OU=security-admin");
        }
        // every chromium and chromedriver this JVM started has ended
        assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                .map(p -> p.info().command().orElse("?")).filter(c -> c.contains("chrom")).toList()).isEmpty();
    }

    @Test
    void aBrowserWithoutAClientCertificateGetsNoPage() {
        int before = served.size();
        try (TestBrowser none = TestBrowser.builder(TEST + ".noCertificate").withoutClientCertificate().trust(pki.ca.root()).start()) {
            assertThat(none.openExpectingError(url("/"))).isEqualTo("ERR_BAD_SSL_CLIENT_AUTH_CERT");
            // again: Chromium remembers the failed handshake and may report it under another code
            assertThatThrownBy(() -> none.open(url("/"))).isInstanceOf(AssertionError.class)
                    .hasMessageContaining("found Chromium's network error ERR_");
            none.screenshot("refused");
        }
        // the same with script off: the error is found without the error page's script
        try (TestBrowser none = TestBrowser.builder(TEST + ".noCertificate").withoutClientCertificate().trust(pki.ca.root())
                .javascript(false).start()) {
            assertThat(none.openExpectingError(url("/"))).isEqualTo("ERR_BAD_SSL_CLIENT_AUTH_CERT");
        }
        assertThat(served).hasSize(before);
    }

    @Test
    void aServerChainThatDoesNotVerifyIsNotIgnored() {
        // The browser trusts another CA's root only: the real server certificate must not verify.
        try (TestPki other = TestPki.create();
             TestBrowser b = TestBrowser.builder(TEST + ".untrusted").clientCertificate(ops.keys().getPrivate(), List.of(ops.certificate()))
                     .trust(other.ca.root()).start()) {
            assertThat(b.openExpectingError(url("/"))).isEqualTo("ERR_CERT_AUTHORITY_INVALID");
        }
    }

    @Test
    void javascriptOffReallyTurnsScriptOff() {
        try (TestBrowser on = browser("scriptOn", ops).start()) {
            on.open(url("/script"));
            assertThat(on.title()).isEqualTo("scripted");
            assertThat(on.hostileScriptRan()).isTrue();
        }
        try (TestBrowser off = browser("scriptOff", ops).javascript(false).start()) {
            off.open(url("/script"));
            assertThat(off.title()).isEqualTo("static");
            assertThat(off.text()).contains("plain text", "script is off");
            assertThat(off.hostileScriptRan()).isFalse();
            off.open(url("/alert"));
            assertThat(off.hostileScriptRan()).isFalse();
            off.screenshot("script-off");
        }
    }

    @Test
    void anAlertFromThePageIsSeen() {
        try (TestBrowser on = browser("alert", ops).start()) {
            on.open(url("/alert"));
            assertThat(on.takeAlert()).contains("pwned by /alert");
            assertThat(on.hostileScriptRan()).isTrue();
        }
    }

    @Test
    void aScreenshotIsANonEmptyPng() throws IOException {
        Path file;
        try (TestBrowser a = browser("screenshot", ops).start()) {
            file = a.open(url("/")).screenshot("whoami");
        }
        assertThat(file).isEqualTo(TestBrowser.SCREENSHOTS.resolve(TEST + ".screenshot").resolve("whoami.png"));
        byte[] png = Files.readAllBytes(file);
        assertThat(png).startsWith(0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n');
        BufferedImage image = ImageIO.read(file.toFile());
        assertThat(image.getWidth()).isGreaterThan(100);
        assertThat(image.getHeight()).isGreaterThan(100);
        // not a blank image: the page's text is drawn in a colour other than the background
        int background = image.getRGB(0, 0);
        boolean drawn = false;
        for (int y = 0; y < Math.min(200, image.getHeight()) && !drawn; y++) {
            for (int x = 0; x < Math.min(600, image.getWidth()) && !drawn; x++) {
                drawn = image.getRGB(x, y) != background;
            }
        }
        assertThat(drawn).as("something drawn in the screenshot's top-left 600x200").isTrue();
    }

    @Test
    void optionsAreCheckedBeforeAnyBrowserStarts() {
        assertThatThrownBy(() -> TestBrowser.builder(TEST + ".options").withoutClientCertificate().start())
                .hasMessageContaining("expected a root to trust");
        assertThatThrownBy(() -> TestBrowser.builder(TEST + ".options").trust(pki.ca.root()).start())
                .hasMessageContaining("expected exactly one of clientCertificate, clientPkcs12 or withoutClientCertificate, found 0");
        assertThatThrownBy(() -> TestBrowser.builder("../escape")).hasMessageContaining("found \"../escape\"");
    }

    private static String clientSubject(HttpExchange ex) {
        try {
            return ((X509Certificate) ((HttpsExchange) ex).getSSLSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        } catch (SSLPeerUnverifiedException e) {
            return "no client certificate"; // cannot happen with client auth required; shown if it does
        }
    }

    private static void page(HttpExchange ex, String title, String body) throws IOException {
        served.add(clientSubject(ex));
        byte[] html = ("<!doctype html><html><head><meta charset=utf-8><title>" + title + "</title></head><body>"
                + "<h1>Browser harness</h1>" + body + "</body></html>").getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
        ex.sendResponseHeaders(ex.getRequestURI().getPath().equals("/favicon.ico") ? 404 : 200, html.length);
        try (var out = ex.getResponseBody()) {
            out.write(html);
        }
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
