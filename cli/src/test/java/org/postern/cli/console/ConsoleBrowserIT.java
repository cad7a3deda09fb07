package org.postern.cli.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;
import org.postern.pki.testing.EchoServer;
import org.postern.audit.AuditEvent;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditTrailConfig;
import org.postern.cli.PosternCliIT;
import org.postern.cli.TrailFiles;
import org.postern.cli.agent.AgentUpIT;
import org.postern.cli.browser.TestBrowser;
import org.postern.pki.PkiService;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.testing.TestPki;

/**
 * Issue 15's console in real browsers (headless Chromium with admin certificates, {@link TestBrowser})
 * against a real gateway ({@code postern gateway run}, its own JVM) and real laptops
 * ({@code postern-agent enroll} and {@code up}, each its own process) on loopback. One gateway for
 * the class: a live agent session (laptop-live) is there from the start; records a hostile peer
 * could have caused, and 60 denials of laptop-old (two pages of search), are planted in the trail
 * before the gateway starts and continues it.
 *
 * <p>Both roles read every page with real data; a security admin registers a laptop in the form,
 * the laptop enrolls with the token the page shows, tunnels, and is suspended, resumed and revoked
 * from the device page while a tunnel is open (closed within {@link #CLOSE_BOUND}); the auditor's
 * search, access report and exports list what {@code postern audit search} lists; an auditor's POST
 * and a POST without the anti-forgery token are refused and audited; hostile values stay text with
 * script on; every read page works with script off. Screenshots go to
 * {@code target/screenshots/ConsoleBrowserIT.*}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserIT {
    static final String TEST = "ConsoleBrowserIT";
    static final ObjectMapper JSON = new ObjectMapper();
    /** A suspended or revoked laptop's open tunnel closes within this (LiveRevocations polls every 200 ms). */
    static final Duration CLOSE_BOUND = Duration.ofSeconds(5);
    static final Duration PAGE_BOUND = Duration.ofSeconds(15);

    // what a peer could put in the trail: CONNECT authorities, SOCKS5 names, reasons, EST fields
    static final String SCRIPT = "<script>window.__pwned=1</script>";
    static final String ATTR = "\"><img src=x onerror=\"window.__pwned=1\">";
    static final String JS_URL = "javascript:window.__pwned=1//";
    static final String BIDI = "evil\u202Egnp.exe\u200Bx";
    /** How the console shows it, as postern audit prints it: the override and the zero-width space visible, not obeyed. */
    static final String BIDI_SHOWN = "evil\\u202egnp.exe\\u200bx";
    static final String FORMULA = "=cmd|' /C calc'!A0";
    static final String LONG = "L".repeat(15 * 1024);
    static final int OLD_DENIALS = 60;

    TestPki pki;
    Path work;
    Path trail;
    HttpServer web;
    EchoServer echo;
    int tunnelPort;
    int adminPort;
    Process gateway;
    Path gatewayOut;
    PkiService.Issued sam;
    PkiService.Issued audrey;
    Agent live;
    String liveSession;
    final List<Agent> agents = new ArrayList<>();

    /** One {@code postern-agent up} process: its home, SOCKS5 port and output. */
    final class Agent {
        final String name;
        final Path home;
        final int socks;
        final Path config;
        final Path out;
        Process process;
        int started;

        Agent(String name) throws IOException {
            this.name = name;
            this.home = work.resolve("agent-" + name);
            this.socks = AgentUpIT.freePort();
            this.out = work.resolve("up-" + name + ".out");
            this.config = Files.writeString(work.resolve("agent-" + name + ".yaml"), """
                    socks:
                      listen: 127.0.0.1:%d
                    reconnect:
                      minBackoff: 200ms
                      maxBackoff: 1s
                    ssh:
                      enabled: false
                    """.formatted(socks));
            agents.add(this);
        }

        /** Starts {@code up} and waits for its lease (a compliant decision). */
        void up() throws Exception {
            started = Files.exists(out) ? Files.readString(out).length() : 0;
            process = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "--enable-native-access=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"),
                    "-Dlogback.configurationFile=postern-agent-logback.xml", "org.postern.agent.cli.AgentCommand",
                    "--home", home.toString(), "up", "--config", config.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile())).start();
            awaitOutput("lease until ", Duration.ofSeconds(90));
        }

        void awaitOutput(String text, Duration within) {
            await().atMost(within).pollInterval(Duration.ofMillis(100)).until(() -> {
                assertThat(process.isAlive()).as("postern-agent up (" + name + ") exited: " + output()).isTrue();
                return output().contains(text);
            });
        }

        /** What this run of up printed. */
        String output() throws IOException {
            return Files.readString(out).substring(started);
        }

        void stop() throws InterruptedException {
            if (process != null && process.isAlive()) {
                process.destroy();
                if (!process.waitFor(15, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        }

        /** A SOCKS5 tunnel through this agent to {@code port} on loopback. */
        Socket tunnel(int port) throws IOException {
            Socket s = new Socket(new java.net.Proxy(java.net.Proxy.Type.SOCKS, new InetSocketAddress(InetAddress.getLoopbackAddress(), socks)));
            s.setSoTimeout(10_000);
            s.connect(InetSocketAddress.createUnresolved("127.0.0.1", port), 10_000);
            return s;
        }
    }

    @BeforeAll
    void start() throws Exception {
        pki = TestPki.create();
        work = pki.workDir("console-browser");
        trail = work.resolve("trail");
        web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        web.createContext("/", x -> {
            byte[] body = "hello from the admin host\n".getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        web.start();
        echo = EchoServer.start();
        plantRecords();
        startGateway();

        sam = pki.service.issueAdmin("sam", "security-admin", "test");
        audrey = pki.service.issueAdmin("audrey", "auditor", "test");

        // a laptop with a live session and one flow through it
        PkiService.NewDevice added = pki.service.addDevice("laptop-live", "alice", List.of("admins"), null, null, "test");
        live = new Agent("live");
        enroll(live, List.of("--gateway", "https://127.0.0.1:" + tunnelPort, "--token", added.token().reveal(),
                "--ca-sha256", pki.ca.rootSha256()));
        live.up();
        try (Socket s = live.tunnel(web.getAddress().getPort())) {
            s.getOutputStream().write("GET / HTTP/1.0\r\nHost: admin-host\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).contains("hello from the admin host");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !records("flow.open", "laptop-live").isEmpty());
        liveSession = records("session.start", "laptop-live").getFirst().path("session").asText();
        assertThat(liveSession).isNotEmpty();
    }

    @AfterAll
    void stop() throws Exception {
        for (Agent a : agents) {
            a.stop();
        }
        if (gateway != null && gateway.isAlive()) {
            gateway.destroy();
            if (!gateway.waitFor(20, TimeUnit.SECONDS)) {
                gateway.destroyForcibly();
            }
        }
        if (web != null) {
            web.stop(0);
        }
        if (echo != null) {
            echo.close();
        }
        if (pki != null) {
            pki.close();
        }
    }

    // --- 1. both roles, every page, real data ---------------------------------------------------

    @Test
    @Order(1)
    void everyPage_bothRoles_showsRealData_andNoPageHasScript() {
        for (PkiService.Issued who : List.of(sam, audrey)) {
            String name = name(who);
            try (TestBrowser b = browser("pages-" + name, who).start()) {
                visit(b, "/console/", "dashboard");
                assertThat(b.text()).contains(name + " · " + role(who)).contains("Live sessions");
                assertThat(b.driver().findElement(By.id("sessions")).getText()).contains(liveSession).contains("laptop-live")
                        .contains("alice");
                assertThat(Integer.parseInt(b.driver().findElement(By.id("active-sessions")).getText())).isGreaterThanOrEqualTo(1);
                assertThat(b.driver().findElement(By.id("trail")).getText()).contains(trail.toString());

                visit(b, "/console/devices", "devices");
                assertThat(b.driver().findElement(By.id("devices")).getText()).contains("laptop-live").contains("alice")
                        .contains("admins").contains("active");
                assertThat(b.driver().findElements(By.id("register"))).hasSize(who == sam ? 1 : 0);

                visit(b, "/console/devices/laptop-live", "device");
                assertThat(b.driver().findElement(By.id("status")).getText()).isEqualTo("active");
                assertThat(b.driver().findElement(By.id("posture")).getText()).contains("compliant").contains("lenient");
                // each check of the last decision, as posture.decision recorded it
                assertThat(b.text()).contains("pass disk: ").contains("pass os: ").doesNotContain("fail ")
                        .contains(liveSession).contains("CN=laptop-live");

                visit(b, "/console/sessions", "sessions");
                assertThat(b.driver().findElement(By.id("sessions")).getText()).contains(liveSession).contains("laptop-live")
                        .contains("127.0.0.1:");

                visit(b, "/console/admins", "admins");
                assertThat(b.driver().findElement(By.id("admins")).getText()).contains("sam").contains("audrey")
                        .contains("security-admin").contains("auditor").contains(name + " (you)");

                visit(b, "/console/policy", "policy");
                assertThat(b.text()).contains("admins-to-loopback").contains("laptop-live")
                        .contains("127.0.0.1:" + web.getAddress().getPort() + " (tcp)");
                // as gateway.yaml spells it, not as Java prints its records
                assertThat(b.driver().findElement(By.id("posture-policy")).getText()).contains("version: lenient")
                        .contains("mode: enforce").contains("lease: 10m").contains("requireDiskEncryption: false")
                        .contains("    distributions:\n      debian: \"12\"").doesNotContain("PT").doesNotContain("MinOs[");

                // oldest first, as postern audit search prints: the planted records fill the first page
                visit(b, "/console/audit", "audit");
                assertThat(b.driver().findElement(By.id("records")).getText()).contains("laptop-old");
                visit(b, "/console/audit?device=laptop-live", "audit-laptop-live");
                assertThat(b.driver().findElement(By.id("records")).getText()).contains("session.start").contains("flow.open")
                        .contains("posture.decision");

                visit(b, "/console/access", "access");
                assertThat(b.driver().findElement(By.id("access")).getText()).contains("laptop-live")
                        .contains("127.0.0.1:" + web.getAddress().getPort()).contains("compliant");

                visit(b, "/console/denials", "denials");
                assertThat(b.driver().findElement(By.id("by-device")).getText()).contains("laptop-old " + OLD_DENIALS);

                visit(b, "/console/verify", "verify");
                assertThat(b.driver().findElement(By.id("verdict")).getText()).contains("intact");

                // the selfcheck: either role may run it (it changes nothing); the browser posts the form with its token
                visit(b, "/console/selfcheck", "selfcheck");
                b.driver().findElement(By.id("run")).click();
                awaitElement(b, "note");
                b.screenshot("selfcheck-ran");
                // sam runs it; audrey's click, usually within 60 s of sam's run, is answered with that run (the throttle)
                String note = b.driver().findElement(By.id("note")).getText();
                if (who == sam) {
                    assertThat(note).isEqualTo("Ran just now.");
                } else {
                    assertThat(note).isIn("Ran just now.", "Not run again: the last run ended less than 60 s ago; its result is below.");
                }
                assertThat(b.driver().findElement(By.id("verdict")).getText()).startsWith("Worst finding: ");
                assertThat(b.driver().findElement(By.id("findings")).getText()).contains("permissions").contains("audit-trail")
                        .contains("clock");

                // what an auditor sees has no form that changes anything
                if (who == audrey) {
                    assertThat(b.open(url("/console/devices/laptop-live")).driver().findElements(By.cssSelector("form[method=post]")))
                            .isEmpty();
                    assertThat(b.text()).contains("read-only");
                }
            }
        }
    }

    // --- 2. register, enroll, tunnel, suspend, resume, revoke ----------------------------------

    @Test
    @Order(2)
    void securityAdmin_registersInTheForm_laptopEnrollsAndTunnels_suspendAndRevokeCloseTheTunnel() throws Exception {
        try (TestBrowser b = browser("lifecycle", sam).start()) {
            visit(b, "/console/devices", "devices");
            WebElement form = b.driver().findElement(By.id("register"));
            form.findElement(By.name("id")).sendKeys("laptop-web");
            form.findElement(By.name("owner")).sendKeys("bob");
            form.findElement(By.name("groups")).sendKeys("admins");
            form.findElement(By.name("serial")).sendKeys("HW-0042");
            b.screenshot("register-filled");
            form.findElement(By.cssSelector("button[type=submit]")).click();
            awaitElement(b, "token");
            b.screenshot("registered");
            String token = b.driver().findElement(By.id("token")).getText();
            String command = b.driver().findElement(By.id("enroll")).getText();
            assertThat(command).isEqualTo("postern-agent enroll --gateway https://127.0.0.1:" + tunnelPort + " --token " + token
                    + " --ca-sha256 " + pki.ca.rootSha256());
            assertThat(pki.registry.device("laptop-web").orElseThrow().status()).isEqualTo(DeviceStatus.PENDING);

            // the laptop runs what the page printed
            List<String> words = List.of(command.split(" "));
            assertThat(words.subList(0, 2)).containsExactly("postern-agent", "enroll");
            Agent laptop = new Agent("web");
            enroll(laptop, words.subList(2, words.size()));
            laptop.up();
            assertThat(pki.registry.device("laptop-web").orElseThrow().status()).isEqualTo(DeviceStatus.ACTIVE);

            // suspend from the device page while a tunnel is open
            try (Socket open = laptop.tunnel(echo.getLocalPort())) {
                assertThat(ping(open)).isEqualTo("ping\n");
                visit(b, "/console/devices/laptop-web", "device-active");
                assertThat(b.driver().findElement(By.id("sessions")).getText()).contains("laptop-web");
                long clicked = System.nanoTime();
                b.driver().findElement(By.cssSelector("#suspend button")).click();
                assertThat(closedWithin(open, clicked)).as("the open tunnel closed after the suspension").isTrue();
                System.out.printf("console suspend: tunnel closed %d ms after the click%n", (System.nanoTime() - clicked) / 1_000_000);
                outcome(b, "suspended", true);
            }
            assertThat(pki.registry.device("laptop-web").orElseThrow().status()).isEqualTo(DeviceStatus.SUSPENDED);
            laptop.awaitOutput("suspended", Duration.ofSeconds(10));

            // resume; a suspended agent waits 15 minutes before it tries again, so its user restarts it
            visit(b, "/console/devices/laptop-web", "device-suspended");
            assertThat(b.driver().findElement(By.id("status")).getText()).isEqualTo("suspended");
            b.driver().findElement(By.cssSelector("#resume button")).click();
            outcome(b, "resumed", false);
            assertThat(pki.registry.device("laptop-web").orElseThrow().status()).isEqualTo(DeviceStatus.ACTIVE);
            laptop.stop();
            laptop.up();

            // revoke with a reason while a tunnel is open again
            try (Socket open = laptop.tunnel(echo.getLocalPort())) {
                assertThat(ping(open)).isEqualTo("ping\n");
                visit(b, "/console/devices/laptop-web", "device-resumed");
                new Select(b.driver().findElement(By.cssSelector("#revoke select[name=reason]"))).selectByValue("lost");
                long clicked = System.nanoTime();
                b.driver().findElement(By.cssSelector("#revoke button")).click();
                assertThat(closedWithin(open, clicked)).as("the open tunnel closed after the revocation").isTrue();
                System.out.printf("console revoke: tunnel closed %d ms after the click%n", (System.nanoTime() - clicked) / 1_000_000);
                outcome(b, "revoked", true);
            }
            assertThat(pki.registry.device("laptop-web").orElseThrow().status()).isEqualTo(DeviceStatus.REVOKED);
            // up stops: a revoked laptop does not try again (exit 3)
            assertThat(laptop.process.waitFor(30, TimeUnit.SECONDS)).as(laptop.output()).isTrue();
            assertThat(laptop.process.exitValue()).as(laptop.output()).isEqualTo(3);
            await().atMost(Duration.ofSeconds(10)).until(() -> records("session.end", "laptop-web").stream()
                    .anyMatch(e -> e.path("reason").asText().equals("revoked")));
            visit(b, "/console/devices/laptop-web", "device-revoked");
            assertThat(b.driver().findElement(By.id("status")).getText()).isEqualTo("revoked");
            assertThat(b.text()).contains("(lost)");
        }
        List<String> actions = TrailFiles.records(trail).stream().filter(e -> e.path("type").asText().equals("admin.action"))
                .map(e -> e.path("admin").asText() + " " + e.path("action").asText() + " " + e.path("target").asText() + " "
                        + e.path("result").asText()).toList();
        assertThat(actions).contains("sam device.add laptop-web done", "sam device.suspend laptop-web done",
                "sam device.resume laptop-web done", "sam device.revoke laptop-web done");
    }

    // --- 3. the auditor's search, access report and exports = postern audit search --------------

    @Test
    @Order(3)
    void auditor_searchAccessReportAndExports_listWhatTheCliLists() throws Exception {
        List<JsonNode> cli = cliSearch("--device", "laptop-live", "--type", "flow.");
        Set<String> expected = cli.stream().map(e -> e.path("seq").asLong() + " " + e.path("type").asText())
                .collect(Collectors.toSet());
        assertThat(expected).as("flow records of laptop-live").anyMatch(k -> k.endsWith("flow.open"))
                .anyMatch(k -> k.endsWith("flow.close"));
        try (TestBrowser b = browser("auditor-search", audrey).start()) {
            visit(b, "/console/audit", "search-all");
            filter(b, "device", "laptop-live", "type", "flow.");
            assertThat(b.driver().getCurrentUrl()).contains("device=laptop-live").contains("type=flow.");
            b.screenshot("search-filtered");
            Set<String> shown = new HashSet<>();
            for (List<String> row : rows(b, "records")) {
                assertThat(row.get(5)).isEqualTo("laptop-live");
                shown.add(row.get(2) + " " + row.get(3));
            }
            assertThat(shown).isEqualTo(expected);
            assertThat(b.driver().findElement(By.id("counted")).getText()).isEqualTo(String.valueOf(expected.size()));

            Path csv = b.download(By.cssSelector("a[href*='format=csv']"), PAGE_BOUND);
            List<List<String>> table = Csv.parse(Files.readString(csv, StandardCharsets.UTF_8));
            assertThat(table.getFirst().getFirst()).isEqualTo("\uFEFFtime");
            assertThat(table.getFirst().subList(1, 3)).containsExactly("seq", "type");
            assertThat(table.subList(1, table.size()).stream().map(r -> r.get(1) + " " + r.get(2)).collect(Collectors.toSet()))
                    .isEqualTo(expected);
            assertThat(table).hasSize(expected.size() + 1);

            Path jsonl = b.download(By.cssSelector("a[href*='format=jsonl']"), PAGE_BOUND);
            List<JsonNode> exported = new ArrayList<>();
            for (String line : Files.readAllLines(jsonl, StandardCharsets.UTF_8)) {
                exported.add(JSON.readTree(line));
            }
            // the export is the records as written: the same JSON as the CLI prints
            assertThat(exported).containsExactlyInAnyOrderElementsOf(cli);

            // the access report: one row per flow.open, with the posture and policies it was let in on
            List<JsonNode> opens = cliSearch("--device", "laptop-live", "--type", "flow.open");
            visit(b, "/console/access", "access-all");
            filter(b, "device", "laptop-live");
            b.screenshot("access-filtered");
            List<List<String>> access = rows(b, "access");
            assertThat(access).hasSize(opens.size());
            Set<String> want = opens.stream().map(e -> e.path("dest").asText() + " " + e.path("session").asText() + " "
                    + e.path("posture").asText() + " " + e.path("posturePolicy").asText() + " " + e.path("accessPolicy").asText())
                    .collect(Collectors.toSet());
            Set<String> got = access.stream().map(r -> r.get(3) + " " + r.get(8) + " " + r.get(5) + " " + r.get(6) + " " + r.get(7))
                    .collect(Collectors.toSet());
            assertThat(got).isEqualTo(want);
            assertThat(access).allSatisfy(r -> {
                assertThat(r.get(2)).isEqualTo("laptop-live");
                assertThat(r.get(1)).isEqualTo("alice");
                assertThat(r.get(5)).isEqualTo("compliant");
                assertThat(r.get(6)).isEqualTo("lenient");
                assertThat(r.get(7)).isNotBlank().isNotEqualTo("—");
            });
        }
    }

    // --- 4 and 5. refused POSTs ---------------------------------------------------------------

    @Test
    @Order(4)
    void auditor_postingARevoke_isRefused403_auditedAndNothingChanges() throws Exception {
        try (TestBrowser b = browser("auditor-post", audrey).start()) {
            visit(b, "/console/devices/laptop-live", "device");
            // the page has no such form for an auditor: the test builds one, as a crafted page would
            postForm(b, "/console/devices/laptop-live/revoke", "reason", "lost");
            awaitElement(b, "outcome");
            b.screenshot("refused");
            assertThat(b.title()).startsWith("Refused");
            assertThat(b.driver().findElement(By.id("outcome")).getText())
                    .isEqualTo("Refused: role auditor is read-only: it may not change anything.");
            assertThat(b.hostileScriptRan()).isFalse();
        }
        assertThat(pki.registry.device("laptop-live").orElseThrow().status()).isEqualTo(DeviceStatus.ACTIVE);
        assertThat(records("admin.denied", null)).anySatisfy(e -> {
            assertThat(e.path("admin").asText()).isEqualTo("audrey");
            assertThat(e.path("role").asText()).isEqualTo("auditor");
            assertThat(e.path("reason").asText()).isEqualTo("admin.role_forbidden");
            assertThat(e.path("action").asText()).isEqualTo("/console/devices/laptop-live/revoke");
        });
    }

    @Test
    @Order(5)
    void securityAdmin_postWithoutTheCsrfToken_isRefused403_auditedAndNothingChanges() throws Exception {
        try (TestBrowser b = browser("no-csrf", sam).start()) {
            visit(b, "/console/devices/laptop-live", "device");
            postForm(b, "/console/devices/laptop-live/suspend");
            awaitElement(b, "outcome");
            b.screenshot("refused");
            assertThat(b.title()).startsWith("Refused");
            assertThat(b.driver().findElement(By.id("outcome")).getText()).startsWith("Refused: the form's anti-forgery token is missing");
        }
        assertThat(pki.registry.device("laptop-live").orElseThrow().status()).isEqualTo(DeviceStatus.ACTIVE);
        assertThat(records("admin.denied", null)).anySatisfy(e -> {
            assertThat(e.path("admin").asText()).isEqualTo("sam");
            assertThat(e.path("reason").asText()).isEqualTo("admin.csrf");
            assertThat(e.path("action").asText()).isEqualTo("/console/devices/laptop-live/suspend");
        });
        assertThat(records("session.end", "laptop-live")).as("laptop-live's session went on").isEmpty();
    }

    // --- 6. hostile values from the trail stay text --------------------------------------------

    @Test
    @Order(6)
    void hostileTrailValues_renderAsText_withScriptOn_andCsvNeutralisesFormulas() throws Exception {
        try (TestBrowser b = browser("hostile", audrey).start()) {
            visit(b, "/console/audit?device=laptop-hostile", "search");
            // the trail keeps AuditEvent.FIELD_MAX characters of a value and says how many it left out
            String longDest = LONG + ":443";
            String stored = longDest.substring(0, AuditEvent.FIELD_MAX) + "…(+" + (longDest.length() - AuditEvent.FIELD_MAX) + " chars)";
            assertInert(b, "records", SCRIPT, ATTR, JS_URL, BIDI_SHOWN, FORMULA, stored);
            visit(b, "/console/access?device=laptop-hostile", "access");
            assertInert(b, "access", ATTR, JS_URL, SCRIPT + BIDI_SHOWN);
            visit(b, "/console/denials?device=laptop-hostile", "denials");
            assertInert(b, "by-reason", ATTR, JS_URL, FORMULA);
            visit(b, "/console/", "dashboard");
            assertInert(b, null, ATTR, JS_URL, FORMULA);

            visit(b, "/console/audit?device=laptop-hostile", "search-again");
            Path csv = b.download(By.cssSelector("a[href*='format=csv']"), PAGE_BOUND);
            List<List<String>> table = Csv.parse(Files.readString(csv, StandardCharsets.UTF_8));
            int reason = table.getFirst().indexOf("reason");
            List<String> formulas = table.stream().map(r -> r.get(reason)).filter(c -> c.contains("cmd|")).toList();
            assertThat(formulas).as("the formula reason's cells").isNotEmpty()
                    .allSatisfy(c -> assertThat(c).isEqualTo("'" + FORMULA));
        }
    }

    // --- 7. script off ------------------------------------------------------------------------

    @Test
    @Order(7)
    void readPages_workWithoutJavaScript_pagingAndTheFilterForm() {
        try (TestBrowser b = browser("no-script", audrey).javascript(false).start()) {
            for (String page : List.of("/console/", "/console/devices", "/console/devices/laptop-live", "/console/sessions",
                    "/console/admins", "/console/policy", "/console/access", "/console/denials", "/console/verify",
                    "/console/selfcheck")) {
                visit(b, page, page.equals("/console/") ? "dashboard" : page.substring("/console/".length()).replace('/', '-'));
                assertThat(b.text()).as(page).contains("audrey · auditor · read-only");
            }
            assertThat(b.open(url("/console/verify")).driver().findElement(By.id("verdict")).getText()).contains("intact");
            assertThat(b.open(url("/console/devices/laptop-live")).driver().findElement(By.id("status")).getText()).isEqualTo("active");

            // the filter form, sent by the browser as a GET, then the next page
            visit(b, "/console/audit", "audit");
            filter(b, "device", "laptop-old");
            b.screenshot("audit-filtered");
            assertThat(b.driver().getCurrentUrl()).contains("/console/audit?").contains("device=laptop-old");
            assertThat(b.driver().findElement(By.id("counted")).getText()).isEqualTo(String.valueOf(OLD_DENIALS));
            List<List<String>> first = rows(b, "records");
            assertThat(first).hasSize(50).allSatisfy(r -> assertThat(r.get(5)).isEqualTo("laptop-old"));
            b.driver().findElement(By.id("next")).click();
            await().atMost(PAGE_BOUND).until(() -> b.driver().getCurrentUrl().contains("after="));
            b.screenshot("audit-page-2");
            List<List<String>> second = rows(b, "records");
            assertThat(second).hasSize(OLD_DENIALS - 50).allSatisfy(r -> assertThat(r.get(5)).isEqualTo("laptop-old"));
            Set<String> seqs = new HashSet<>();
            first.forEach(r -> seqs.add(r.get(2)));
            second.forEach(r -> assertThat(seqs.add(r.get(2))).as("seq " + r.get(2) + " on one page only").isTrue());
            assertThat(b.text()).contains("First page").contains("Last page.");
            assertThat(b.hostileScriptRan()).isFalse();
        }
    }

    // --- the gateway and its trail ---------------------------------------------------------------

    /**
     * The records a hostile peer could cause (its names, reasons and policy strings come back from the
     * trail), and 60 denials of laptop-old, written with the gateway's own key into the trail it continues.
     */
    private void plantRecords() throws IOException {
        Files.createDirectories(trail);
        AuditKeys keys = AuditKeys.loadOrCreate(pki.dataDir.resolve("audit.key"), new SecureRandom());
        try (AuditTrail t = new AuditTrail(trail, AuditTrailConfig.defaults("gw-console"), keys)) {
            Instant at = Instant.now().minusSeconds(600);
            for (int i = 0; i < OLD_DENIALS; i++) {
                t.record(AuditEvent.of("access.denied", at.plusMillis(i)).with("device", "laptop-old").with("user", "carol")
                        .with("dest", "10.9.0." + i + ":22").with("reason", "access.no_rule").with("session", "s-old").build());
            }
            at = Instant.now().minusSeconds(300);
            t.record(AuditEvent.of("access.denied", at).with("device", "laptop-hostile").with("user", SCRIPT)
                    .with("dest", SCRIPT + ":22").with("reason", ATTR).with("session", "s-h").build());
            t.record(AuditEvent.of("access.denied", at.plusMillis(1)).with("device", "laptop-hostile").with("user", "mallory")
                    .with("dest", JS_URL).with("reason", JS_URL).with("session", "s-h").build());
            t.record(AuditEvent.of("access.denied", at.plusMillis(2)).with("device", "laptop-hostile").with("user", BIDI)
                    .with("dest", LONG + ":443").with("reason", FORMULA).with("session", "s-h").build());
            t.record(AuditEvent.of("flow.open", at.plusMillis(3)).with("device", "laptop-hostile").with("user", ATTR)
                    .with("dest", JS_URL + ":443").with("session", "s-h").with("via", "connect").with("posture", "compliant")
                    .with("posturePolicy", SCRIPT + BIDI).with("accessPolicy", ATTR).build());
        }
    }

    private void startGateway() throws Exception {
        tunnelPort = AgentUpIT.freePort();
        adminPort = AgentUpIT.freePort();
        // enforcing, and lenient enough for this machine (no disk encryption here): the laptops are compliant
        Path config = Files.writeString(work.resolve("gateway.yaml"), """
                gateway:
                  id: gw-console
                dataDir: %s
                listeners:
                  tunnel: 127.0.0.1:%d
                  admin: 127.0.0.1:%d
                  ssh: 127.0.0.1:%d
                posture:
                  version: lenient
                  mode: enforce
                  requireDiskEncryption: false
                  maxDaysSinceUpdate: 365
                  maxSecurityPendingDays: 365
                  unsafeAllowUnknownPendingAge: true
                access:
                  rules:
                    - name: admins-to-loopback
                      groups: [admins]
                      to: ["127.0.0.1:%d", "127.0.0.1:%d"]
                audit:
                  dir: %s
                  minFree: 1MiB
                """.formatted(pki.dataDir, tunnelPort, adminPort, AgentUpIT.freePort(), web.getAddress().getPort(),
                echo.getLocalPort(), trail));
        gatewayOut = work.resolve("gateway.out");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "org.postern.cli.PosternCommand", "gateway", "run", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(gatewayOut.toFile());
        pb.environment().put("POSTERN_CA_PASSPHRASE", TestPki.PASSPHRASE.reveal());
        gateway = pb.start();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
            assertThat(gateway.isAlive()).as("gateway exited: " + Files.readString(gatewayOut)).isTrue();
            return Files.readString(gatewayOut).contains("Stop with Ctrl-C.");
        });
    }

    /** {@code postern-agent --home HOME enroll ARGS}, in this JVM as other agent tests run it. */
    private void enroll(Agent a, List<String> args) {
        List<String> all = new ArrayList<>(List.of("--home", a.home.toString(), "enroll"));
        all.addAll(args);
        AgentUpIT.Run r = AgentUpIT.agent(all.toArray(String[]::new));
        assertThat(r.code()).as(r.out() + r.err()).isZero();
    }

    /** {@code postern audit search TRAIL ARGS --json}, the records it prints. */
    private List<JsonNode> cliSearch(String... args) throws IOException {
        List<String> all = new ArrayList<>(List.of("audit", "search", trail.toString(), "--json"));
        all.addAll(List.of(args));
        PosternCliIT.Run r = PosternCliIT.run(all.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        List<JsonNode> out = new ArrayList<>();
        for (String line : r.out().split("\n")) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    /** The trail's records of {@code type}, of {@code device} when not null. */
    private List<JsonNode> records(String type, String device) throws IOException {
        return TrailFiles.records(trail).stream().filter(e -> e.path("type").asText().equals(type))
                .filter(e -> device == null || device.equals(e.path("device").asText())).toList();
    }

    // --- the browser ----------------------------------------------------------------------------

    private String url(String path) {
        return "https://127.0.0.1:" + adminPort + path;
    }

    private TestBrowser.Builder browser(String test, PkiService.Issued admin) {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(admin.certificate());
        chain.addAll(pki.ca.chain());
        return TestBrowser.builder(TEST + "." + test).clientCertificate(admin.keys().getPrivate(), chain).trust(pki.ca.root());
    }

    private static String name(PkiService.Issued admin) {
        return admin.certificate().getSubjectX500Principal().getName().replaceFirst("^CN=([^,]+),.*$", "$1");
    }

    private String role(PkiService.Issued admin) {
        return admin == sam ? "security-admin" : "auditor";
    }

    /** Opens {@code path}, checks it is a console page with no script that ran, saves a screenshot. */
    private void visit(TestBrowser b, String path, String shot) {
        b.open(url(path));
        assertThat(b.loadError()).isEmpty();
        assertThat(b.title()).as(path).contains("· Postern gw-console");
        b.screenshot(shot);
        assertThat(b.hostileScriptRan()).as("script ran on " + path).isFalse();
        assertThat(b.driver().findElements(By.tagName("script"))).as("script elements on " + path).isEmpty();
    }

    private static void awaitElement(TestBrowser b, String id) {
        await().atMost(PAGE_BOUND).pollInterval(Duration.ofMillis(50))
                .until(() -> !b.driver().findElements(By.id(id)).isEmpty());
    }

    /** Waits for the outcome page of an action and checks it says {@code word}. */
    private static void outcome(TestBrowser b, String word, boolean screenshot) {
        awaitElement(b, "outcome");
        WebElement o = b.driver().findElement(By.id("outcome"));
        assertThat(o.getAttribute("class")).as(o.getText()).isEqualTo("ok");
        assertThat(o.getText()).containsIgnoringCase(word);
        if (screenshot) {
            b.screenshot("outcome-" + word);
        }
    }

    /** Fills the filter form's fields (name, value, …) and submits it. */
    private static void filter(TestBrowser b, String... fields) {
        String before = b.driver().getCurrentUrl();
        WebElement form = b.driver().findElement(By.id("filter"));
        for (int i = 0; i < fields.length; i += 2) {
            WebElement input = form.findElement(By.name(fields[i]));
            input.clear();
            input.sendKeys(fields[i + 1]);
        }
        form.findElement(By.cssSelector("button[type=submit]")).click();
        await().atMost(PAGE_BOUND).until(() -> !b.driver().getCurrentUrl().equals(before));
    }

    /** The cells of a table's body rows, as text. */
    private static List<List<String>> rows(TestBrowser b, String tableId) {
        List<List<String>> rows = new ArrayList<>();
        for (WebElement tr : b.driver().findElements(By.cssSelector("#" + tableId + " tbody tr"))) {
            // textContent: the cell as written, whatever CSS hides (the JSON in a closed <details>)
            rows.add(tr.findElements(By.tagName("td")).stream().map(td -> td.getAttribute("textContent").strip()).toList());
        }
        return rows;
    }

    /** Builds and submits a POST form on the current page, as a crafted page or a console user's own script would. */
    private static void postForm(TestBrowser b, String action, String... fields) {
        ((JavascriptExecutor) b.driver()).executeScript("""
                const f = document.createElement('form');
                f.method = 'post';
                f.action = arguments[0];
                const fields = arguments[1];
                for (let i = 0; i < fields.length; i += 2) {
                  const input = document.createElement('input');
                  input.type = 'hidden';
                  input.name = fields[i];
                  input.value = fields[i + 1];
                  f.appendChild(input);
                }
                document.body.appendChild(f);
                f.submit();
                """, action, List.of(fields));
    }

    /**
     * The page (or one element of it) holds each value as text, exactly as written: no element,
     * attribute or link was made from it, and no script ran.
     */
    private static void assertInert(TestBrowser b, String id, String... values) {
        JavascriptExecutor js = (JavascriptExecutor) b.driver();
        String text = (String) js.executeScript("const e = arguments[0] ? document.getElementById(arguments[0]) : document.body;"
                + " return e.textContent;", id);
        for (String v : values) {
            assertThat(text.contains(v)).as("the text of #" + id + " holds " + abbreviate(v) + " (page text: " + abbreviate(text) + ")")
                    .isTrue();
        }
        assertThat(((Number) js.executeScript("return document.querySelectorAll('script, img, iframe, object, embed').length;"))
                .intValue()).isZero();
        assertThat(((Number) js.executeScript("return [...document.querySelectorAll('[href], [src], [action]')]"
                + ".filter(e => /^\\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action')))"
                + ".length;")).intValue()).as("links to javascript: URLs").isZero();
        assertThat(((Number) js.executeScript("return [...document.querySelectorAll('*')].filter(e => [...e.attributes]"
                + ".some(a => a.name.startsWith('on'))).length;")).intValue()).as("elements with event handlers").isZero();
        assertThat(text).as("the page's text holds no bidi override or zero-width character").doesNotContain("\u202E", "\u200B");
        assertThat(b.hostileScriptRan()).isFalse();
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 60) + "… (" + s.length() + " chars)";
    }

    // --- tunnels --------------------------------------------------------------------------------

    static String ping(Socket s) throws IOException {
        s.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return new String(s.getInputStream().readNBytes(5), StandardCharsets.US_ASCII);
    }

    /** Whether the tunnel ends (EOF or reset) within {@link #CLOSE_BOUND} of {@code since} (a nanoTime). */
    static boolean closedWithin(Socket s, long since) throws IOException {
        long left = CLOSE_BOUND.toMillis() - (System.nanoTime() - since) / 1_000_000;
        if (left <= 0) {
            return false;
        }
        s.setSoTimeout((int) left);
        try {
            return s.getInputStream().read() < 0;
        } catch (java.net.SocketTimeoutException hung) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }


    /** Just enough RFC 4180 to read the export: quoted cells with doubled quotes, commas and line breaks. */
    static final class Csv {
        static List<List<String>> parse(String text) {
            List<List<String>> rows = new ArrayList<>();
            List<String> row = new ArrayList<>();
            StringBuilder cell = new StringBuilder();
            boolean quoted = false;
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (quoted) {
                    if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                        cell.append('"');
                        i++;
                    } else if (c == '"') {
                        quoted = false;
                    } else {
                        cell.append(c);
                    }
                } else if (c == '"') {
                    quoted = true;
                } else if (c == ',') {
                    row.add(cell.toString());
                    cell.setLength(0);
                } else if (c == '\n' || c == '\r') {
                    if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                        i++;
                    }
                    row.add(cell.toString());
                    cell.setLength(0);
                    rows.add(row);
                    row = new ArrayList<>();
                } else {
                    cell.append(c);
                }
            }
            if (!cell.isEmpty() || !row.isEmpty()) {
                row.add(cell.toString());
                rows.add(row);
            }
            return rows;
        }
    }
}
