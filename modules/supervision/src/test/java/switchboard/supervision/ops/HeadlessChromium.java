package switchboard.supervision.ops;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.openqa.selenium.By;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's headless Chromium through its chromedriver, for the status page's browser tests. Where
 * they are not installed the tests are skipped, unless {@value #REQUIRE_ENV}=1 (CI sets it): then a
 * missing browser fails the build instead of silently skipping the proof that the page works.
 */
public final class HeadlessChromium {
  public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  public static final String REQUIRE_ENV = "SWITCHBOARD_REQUIRE_BROWSER";

  private HeadlessChromium() {}

  /** Skips the calling test when the browser is missing, or fails it when one is required. */
  public static void assumeInstalled() {
    String missing = !Files.isExecutable(CHROMEDRIVER) ? CHROMEDRIVER + " (chromium-driver) is not installed"
        : !Files.isExecutable(CHROMIUM) ? CHROMIUM + " (chromium) is not installed"
        : null;
    if (missing != null && "1".equals(System.getenv(REQUIRE_ENV))) {
      fail(missing + ", and " + REQUIRE_ENV + "=1 requires the browser test to run");
    }
    Assumptions.assumeTrue(missing == null, missing);
  }

  /** A headless browser with its own profile in {@code profile}; quit it after the test. */
  public static ChromeDriver start(Path profile) {
    assumeInstalled();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + profile.toAbsolutePath());
    ChromeDriverService service =
        new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER.toString())).usingAnyFreePort().build();
    ChromeDriver driver = new ChromeDriver(service, options);
    driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
    return driver;
  }

  /**
   * A 30 s wait that also looks again when the page has redrawn the element it found (the status
   * page rebuilds its tables on every refresh, so a found row can be replaced before it is read).
   */
  public static WebDriverWait await(WebDriver driver) {
    WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));
    wait.ignoring(StaleElementReferenceException.class);
    return wait;
  }

  /** Attribute {@code name} of the element {@code by} finds now, found again if a redraw replaced it. */
  public static String attr(WebDriver driver, By by, String name) {
    return fresh(driver, d -> d.findElement(by).getAttribute(name));
  }

  /** The text of the element {@code by} finds now, found again if a redraw replaced it. */
  public static String text(WebDriver driver, By by) {
    return fresh(driver, d -> d.findElement(by).getText());
  }

  /** Attribute {@code name} of every element {@code by} finds, in page order. */
  public static List<String> attrs(WebDriver driver, By by, String name) {
    return fresh(driver, d -> d.findElements(by).stream().map(e -> e.getAttribute(name)).toList());
  }

  private static <T> T fresh(WebDriver driver, Function<WebDriver, T> read) {
    for (int attempt = 1; ; attempt++) {
      try {
        return read.apply(driver);
      } catch (StaleElementReferenceException e) {
        if (attempt == 10) {
          throw e;
        }
      }
    }
  }

  /** Saves what the browser shows as {@code target/<name>}; returns the file. */
  public static Path screenshot(ChromeDriver driver, String name) throws IOException {
    File shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
    Path target = Path.of("target", name);
    Files.createDirectories(target.getParent());
    Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
    return target;
  }
}
