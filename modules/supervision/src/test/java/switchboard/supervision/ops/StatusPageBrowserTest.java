package switchboard.supervision.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.supervision.ops.HeadlessChromium.attr;
import static switchboard.supervision.ops.HeadlessChromium.attrs;
import static switchboard.supervision.ops.HeadlessChromium.await;
import static switchboard.supervision.ops.HeadlessChromium.text;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Loads the real status page (the channels module's classpath resource) in headless Chromium against
 * a fake {@code /api/status} that asks for a token and then turns its first provider from closed to
 * open, as after a 402, a fake {@code /api/history} with five minutes of data for the charts, and a
 * fake reset endpoint that closes the provider again. Skipped where Debian's chromium-driver is not installed (failed instead when
 * SWITCHBOARD_REQUIRE_BROWSER=1).
 */
@Timeout(120)
class StatusPageBrowserTest {
  private static final String TOKEN = "status-page-test-token";

  private final AtomicBoolean primaryOpen = new AtomicBoolean();
  private final AtomicBoolean keyRefused = new AtomicBoolean();
  private final AtomicBoolean clustered = new AtomicBoolean();
  private final AtomicInteger unauthorized = new AtomicInteger();
  private final List<String> resets = new CopyOnWriteArrayList<>();
  private HttpServer server;
  private ChromeDriver driver;

  @BeforeEach
  void start(@TempDir Path profile) throws IOException {
    HeadlessChromium.assumeInstalled();
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::page);
    server.createContext("/api/status", this::status);
    server.createContext("/api/history", this::history);
    server.createContext("/api/providers/", this::reset);
    server.start();
    driver = HeadlessChromium.start(profile);
  }

  @AfterEach
  void stop() {
    if (driver != null) {
      driver.quit();
    }
    if (server != null) {
      server.stop(0);
    }
  }

  @Test
  void asksForTheTokenThenShowsAProviderTurnOpenInPlainWordsWithChartsAndResetsIt() throws IOException {
    driver.manage().window().setSize(new Dimension(1200, 900));
    driver.get("http://127.0.0.1:" + server.getAddress().getPort() + "/");
    WebDriverWait wait = await(driver);

    WebElement tokenField = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
    assertTrue(unauthorized.get() > 0, "the page asked without a token first");
    tokenField.sendKeys(TOKEN);
    driver.findElement(By.cssSelector("#login-form button")).click();

    By primary = By.cssSelector("tr.provider[data-provider='primary']");
    wait.until(ExpectedConditions.attributeToBe(primary, "data-state", "closed"));
    List<String> order = attrs(driver, By.cssSelector("tr.provider"), "data-provider");
    assertEquals(List.of("primary", "backup"), order, "providers in priority order");
    assertEquals("closed", attr(driver, By.cssSelector(".key[data-key='primary#1']"), "data-state"));
    assertEquals("up", attr(driver, By.id("overall"), "data-state"));
    assertTrue(text(driver, By.cssSelector("tr.channel[data-channel='http']")).contains("3 / 100"));
    assertEquals("SIGTERM", attr(driver, By.id("last-shutdown"), "data-reason"));
    String lastShutdown = text(driver, By.id("last-shutdown"));
    assertTrue(lastShutdown.startsWith("Previous run stopped ") && lastShutdown.endsWith(": SIGTERM, 0 unanswered"),
        lastShutdown);

    wait.until(ExpectedConditions.textToBePresentInElementLocated(primary, "working"));
    assertEquals("all providers working", text(driver, By.id("overall")));
    assertTrue(driver.findElements(By.cssSelector("button.reset")).isEmpty(), "nothing to reset while all work");
    for (String chart : List.of("calls", "latency", "spend")) {
      wait.until(ExpectedConditions.attributeToBe(
          By.cssSelector("svg.chart[data-chart='" + chart + "'][data-provider='primary']"), "data-points", "5"));
    }
    wait.until(ExpectedConditions.attributeToBe(
        By.cssSelector("svg.chart[data-chart='messages'][data-channel='http']"), "data-points", "5"));
    assertEquals(10, driver.findElements(By.cssSelector("svg.chart[data-chart='calls'][data-provider='primary'] rect")).size(),
        "each minute stacks ok and failed calls");
    assertEquals("0", attr(driver, By.cssSelector("svg.chart[data-chart='calls'][data-provider='backup']"), "data-points"));
    assertTrue(text(driver, By.cssSelector(".history[data-provider='backup']")).contains("no calls in the last hour"));

    primaryOpen.set(true);
    wait.until(ExpectedConditions.attributeToBe(primary, "data-state", "open"));
    wait.until(ExpectedConditions.textToBePresentInElementLocated(primary, "paused until"));
    wait.until(ExpectedConditions.textToBePresentInElementLocated(primary, "out of credits"));
    assertEquals("1 of 2 providers paused", text(driver, By.id("overall")));
    assertEquals("open", attr(driver, By.cssSelector(".key[data-key='primary#1']"), "data-state"));
    assertEquals("degraded", attr(driver, By.id("overall"), "data-state"));
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("li.alert[data-type='out_of_credits']")));
    screenshot("status-page-desktop.png");

    driver.manage().window().setSize(new Dimension(390, 844));
    wait.until(ExpectedConditions.attributeToBe(primary, "data-state", "open"));
    Long scrollWidth = (Long) driver.executeScript("return document.documentElement.scrollWidth");
    Long clientWidth = (Long) driver.executeScript("return document.documentElement.clientWidth");
    assertNotNull(scrollWidth);
    assertTrue(scrollWidth <= clientWidth, "no sideways scrolling on a phone: " + scrollWidth + " > " + clientWidth);
    screenshot("status-page-phone.png");

    driver.manage().window().setSize(new Dimension(1200, 900));
    By resetPrimary = By.cssSelector("button.reset[data-provider='primary']:not([data-key])");
    wait.until(d -> click(d.findElement(resetPrimary)));
    wait.until(ExpectedConditions.attributeToBe(By.id("notice"), "data-kind", "ok"));
    assertEquals("primary reset by you", text(driver, By.id("notice")));
    assertEquals(List.of("primary {}"), resets);
    wait.until(ExpectedConditions.attributeToBe(primary, "data-state", "closed"));
    assertEquals("up", attr(driver, By.id("overall"), "data-state"));
  }

  @Test
  void plainWordsForAKeyRefusedAndAResetOfOneKey() {
    keyRefused.set(true);
    clustered.set(true);
    driver.manage().window().setSize(new Dimension(1200, 900));
    driver.get("http://127.0.0.1:" + server.getAddress().getPort() + "/");
    WebDriverWait wait = await(driver);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token"))).sendKeys(TOKEN);
    driver.findElement(By.cssSelector("#login-form button")).click();

    By primary = By.cssSelector("tr.provider[data-provider='primary']");
    wait.until(ExpectedConditions.attributeToBe(primary, "data-state", "open"));
    wait.until(ExpectedConditions.textToBePresentInElementLocated(primary, "paused — needs an operator (key refused)"));
    wait.until(d -> click(d.findElement(By.cssSelector("button.reset[data-provider='primary'][data-key='primary#1']"))));
    wait.until(ExpectedConditions.attributeToBe(By.id("notice"), "data-kind", "ok"));
    assertEquals("key primary#1 of primary reset by you", text(driver, By.id("notice")));
    assertEquals(List.of("primary {\"key\":\"primary#1\"}"), resets);

    // a cluster node shows its members: this one, and one that stopped answering
    By dead = By.cssSelector("tr.member[data-address='127.0.0.1:25521']");
    wait.until(ExpectedConditions.visibilityOfElementLocated(dead));
    assertEquals(List.of("127.0.0.1:25520", "127.0.0.1:25521"), attrs(driver, By.cssSelector("tr.member"), "data-address"));
    assertTrue(text(driver, By.cssSelector("tr.member[data-address='127.0.0.1:25520']")).contains("(this node)"));
    assertTrue(text(driver, dead).contains("no — being downed"), text(driver, dead));
    assertTrue(text(driver, By.id("cluster-title")).contains("this node 127.0.0.1:25520, up; leader 127.0.0.1:25520"),
        text(driver, By.id("cluster-title")));
  }

  /** Clicks {@code button}; false when a redraw replaced it first, so a wait tries again. */
  private static boolean click(WebElement button) {
    try {
      button.click();
      return true;
    } catch (StaleElementReferenceException e) {
      return false;
    }
  }

  private void screenshot(String name) throws IOException {
    HeadlessChromium.screenshot(driver, name);
  }

  private void page(HttpExchange exchange) throws IOException {
    if (!exchange.getRequestURI().getPath().equals("/")) {
      send(exchange, 404, "text/plain", "not found");
      return;
    }
    try (InputStream in = StatusPageBrowserTest.class.getResourceAsStream("/switchboard/status/index.html")) {
      assertNotNull(in, "the status page is on the classpath");
      send(exchange, 200, "text/html; charset=utf-8", new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  /** False (and 401 sent) without the page's token. */
  private boolean authorized(HttpExchange exchange) throws IOException {
    if (("Bearer " + TOKEN).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
      return true;
    }
    unauthorized.incrementAndGet();
    send(exchange, 401, "application/json", "{\"error\":{\"type\":\"unauthorized\",\"message\":\"missing or wrong token\"}}");
    return false;
  }

  /** Five minutes of primary and http traffic up to the last one; backup has none. */
  private void history(HttpExchange exchange) throws IOException {
    if (!authorized(exchange)) {
      return;
    }
    Instant now = Instant.now();
    List<String> primary = new ArrayList<>();
    List<String> http = new ArrayList<>();
    for (int ago = 5; ago >= 1; ago--) {
      Instant start = now.minus(ago, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MINUTES);
      primary.add("{\"start\": \"%s\", \"calls\": {\"ok\": %d, \"out_of_credits\": 1}, \"refused\": 0, \"p50_ms\": %d.0, \"p99_ms\": %d.0, \"spend\": 0.0012}"
          .formatted(start, ago + 2, 10 + ago, 40 + 10 * ago));
      http.add("{\"start\": \"%s\", \"messages\": %d, \"busy\": %d, \"outcomes\": {\"ok\": %d}}".formatted(start, ago + 3, ago % 2, ago + 3));
    }
    send(exchange, 200, "application/json", """
        {"minutes": 60, "now": "%s",
         "providers": [{"name": "primary", "buckets": [%s]}, {"name": "backup", "buckets": []}],
         "channels": [{"name": "http", "buckets": [%s]}]}
        """.formatted(now, String.join(",", primary), String.join(",", http)));
  }

  /** {@code POST /api/providers/primary/reset} as the gateway answers it: closes the fake's breakers. */
  private void reset(HttpExchange exchange) throws IOException {
    if (!authorized(exchange)) {
      return;
    }
    boolean asExpected = exchange.getRequestMethod().equals("POST")
        && exchange.getRequestURI().getPath().equals("/api/providers/primary/reset")
        && "status-page".equals(exchange.getRequestHeaders().getFirst("X-Switchboard-Origin"))
        && exchange.getRequestHeaders().getFirst("Content-Type").startsWith("application/json");
    if (!asExpected) {
      send(exchange, 404, "application/json", "{\"error\":{\"type\":\"not_found\",\"message\":\"unexpected reset request\"}}");
      return;
    }
    String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    resets.add("primary " + body);
    primaryOpen.set(false);
    keyRefused.set(false);
    send(exchange, 200, "application/json", "{\"provider\": \"primary\", \"key\": null, \"reset_by\": \"status-page\", \"closed\": 2, \"status\": {}}");
  }

  private void status(HttpExchange exchange) throws IOException {
    if (!authorized(exchange)) {
      return;
    }
    boolean refused = keyRefused.get();
    boolean open = primaryOpen.get() || refused;
    String reason = refused ? "auth_failed" : "out_of_credits";
    Instant until = Instant.now().plus(9, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
    String primaryState = open ? "open" : "closed";
    String json = """
        {"providers": [
          {"name": "backup", "priority": 2, "kind": "anthropic", "model": "claude-3-5-haiku-latest", "state": "closed",
           "reason": null, "open_until": null,
           "keys": [{"alias": "backup#1", "state": "closed"}],
           "throttle": {"requests_left": -1, "tokens_left": -1, "queued": 0},
           "accounting": {"calls": %d, "input_tokens": 5120, "output_tokens": 2048, "spend_total": 0.42, "spend_today": 0.12, "spend_month": 0.42}},
          {"name": "primary", "priority": 1, "kind": "openai", "model": "gpt-4o-mini", "state": "%s",
           "reason": %s, "open_until": %s,
           "keys": [{"alias": "primary#1", "state": "%s", "reason": %s}, {"alias": "primary#2", "state": "closed"}],
           "throttle": {"requests_left": 57, "tokens_left": 39000, "queued": 0},
           "accounting": {"calls": 40, "input_tokens": 12000, "output_tokens": 4000, "spend_total": 1.5, "spend_today": 0.31, "spend_month": 1.5}}
        ],
        "channels": [
          {"name": "http", "pending": 3, "max_pending": 100, "state": "serving", "busy_replies": 0},
          {"name": "telegram", "pending": 9, "max_pending": 10, "state": "polling", "busy_replies": 4}
        ],
        "alerts": %s,%s
        "last_shutdown": {"time": "2025-03-01T10:00:00Z", "reason": "SIGTERM", "unanswered": 0, "started": "2025-02-28T08:00:00Z", "detail": null},
        "uptime_seconds": 7384}
        """.formatted(
            open ? 12 : 3,
            primaryState,
            open ? "\"" + reason + "\"" : "null",
            open && !refused ? "\"" + until + "\"" : "null",
            primaryState,
            open ? "\"" + reason + "\"" : "null",
            primaryOpen.get()
                ? "[{\"type\": \"out_of_credits\", \"provider\": \"primary\", \"time\": \"" + Instant.now().truncatedTo(ChronoUnit.SECONDS)
                    + "\", \"message\": \"Provider primary returned 402: out of credits. Top up the balance; messages fall back to the next provider meanwhile.\"}]"
                : "[]",
            clustered.get()
                ? "\n\"cluster\": {\"self\": \"127.0.0.1:25520\", \"self_status\": \"up\", \"leader\": \"127.0.0.1:25520\","
                    + " \"members\": [{\"address\": \"127.0.0.1:25520\", \"status\": \"up\", \"reachable\": true},"
                    + " {\"address\": \"127.0.0.1:25521\", \"status\": \"up\", \"reachable\": false}]},"
                : "");
    send(exchange, 200, "application/json", json);
  }

  private static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }
}
