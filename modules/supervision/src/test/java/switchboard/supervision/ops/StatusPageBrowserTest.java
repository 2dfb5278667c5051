package switchboard.supervision.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Loads the real status page (the channels module's classpath resource) in headless Chromium against
 * a fake {@code /api/status} that asks for a token and then turns its first provider from closed to
 * open, as after a 402. Skipped where Debian's chromium-driver is not installed (failed instead when
 * SWITCHBOARD_REQUIRE_BROWSER=1).
 */
@Timeout(120)
class StatusPageBrowserTest {
  private static final String TOKEN = "status-page-test-token";

  private final AtomicBoolean primaryOpen = new AtomicBoolean();
  private final AtomicInteger unauthorized = new AtomicInteger();
  private HttpServer server;
  private ChromeDriver driver;

  @BeforeEach
  void start(@TempDir Path profile) throws IOException {
    HeadlessChromium.assumeInstalled();
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::page);
    server.createContext("/api/status", this::status);
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
  void asksForTheTokenThenShowsAProviderTurnOpen() throws IOException {
    driver.manage().window().setSize(new Dimension(1200, 900));
    driver.get("http://127.0.0.1:" + server.getAddress().getPort() + "/");
    WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));

    WebElement tokenField = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
    assertTrue(unauthorized.get() > 0, "the page asked without a token first");
    tokenField.sendKeys(TOKEN);
    driver.findElement(By.cssSelector("#login-form button")).click();

    By primary = By.cssSelector("tr.provider[data-provider='primary']");
    wait.until(ExpectedConditions.attributeToBe(primary, "data-state", "closed"));
    List<String> order = driver.findElements(By.cssSelector("tr.provider")).stream().map(e -> e.getAttribute("data-provider")).toList();
    assertEquals(List.of("primary", "backup"), order, "providers in priority order");
    assertEquals("closed", driver.findElement(By.cssSelector(".key[data-key='primary#1']")).getAttribute("data-state"));
    assertEquals("up", driver.findElement(By.id("overall")).getAttribute("data-state"));
    assertTrue(driver.findElement(By.cssSelector("tr.channel[data-channel='http']")).getText().contains("3 / 100"));
    WebElement lastShutdown = driver.findElement(By.id("last-shutdown"));
    assertEquals("SIGTERM", lastShutdown.getAttribute("data-reason"));
    assertTrue(lastShutdown.getText().startsWith("Previous run stopped ") && lastShutdown.getText().endsWith(": SIGTERM, 0 unanswered"),
        lastShutdown.getText());

    primaryOpen.set(true);
    wait.until(ExpectedConditions.attributeToBe(primary, "data-state", "open"));
    WebElement row = driver.findElement(primary);
    assertTrue(row.getText().contains("out_of_credits"), row.getText());
    assertTrue(row.getText().contains("until"), row.getText());
    assertEquals("open", driver.findElement(By.cssSelector(".key[data-key='primary#1']")).getAttribute("data-state"));
    assertEquals("degraded", driver.findElement(By.id("overall")).getAttribute("data-state"));
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("li.alert[data-type='out_of_credits']")));
    screenshot("status-page-desktop.png");

    driver.manage().window().setSize(new Dimension(390, 844));
    wait.until(ExpectedConditions.attributeToBe(primary, "data-state", "open"));
    Long scrollWidth = (Long) driver.executeScript("return document.documentElement.scrollWidth");
    Long clientWidth = (Long) driver.executeScript("return document.documentElement.clientWidth");
    assertNotNull(scrollWidth);
    assertTrue(scrollWidth <= clientWidth, "no sideways scrolling on a phone: " + scrollWidth + " > " + clientWidth);
    screenshot("status-page-phone.png");
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

  private void status(HttpExchange exchange) throws IOException {
    if (!("Bearer " + TOKEN).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
      unauthorized.incrementAndGet();
      send(exchange, 401, "application/json", "{\"error\":{\"type\":\"unauthorized\",\"message\":\"missing or wrong token\"}}");
      return;
    }
    boolean open = primaryOpen.get();
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
        "alerts": %s,
        "last_shutdown": {"time": "2025-03-01T10:00:00Z", "reason": "SIGTERM", "unanswered": 0, "started": "2025-02-28T08:00:00Z", "detail": null},
        "uptime_seconds": 7384}
        """.formatted(
            open ? 12 : 3,
            primaryState,
            open ? "\"out_of_credits\"" : "null",
            open ? "\"" + until + "\"" : "null",
            primaryState,
            open ? "\"out_of_credits\"" : "null",
            open
                ? "[{\"type\": \"out_of_credits\", \"provider\": \"primary\", \"time\": \"" + Instant.now().truncatedTo(ChronoUnit.SECONDS)
                    + "\", \"message\": \"Provider primary returned 402: out of credits. Top up the balance; messages fall back to the next provider meanwhile.\"}]"
                : "[]");
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
