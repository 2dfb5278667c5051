package switchboard.router;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import switchboard.providers.config.ConfigReader;

class ConversationSettingsTest {

  private static ConfigReader reader(String hocon) {
    Config config = ConfigFactory.parseString(hocon).withFallback(ConfigFactory.defaultReference()).resolve();
    return ConfigReader.of(config.getConfig("switchboard"), "switchboard");
  }

  @Test
  void theReferenceConfigGivesTheDefaults() {
    ConfigReader switchboard = reader("");

    assertEquals(ConversationSettings.DEFAULT, ConversationSettings.read(switchboard));
    assertEquals(List.of(), switchboard.problems());
  }

  @Test
  void everyKeyIsRead() {
    ConfigReader switchboard = reader(
        "switchboard { request-timeout = 60s, conversations { history-length = 4, idle-timeout = 10s, system-prompt = \"Be kind.\" } }");

    assertEquals(
        new ConversationSettings(4, Duration.ofSeconds(10), Optional.of("Be kind."), Duration.ofSeconds(60)),
        ConversationSettings.read(switchboard));
    assertEquals(List.of(), switchboard.problems());
  }

  @Test
  void wrongValuesAreOneLineEachAndFallBackToDefaults() {
    ConfigReader switchboard = reader(
        "switchboard { request-timeout = soon, conversations { history-length = -1, idle-timeout = later, system-prompt = \"\" } }");

    assertEquals(ConversationSettings.DEFAULT, ConversationSettings.read(switchboard));
    assertEquals(
        List.of(
            "switchboard.conversations.history-length: -1 is too small (expected at least 0)",
            "switchboard.conversations.idle-timeout: \"later\" is not a duration like 250ms, 30s or 1h"),
        switchboard.problems());
  }

  @Test
  void aZeroIdleTimeoutIsAProblem() {
    ConfigReader switchboard = reader("switchboard.conversations.idle-timeout = 0s");

    assertEquals(ConversationSettings.DEFAULT.idleTimeout(), ConversationSettings.read(switchboard).idleTimeout());
    assertEquals(1, switchboard.problems().size());
  }
}
