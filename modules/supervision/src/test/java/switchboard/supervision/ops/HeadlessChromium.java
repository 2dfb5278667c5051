package switchboard.supervision.ops;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
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

  /** Saves what the browser shows as {@code target/<name>}; returns the file. */
  public static Path screenshot(ChromeDriver driver, String name) throws IOException {
    File shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
    Path target = Path.of("target", name);
    Files.createDirectories(target.getParent());
    Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
    return target;
  }
}
