package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.supervision.TestGateway.provider;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;
import switchboard.providers.fake.FakeProviderServer.Step;
import switchboard.supervision.ops.HeadlessChromium;

/**
 * The status page of a running gateway (real HTTP channel, real provider actors, a fake provider that
 * answers 402 for the primary) in headless Chromium: the primary shows {@code closed}, a message sent
 * through the API opens its breaker, and the page, refreshing from {@code /api/status}, turns it
 * {@code open} ("paused") and lists the alert, and its charts, from {@code /api/history}, show the
 * traffic. After a top-up, the page's Reset button puts the primary back to work at once. Skipped
 * without chromium-driver unless SWITCHBOARD_REQUIRE_BROWSER=1.
 */
@Timeout(120)
class StatusPageGatewayBrowserTest extends TwoProviderTest {

  ChromeDriver driver;

  @BeforeEach
  void startBrowser(@TempDir Path profile) throws Exception {
    HeadlessChromium.assumeInstalled();
    driver = HeadlessChromium.start(profile);
  }

  @AfterEach
  void stopBrowser() {
    if (driver != null) {
      driver.quit();
    }
  }

  @Test
  void aProviderTurnsOpenOnThePageAfterA402() throws Exception {
    primary.setDefault(Step.status(402));
    try (TestGateway gw = gateway("", "")) {
      driver.manage().window().setSize(new Dimension(1200, 900));
      driver.get(gw.uri("/").toString());
      WebDriverWait wait = HeadlessChromium.await(driver);

      By primaryRow = By.cssSelector("tr.provider[data-provider='primary']");
      wait.until(ExpectedConditions.attributeToBe(primaryRow, "data-state", "closed"));
      assertEquals(List.of("primary", "backup"),
          HeadlessChromium.attrs(driver, By.cssSelector("tr.provider"), "data-provider"));
      assertEquals("serving",
          HeadlessChromium.attr(driver, By.cssSelector("tr.channel[data-channel='http']"), "data-state"));
      assertEquals("up", HeadlessChromium.attr(driver, By.id("overall"), "data-state"));
      assertEquals(0, primary.calls().size(), "nothing sent yet");

      TestGateway.Reply reply = gw.say("alice", "hello");
      assertEquals(200, reply.status(), reply.body());
      assertEquals("backup", reply.json().path("provider").asText());

      wait.until(ExpectedConditions.attributeToBe(primaryRow, "data-state", "open"));
      wait.until(ExpectedConditions.textToBePresentInElementLocated(primaryRow, "out of credits"));
      assertEquals("open", HeadlessChromium.attr(driver, By.cssSelector(".key[data-key='primary#1']"), "data-state"));
      assertEquals("degraded", HeadlessChromium.attr(driver, By.id("overall"), "data-state"));
      wait.until(ExpectedConditions.visibilityOfElementLocated(
          By.cssSelector("li.alert[data-type='out_of_credits']")));
      Path shot = HeadlessChromium.screenshot(driver, "status-page-gateway.png");
      assertTrue(Files.size(shot) > 0);

      JsonNode history = gw.get("/api/history").json();
      assertEquals(60, history.path("minutes").asInt());
      JsonNode minute = named(history.path("providers"), "primary").path("buckets").path(0);
      assertEquals(1, minute.path("calls").path("out_of_credits").asInt(), history.toString());
      assertTrue(minute.path("p50_ms").asDouble() > 0, history.toString());
      assertEquals(1, named(history.path("channels"), "http").path("buckets").path(0).path("outcomes").path("ok").asInt());

      waitForPoints(wait, By.cssSelector("svg.chart[data-chart='calls'][data-provider='primary']"));
      waitForPoints(wait, By.cssSelector("svg.chart[data-chart='latency'][data-provider='backup']"));
      waitForPoints(wait, By.cssSelector("svg.chart[data-chart='messages'][data-channel='http']"));
      driver.executeScript("document.getElementById('history-section').scrollIntoView()");
      assertTrue(Files.size(HeadlessChromium.screenshot(driver, "status-page-charts.png")) > 0);
    }
  }

  /**
   * Needs {@code POST /api/providers/{name}/reset} (the breaker-reset endpoint): the primary runs out
   * of credits, is topped up, and one click on its Reset button has the next message answered by it.
   */
  @Test
  void theResetButtonPutsAToppedUpProviderBackToWork() throws Exception {
    primary.setDefault(Step.status(402));
    try (TestGateway gw = gateway("", "")) {
      driver.manage().window().setSize(new Dimension(1200, 900));
      driver.get(gw.uri("/").toString());
      WebDriverWait wait = HeadlessChromium.await(driver);
      By primaryRow = By.cssSelector("tr.provider[data-provider='primary']");
      wait.until(ExpectedConditions.attributeToBe(primaryRow, "data-state", "closed"));

      assertEquals("backup", gw.say("alice", "hello").header("X-Switchboard-Provider"));
      wait.until(ExpectedConditions.attributeToBe(primaryRow, "data-state", "open"));
      wait.until(ExpectedConditions.textToBePresentInElementLocated(primaryRow, "paused until"));
      assertEquals("backup", gw.say("alice", "still paused?").header("X-Switchboard-Provider"), "the breaker stays open");

      primary.setDefault(Step.ok("topped up"));
      By reset = By.cssSelector("button.reset[data-provider='primary']:not([data-key])");
      wait.until(d -> click(d, reset));
      wait.until(d -> !d.findElement(By.id("notice")).getAttribute("data-kind").isEmpty());
      assertEquals("primary reset by you", HeadlessChromium.text(driver, By.id("notice")), "the endpoint answered 200");
      wait.until(ExpectedConditions.attributeToBe(primaryRow, "data-state", "closed"));

      TestGateway.Reply next = gw.say("alice", "and now?");
      assertEquals(200, next.status(), next.body());
      assertEquals("primary", next.header("X-Switchboard-Provider"), next.body());
      assertEquals("primary", next.json().path("provider").asText());
    }
  }

  /** Clicks the element {@code by} finds; false when it is missing or a redraw replaced it, so a wait tries again. */
  private static boolean click(WebDriver driver, By by) {
    try {
      driver.findElement(by).click();
      return true;
    } catch (NoSuchElementException | StaleElementReferenceException e) {
      return false;
    }
  }

  /** Waits until the chart {@code by} finds has at least one minute of data (the page polls every 10 s). */
  private static void waitForPoints(WebDriverWait wait, By chart) {
    wait.until(d -> {
      try {
        return Integer.parseInt(d.findElement(chart).getAttribute("data-points")) > 0;
      } catch (NoSuchElementException | StaleElementReferenceException | NumberFormatException e) {
        return false;
      }
    });
  }

  private static JsonNode named(JsonNode array, String name) {
    for (JsonNode entry : array) {
      if (entry.path("name").asText().equals(name)) {
        return entry;
      }
    }
    throw new AssertionError("no " + name + " in " + array);
  }
}
