package switchboard.supervision.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import switchboard.providers.config.ConfigReader;

class OpsConfigTest {

  private static ConfigReader reader(String hocon) {
    Config config = ConfigFactory.parseString(hocon).withFallback(ConfigFactory.defaultReference()).resolve();
    return ConfigReader.of(config.getConfig("switchboard"), "switchboard");
  }

  @Test
  void defaultsFromTheReferenceConfig() {
    ConfigReader r = reader("");
    AlertsConfig alerts = AlertsConfig.read(r);
    ProviderLogConfig log = ProviderLogConfig.read(r);
    assertEquals(Optional.empty(), alerts.webhookUrl());
    assertEquals(Optional.empty(), alerts.telegramChatId());
    assertEquals(5, alerts.rateLimitedPerHour());
    assertEquals(Path.of("logs/provider.log"), log.path());
    assertEquals("info", log.level());
    assertEquals(List.of(), r.problems());
  }

  @Test
  void readsEveryKey() {
    ConfigReader r = reader("""
        switchboard.alerts { webhook-url = "https://hooks.example.com/T0/B0/xyz", telegram-chat-id = "-1001234", rate-limited-per-hour = 20 }
        switchboard.provider-log { path = "/var/log/sb/provider.log", level = "debug" }
        """);
    AlertsConfig alerts = AlertsConfig.read(r);
    assertEquals(Optional.of(URI.create("https://hooks.example.com/T0/B0/xyz")), alerts.webhookUrl());
    assertEquals(Optional.of(-1001234L), alerts.telegramChatId());
    assertEquals(20, alerts.rateLimitedPerHour());
    assertEquals(new ProviderLogConfig(Path.of("/var/log/sb/provider.log"), "debug"), ProviderLogConfig.read(r));
    assertEquals(List.of(), r.problems());
  }

  @Test
  void oneLinePerProblemWithoutEchoingTheWebhook() {
    ConfigReader r = reader("""
        switchboard.alerts { webhook-url = "ftp:secret-token", telegram-chat-id = "admins", rate-limited-per-hour = -1 }
        switchboard.provider-log { level = "loud" }
        """);
    AlertsConfig.read(r);
    ProviderLogConfig.read(r);
    List<String> problems = r.problems();
    assertEquals(4, problems.size(), problems.toString());
    assertTrue(problems.contains("switchboard.alerts.webhook-url: is not a URL (expected http://... or https://...)"), problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("switchboard.alerts.telegram-chat-id: \"admins\" is not")));
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("switchboard.alerts.rate-limited-per-hour: -1 is too small")));
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("switchboard.provider-log.level: \"loud\" is not allowed")));
    assertTrue(problems.stream().noneMatch(p -> p.contains("secret-token")));
  }
}
