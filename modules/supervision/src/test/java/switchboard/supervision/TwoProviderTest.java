package switchboard.supervision;

import static switchboard.supervision.TestGateway.provider;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import switchboard.providers.fake.FakeProviderServer;

/**
 * The end-to-end tests' usual world: a fake {@code primary} provider (priority 1) and a fake
 * {@code backup} (priority 2, fallback-only), each on its own loopback port, new for every test.
 */
abstract class TwoProviderTest {
  @TempDir Path dir;
  FakeProviderServer primary;
  FakeProviderServer backup;

  @BeforeEach
  void startFakeProviders() throws Exception {
    primary = FakeProviderServer.start(0);
    backup = FakeProviderServer.start(0);
  }

  @AfterEach
  void stopFakeProviders() {
    primary.close();
    backup.close();
  }

  /**
   * A gateway over the two fakes; {@code primaryExtra} is added to the primary's entry and
   * {@code extra} inside {@code switchboard { }}.
   */
  TestGateway gateway(String primaryExtra, String extra) throws Exception {
    return TestGateway.start(
        dir,
        List.of(provider("primary", 1, primary, primaryExtra), provider("backup", 2, backup, "fallback-only = true")),
        extra);
  }
}
