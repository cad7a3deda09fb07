package org.postern.cli.browser;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.openqa.selenium.By;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.UnexpectedAlertBehaviour;
import org.openqa.selenium.UnhandledAlertException;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.postern.keys.KeyFiles;
import org.postern.keys.Pem;

/**
 * A real headless Chromium (Debian's {@code chromium}, driven by Debian's {@code chromedriver}
 * through Selenium) that logs in to an mTLS site with one client certificate, the way an admin's
 * browser reaches the console.
 *
 * <p>Each browser has a directory of its own, removed by {@link #close()}: a {@code HOME} whose NSS
 * database ({@code HOME/.pki/nssdb}, where Chromium on Linux keeps certificates) holds the client
 * certificate and trusts the given roots for TLS servers, and a fresh profile. Nothing ignores
 * certificate errors: a page loads only if the server's chain verifies to a trusted root. The
 * profile's preferences auto-select the client certificate for the loopback origins (the content
 * setting behind the {@code AutoSelectCertificateForUrls} policy, set per profile rather than
 * machine-wide in {@code /etc/chromium/policies}), so no certificate dialog ever waits in a
 * headless browser. Two browsers with different certificates run side by side in one JVM.
 *
 * <p>Selenium Manager never runs: the driver and browser are given by path, so Selenium has
 * nothing to look up or download.
 */
public final class TestBrowser implements AutoCloseable {
    public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    /** Where screenshots go, per test: {@code target/screenshots/TEST/NAME.png} (failsafe runs in the module directory). */
    public static final Path SCREENSHOTS = Path.of("target", "screenshots");
    /** Origins whose client-certificate request is answered without a dialog, by default: the loopback listeners tests start. */
    public static final List<String> LOOPBACK_ORIGINS = List.of("https://127.0.0.1:*", "https://localhost:*");
    /**
     * What a hostile-data test's payload does if it runs: sets this global (or calls {@code alert}).
     * {@link #hostileScriptRan()} looks for both.
     */
    public static final String PWNED_GLOBAL = "__pwned";

    static final Duration PAGE_LOAD_TIMEOUT = Duration.ofSeconds(30);
    static final Duration TOOL_TIMEOUT = Duration.ofSeconds(30);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private static final Pattern NET_ERROR = Pattern.compile("\\b(ERR_[A-Z0-9_]+)\\b");
    private static final List<Pattern> ERROR_PAGE_CODES = List.of(
            Pattern.compile("\"errorCode\":\"(?:(?:net|NET)::)?(ERR_[A-Z0-9_]+)\""), Pattern.compile("(?:net|NET)::(ERR_[A-Z0-9_]+)"));
    private static final ObjectMapper JSON = new ObjectMapper();

    static {
        // Selenium Manager never runs here: the driver is given by path, so Selenium has nothing to
        // look up. Should a later Selenium start it anyway, it passes system properties named SE_*
        // to it as its settings: offline, and no usage statistics sent.
        System.setProperty("SE_OFFLINE", "true");
        System.setProperty("SE_AVOID_STATS", "true");
    }

    private final Path dir;
    private final Path screenshots;
    private final ChromeDriverService service;
    private final ChromeDriver driver;
    private final List<ProcessHandle> browserProcesses = new ArrayList<>();
    private boolean alertSeen;
    private String pendingAlert;
    private String lastError;
    private boolean closed;

    private TestBrowser(Builder b) throws IOException {
        requireExecutable(CHROMIUM, "chromium");
        requireExecutable(CHROMEDRIVER, "chromium-driver");
        this.screenshots = SCREENSHOTS.resolve(b.testName);
        this.dir = Files.createTempDirectory("postern-browser-");
        ChromeDriverService started = null;
        ChromeDriver made = null;
        try {
            Path home = Files.createDirectories(dir.resolve("home"));
            String subjectCn = importIdentity(b, home);
            Path profile = Files.createDirectories(dir.resolve("profile"));
            writePreferences(profile, b, subjectCn);

            // HOME (and the XDG dirs) point into this browser's directory, so Chromium opens the NSS
            // database made above and writes nothing into the real home.
            started = new ChromeDriverService.Builder()
                    .usingDriverExecutable(CHROMEDRIVER.toFile())
                    .usingAnyFreePort()
                    .withEnvironment(Map.of("HOME", home.toString(),
                            "XDG_CONFIG_HOME", home.resolve(".config").toString(),
                            "XDG_CACHE_HOME", home.resolve(".cache").toString()))
                    .withLogFile(dir.resolve("chromedriver.log").toFile())
                    .build();
            started.start();

            ChromeOptions options = new ChromeOptions();
            options.setBinary(CHROMIUM.toFile());
            options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,900",
                    "--user-data-dir=" + profile);
            // An alert is left open for hostileScriptRan() to find, not accepted behind the test's back.
            options.setUnhandledPromptBehaviour(UnexpectedAlertBehaviour.IGNORE);
            made = new ChromeDriver(started, options);
            made.manage().timeouts().pageLoadTimeout(PAGE_LOAD_TIMEOUT).scriptTimeout(Duration.ofSeconds(10));
            String marker = "--user-data-dir=" + profile;
            ProcessHandle.current().descendants()
                    .filter(p -> p.info().arguments().map(a -> List.of(a).contains(marker)).orElse(false))
                    .forEach(browserProcesses::add);
        } catch (IOException | RuntimeException | Error e) {
            if (made != null) {
                made.quit();
            }
            if (started != null) {
                started.stop();
            }
            org.postern.pki.testing.TestPki.deleteTree(dir);
            throw e;
        }
        this.service = started;
        this.driver = made;
    }

    public static Builder builder(String testName) {
        return new Builder(testName);
    }

    /** Options of one browser; a client identity and at least one trusted root are required. */
    public static final class Builder {
        private final String testName;
        private PrivateKey key;
        private List<X509Certificate> chain;
        private Path pkcs12;
        private char[] pkcs12Passphrase;
        private final List<X509Certificate> roots = new ArrayList<>();
        private boolean javascript = true;
        private boolean withoutClientCertificate;
        private List<String> autoSelectOrigins = LOOPBACK_ORIGINS;

        private Builder(String testName) {
            this.testName = requireName(testName, "test name");
        }

        /** The admin's key and certificate chain (its certificate first). */
        public Builder clientCertificate(PrivateKey key, List<X509Certificate> chain) {
            if (chain.isEmpty()) {
                throw new IllegalArgumentException("client certificate: expected a chain with the certificate first, found none");
            }
            this.key = Objects.requireNonNull(key, "key");
            this.chain = List.copyOf(chain);
            return this;
        }

        /** The admin's key and certificate as {@code postern pki issue-admin} writes them (unencrypted PKCS#8 key, PEM chain). */
        public Builder clientCertificate(Path certificateFile, Path keyFile) {
            try {
                return clientCertificate(KeyFiles.readPlain(keyFile), Pem.readCertificates(certificateFile));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the client certificate " + certificateFile + " or key " + keyFile
                        + ": " + e.getMessage(), e);
            }
        }

        /** The admin's PKCS#12 file and its passphrase. */
        public Builder clientPkcs12(Path file, char[] passphrase) {
            this.pkcs12 = Objects.requireNonNull(file, "file");
            this.pkcs12Passphrase = passphrase.clone();
            return this;
        }

        /** No client certificate at all: a browser that should be refused. */
        public Builder withoutClientCertificate() {
            this.withoutClientCertificate = true;
            return this;
        }

        /** A root CA the browser trusts for TLS servers (Postern's root for the admin listener). */
        public Builder trust(X509Certificate root) {
            roots.add(Objects.requireNonNull(root, "root"));
            return this;
        }

        /** Turns script off for every page, as a browser with JavaScript disabled. */
        public Builder javascript(boolean on) {
            this.javascript = on;
            return this;
        }

        /** Content-setting patterns (e.g. {@code https://127.0.0.1:*}) whose certificate request is answered without a dialog. */
        public Builder autoSelectFor(List<String> origins) {
            if (origins.isEmpty()) {
                throw new IllegalArgumentException("autoSelectFor: expected at least one origin pattern, found none");
            }
            this.autoSelectOrigins = List.copyOf(origins);
            return this;
        }

        public TestBrowser start() {
            int identities = (key != null ? 1 : 0) + (pkcs12 != null ? 1 : 0) + (withoutClientCertificate ? 1 : 0);
            if (identities != 1) {
                throw new IllegalStateException("TestBrowser for " + testName + ": expected exactly one of clientCertificate, "
                        + "clientPkcs12 or withoutClientCertificate, found " + identities);
            }
            if (roots.isEmpty()) {
                throw new IllegalStateException("TestBrowser for " + testName + ": expected a root to trust (trust(root)), found none;"
                        + " certificate errors are never ignored");
            }
            try {
                return new TestBrowser(this);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start a browser for " + testName + ": " + e.getMessage(), e);
            }
        }
    }

    /** This browser's own directory (HOME with the NSS database, the profile); gone after {@link #close()}. */
    Path directory() {
        return dir;
    }

    /** The Selenium driver, for what this class does not wrap. */
    public WebDriver driver() {
        return driver;
    }

    /**
     * Loads {@code url} and fails if Chromium could not (a refused handshake, a chain that does not
     * verify, a closed port), naming the network error.
     */
    public TestBrowser open(String url) {
        Optional<String> error = navigate(url);
        if (error.isPresent()) {
            throw new AssertionError("expected " + url + " to load, found Chromium's network error " + error.get());
        }
        return this;
    }

    /** Loads {@code url} expecting it to fail; returns Chromium's network error (e.g. {@code ERR_BAD_SSL_CLIENT_AUTH_CERT}). */
    public String openExpectingError(String url) {
        return navigate(url).orElseThrow(() -> new AssertionError("expected " + url + " not to load, found a page titled \""
                + driver.getTitle() + "\": " + abbreviate(text())));
    }

    /** The network error of the last load, if there was one. */
    public Optional<String> loadError() {
        return Optional.ofNullable(lastError);
    }

    /**
     * Chromium reports a failed load either as an error from the driver's navigation or as its
     * own error page (the net-error page, or the certificate interstitial) at the requested URL.
     */
    private Optional<String> navigate(String url) {
        lastError = null;
        try {
            driver.get(url);
        } catch (UnhandledAlertException e) {
            // the page opened an alert while loading: captured below
        } catch (WebDriverException e) {
            Matcher m = NET_ERROR.matcher(String.valueOf(e.getMessage()));
            if (!String.valueOf(e.getMessage()).contains("net::") || !m.find()) {
                throw e;
            }
            lastError = m.group(1);
            return loadError();
        }
        captureAlerts();
        String html = driver.getPageSource();
        if (html.contains("interstitial-wrapper") || html.contains("id=\"main-frame-error\"")) {
            lastError = errorPageCode(html);
        }
        return loadError();
    }

    public String title() {
        return driver.getTitle();
    }

    /** The page's visible text. */
    public String text() {
        return driver.findElement(By.tagName("body")).getText();
    }

    /** The page's HTML as the browser holds it now. */
    public String html() {
        return driver.getPageSource();
    }

    /** Saves the viewport as {@code target/screenshots/TEST/NAME.png} and returns the file. */
    public Path screenshot(String name) {
        requireName(name, "screenshot name");
        try {
            Files.createDirectories(screenshots);
            Path file = screenshots.resolve(name + ".png");
            Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save screenshot " + name + " under " + screenshots + ": " + e.getMessage(), e);
        }
    }

    /**
     * Clicks {@code link} (a download link, {@code Content-Disposition: attachment}) and returns the
     * file Chromium saved, waiting at most {@code within} for it to be complete. Downloads go into
     * this browser's own directory, so they vanish with it.
     */
    public Path download(By link, Duration within) {
        try {
            Path downloads = Files.createDirectories(dir.resolve("downloads"));
            // headless Chromium saves nothing unless told where to (and the profile's preference is not read for it)
            driver.executeCdpCommand("Browser.setDownloadBehavior", Map.of("behavior", "allow", "downloadPath", downloads.toString()));
            List<Path> before = listFiles(downloads);
            driver.findElement(link).click();
            long deadline = System.nanoTime() + within.toNanos();
            while (System.nanoTime() < deadline) {
                List<Path> now = listFiles(downloads);
                now.removeAll(before);
                // Chromium writes NAME.crdownload (or a .com.google.Chrome.* temp file) and renames it when done
                List<Path> done = now.stream().filter(f -> !f.getFileName().toString().endsWith(".crdownload")
                        && !f.getFileName().toString().startsWith(".")).toList();
                if (done.size() == 1 && now.size() == 1) {
                    return done.getFirst();
                }
                Thread.sleep(50); // polling the directory: Chromium announces the end of a download to no one we can wait on here
            }
            throw new AssertionError("expected a download from " + link + " within " + within + ", found in " + downloads + ": "
                    + listFiles(downloads));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the download directory: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a download", e);
        }
    }

    private static List<Path> listFiles(Path d) throws IOException {
        try (var files = Files.list(d)) {
            return new ArrayList<>(files.toList());
        }
    }

    /**
     * The code an error page shows: its data ({@code "errorCode":"ERR_…"} on the net-error page,
     * {@code "errorCode":"net::ERR_…"} on the certificate interstitial), not the first {@code ERR_} in it (the
     * net-error page's script names {@code ERR_INTERNET_DISCONNECTED} in a comment).
     */
    private static String errorPageCode(String html) {
        for (Pattern p : ERROR_PAGE_CODES) {
            Matcher m = p.matcher(html);
            if (m.find()) {
                return m.group(1);
            }
        }
        List<String> any = NET_ERROR.matcher(html).results().map(r -> r.group(1)).distinct().toList();
        return "an error page whose code was not found (ERR_ names in it: " + any + ")";
    }

    /** The text of the first alert the page opened since the last call, if any (alerts are dismissed as they come). */
    public Optional<String> takeAlert() {
        captureAlerts();
        Optional<String> first = Optional.ofNullable(pendingAlert);
        pendingAlert = null;
        return first;
    }

    /** Dismisses open alerts, a bounded number of them, keeping the first one's text. */
    private void captureAlerts() {
        for (int i = 0; i < 10; i++) {
            try {
                var alert = driver.switchTo().alert();
                String text = alert.getText();
                alert.dismiss();
                alertSeen = true;
                if (pendingAlert == null) {
                    pendingAlert = text;
                }
            } catch (NoAlertPresentException e) {
                return;
            }
        }
    }

    /**
     * Whether script planted in a page ran: an alert was opened (on any page since this browser
     * started), or {@code window.__pwned} is set on the current page. (Reading the global goes through the DevTools protocol, which works with page script off.)
     */
    public boolean hostileScriptRan() {
        captureAlerts();
        Object pwned = driver.executeScript("return typeof window." + PWNED_GLOBAL + " === 'undefined' ? null : String(window."
                + PWNED_GLOBAL + ");");
        return alertSeen || pwned != null;
    }

    /** Quits the browser and its driver, ends any process of this browser still alive (by PID), removes its directory. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            driver.quit();
        } finally {
            service.stop();
            // quit() asks Chromium to exit; give it a bounded time before ending it, so its profile
            // is no longer being written when the directory is removed.
            for (ProcessHandle p : browserProcesses) {
                p.onExit().completeOnTimeout(p, 5, TimeUnit.SECONDS).join();
                if (p.isAlive()) {
                    p.destroyForcibly();
                    p.onExit().completeOnTimeout(p, 5, TimeUnit.SECONDS).join();
                }
            }
            org.postern.pki.testing.TestPki.deleteTree(dir);
        }
    }

    // --- the browser's certificates ------------------------------------------------------------

    /** Makes HOME/.pki/nssdb with the client identity and trusted roots; returns the client certificate's CN (or null). */
    private static String importIdentity(Builder b, Path home) throws IOException {
        Path nss = Files.createDirectories(home.resolve(".pki").resolve("nssdb"));
        String db = "sql:" + nss;
        tool(home, "certutil", "-N", "-d", db, "--empty-password");
        String cn = null;
        if (!b.withoutClientCertificate) {
            Path p12;
            char[] pass;
            if (b.pkcs12 != null) {
                p12 = b.pkcs12;
                pass = b.pkcs12Passphrase;
            } else {
                pass = randomPassphrase();
                p12 = home.resolve("client.p12");
                writePkcs12(p12, b.key, b.chain, pass);
            }
            // The passphrase goes through a 0600 file, never on a command line that ps shows.
            Path passFile = home.resolve("p12.pass");
            Files.createFile(passFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(passFile, new String(pass), StandardCharsets.UTF_8);
            try {
                tool(home, "pk12util", "-i", p12.toString(), "-d", db, "-w", passFile.toString());
            } finally {
                Files.delete(passFile);
            }
            cn = clientCn(b.chain != null ? b.chain.getFirst() : readPkcs12Certificate(p12, pass));
        }
        for (int i = 0; i < b.roots.size(); i++) {
            Path pem = home.resolve("root-" + i + ".crt");
            Files.writeString(pem, Pem.encode(b.roots.get(i)), StandardCharsets.US_ASCII);
            // C,, : a CA trusted to issue TLS server certificates, nothing else.
            tool(home, "certutil", "-A", "-d", db, "-n", "trusted-root-" + i, "-t", "C,,", "-i", pem.toString());
        }
        return cn;
    }

    /**
     * The profile's Preferences: the client certificate (by subject CN) is auto-selected for the
     * given origins, and script is off when asked.
     */
    private static void writePreferences(Path profile, Builder b, String subjectCn) throws IOException {
        Map<String, Object> filter = subjectCn == null ? Map.of() : Map.of("SUBJECT", Map.of("CN", subjectCn));
        Map<String, Object> exceptions = new LinkedHashMap<>();
        for (String origin : b.autoSelectOrigins) {
            exceptions.put(origin + ",*", Map.of("setting", Map.of("filters", List.of(filter))));
        }
        Map<String, Object> contentSettings = Map.of("exceptions", Map.of("auto_select_certificate", exceptions));
        Map<String, Object> prefs = new LinkedHashMap<>();
        prefs.put("content_settings", contentSettings);
        if (!b.javascript) {
            prefs.put("managed_default_content_settings", Map.of("javascript", 2));
        }
        Path defaultProfile = Files.createDirectories(profile.resolve("Default"));
        JSON.writeValue(defaultProfile.resolve("Preferences").toFile(), Map.of("profile", prefs));
    }

    private static void writePkcs12(Path file, PrivateKey key, List<X509Certificate> chain, char[] pass) throws IOException {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("client", KeyFiles.jdkKey(key), pass, chain.toArray(Certificate[]::new));
            try (var out = Files.newOutputStream(file)) {
                ks.store(out, pass);
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot put the client key for " + chain.getFirst().getSubjectX500Principal()
                    + " in a PKCS#12 file: " + e.getMessage(), e);
        }
    }

    private static X509Certificate readPkcs12Certificate(Path file, char[] pass) throws IOException {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(file)) {
                ks.load(in, pass);
            }
            for (String alias : java.util.Collections.list(ks.aliases())) {
                if (ks.isKeyEntry(alias) && ks.getCertificate(alias) instanceof X509Certificate c) {
                    return c;
                }
            }
            throw new IllegalArgumentException("client PKCS#12 " + file + ": expected a key entry with a certificate, found none");
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("client PKCS#12 " + file + ": cannot read it with the given passphrase: " + e.getMessage(), e);
        }
    }

    private static String clientCn(X509Certificate cert) {
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
        } catch (InvalidNameException e) {
            throw new IllegalArgumentException("client certificate subject " + cert.getSubjectX500Principal() + ": " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("client certificate " + cert.getSubjectX500Principal()
                + ": expected a CN to select it by, found none");
    }

    private static char[] randomPassphrase() {
        byte[] b = new byte[16];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b).toCharArray();
    }

    /** Runs certutil or pk12util (libnss3-tools) with a bounded wait; output goes to files so a full pipe never blocks it. */
    private static void tool(Path dir, String... command) throws IOException {
        Path out = dir.resolve("tool.out");
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true).redirectOutput(out.toFile());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + command[0] + " (" + e.getMessage() + "): the browser tests need NSS's tools"
                    + " (Debian: apt-get install libnss3-tools; .ci/run installs it)", e);
        }
        try {
            if (!p.waitFor(TOOL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(command[0] + " did not finish within " + TOOL_TIMEOUT + ": " + String.join(" ", command));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command[0], e);
        }
        String said = Files.readString(out, StandardCharsets.UTF_8).strip();
        Files.delete(out);
        if (p.exitValue() != 0) {
            throw new IllegalStateException("expected " + String.join(" ", command) + " to exit 0, found exit " + p.exitValue() + ": " + said);
        }
    }

    private static void requireExecutable(Path file, String debianPackage) {
        if (!Files.isExecutable(file)) {
            throw new IllegalStateException("expected " + file + " (Debian package " + debianPackage + "; .ci/run installs it), found "
                    + (Files.exists(file) ? "a file that is not executable" : "nothing"));
        }
    }

    private static String requireName(String name, String what) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(what + ": expected letters, digits, '.', '_' or '-' (a file name), found \"" + name + "\"");
        }
        return name;
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "…";
    }
}
