package switchboard.channels.telegram;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import switchboard.providers.config.ConfigReader;

class TelegramConfigTest {
  private static ConfigReader reader(String hocon) {
    Config config =
        ConfigFactory.parseString(hocon)
            .withFallback(ConfigFactory.parseResources("reference.conf"))
            .resolve();
    return ConfigReader.of(config.getConfig("switchboard"), "switchboard");
  }

  @Test
  void readsTheReferenceDefaults() {
    ConfigReader r = reader("");
    TelegramConfig c = TelegramConfig.read(r);
    assertEquals(List.of(), r.problems());
    assertFalse(c.enabled());
    assertEquals("https://api.telegram.org", c.baseUrl());
    assertEquals(10, c.maxPendingMessages());
    assertEquals("System busy, please try again in a moment.", c.busyReply());
    assertEquals(Set.of(), c.allowedChatIds());
    assertEquals(Duration.ofSeconds(30), c.pollTimeout());
    assertEquals(Duration.ofSeconds(1), c.retryBackoffBase());
    assertEquals(Duration.ofSeconds(60), c.retryBackoffMax());
    assertTrue(c.allows(42));
  }

  @Test
  void readsChatIdsWrittenAsNumbersOrStrings() {
    ConfigReader r =
        reader(
            "switchboard.channels.telegram { enabled = true, token = \"1:abcdefghij\", base-url = \"http://127.0.0.1:9/\","
                + " allowed-chat-ids = [12345, \"-100987\"], poll-timeout = 5s, max-pending-messages = 3 }");
    TelegramConfig c = TelegramConfig.read(r);
    assertEquals(List.of(), r.problems());
    assertEquals(Set.of(12345L, -100987L), c.allowedChatIds());
    assertTrue(c.allows(-100987));
    assertFalse(c.allows(1));
    assertEquals("http://127.0.0.1:9", c.baseUrl());
    assertEquals(3, c.maxPendingMessages());
  }

  @Test
  void anEnabledChannelNeedsAToken() {
    ConfigReader r = reader("switchboard.channels.telegram { enabled = true, token = \"\" }");
    TelegramConfig.read(r);
    assertEquals(List.of("switchboard.channels.telegram.token: is missing (set TELEGRAM_BOT_TOKEN)"), r.problems());

    ConfigReader disabled = reader("switchboard.channels.telegram { enabled = false, token = \"\" }");
    TelegramConfig.read(disabled);
    assertEquals(List.of(), disabled.problems());
  }

  @Test
  void badValuesAreOneProblemEach() {
    ConfigReader r =
        reader(
            "switchboard.channels.telegram { allowed-chat-ids = [\"me\"], max-pending-messages = 0,"
                + " poll-timeout = 1500ms, retry-backoff-base = soon }");
    TelegramConfig.read(r);
    assertEquals(
        List.of(
            "switchboard.channels.telegram.max-pending-messages: 0 is too small (expected at least 1)",
            "switchboard.channels.telegram.allowed-chat-ids: \"me\" is not a chat id (expected a whole number)",
            "switchboard.channels.telegram.poll-timeout: PT1.5S is not a whole number of seconds (Telegram's getUpdates timeout is in seconds)",
            "switchboard.channels.telegram.retry-backoff-base: \"soon\" is not a duration like 250ms, 30s or 1h"),
        r.problems());
  }

  @Test
  void toStringNeverShowsTheToken() {
    TelegramConfig c =
        TelegramConfig.read(reader("switchboard.channels.telegram { enabled = true, token = \"123:SECRET-token-value\" }"));
    assertFalse(c.toString().contains("SECRET"), c.toString());
    assertTrue(c.toString().contains("token=<redacted>"));
  }

  @Test
  void backoffDoublesUpToTheMax() {
    TelegramConfig c = TelegramConfig.DEFAULT;
    assertEquals(Duration.ofSeconds(1), c.backoff(1));
    assertEquals(Duration.ofSeconds(2), c.backoff(2));
    assertEquals(Duration.ofSeconds(32), c.backoff(6));
    assertEquals(Duration.ofSeconds(60), c.backoff(7));
    assertEquals(Duration.ofSeconds(60), c.backoff(100));
  }
}
