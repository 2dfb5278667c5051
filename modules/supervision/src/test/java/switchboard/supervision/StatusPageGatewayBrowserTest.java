package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.supervision.TestGateway.provider;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
import switchboard.providers.fake.FakeProviderServer.Step;
import switchboard.supervision.ops.HeadlessChromium;

/**
 * The status page of a running gateway (real HTTP channel, real provider actors, a fake provider that
 * answers 402 for the primary) in headless Chromium: the primary shows {@code closed}, a message sent
 * through the API opens its breaker, and the page, refreshing from {@code /api/status}, turns it
 * {@code open} and lists the alert. Skipped without chromium-driver unless SWITCHBOARD_REQUIRE_BROWSER=1.
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
      WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));

      By primaryRow = By.cssSelector("tr.provider[data-provider='primary']");
      wait.until(ExpectedConditions.attributeToBe(primaryRow, "data-state", "closed"));
      assertEquals(List.of("primary", "backup"),
          driver.findElements(By.cssSelector("tr.provider")).stream().map(e -> e.getAttribute("data-provider")).toList());
      assertEquals("serving",
          driver.findElement(By.cssSelector("tr.channel[data-channel='http']")).getAttribute("data-state"));
      assertEquals("up", driver.findElement(By.id("overall")).getAttribute("data-state"));
      assertEquals(0, primary.calls().size(), "nothing sent yet");

      TestGateway.Reply reply = gw.say("alice", "hello");
      assertEquals(200, reply.status(), reply.body());
      assertEquals("backup", reply.json().path("provider").asText());

      wait.until(ExpectedConditions.attributeToBe(primaryRow, "data-state", "open"));
      WebElement row = driver.findElement(primaryRow);
      assertTrue(row.getText().contains("out_of_credits"), row.getText());
      assertEquals("open", driver.findElement(By.cssSelector(".key[data-key='primary#1']")).getAttribute("data-state"));
      assertEquals("degraded", driver.findElement(By.id("overall")).getAttribute("data-state"));
      wait.until(ExpectedConditions.visibilityOfElementLocated(
          By.cssSelector("li.alert[data-type='out_of_credits']")));
      Path shot = HeadlessChromium.screenshot(driver, "status-page-gateway.png");
      assertTrue(Files.size(shot) > 0);
    }
  }
}
