package switchboard.supervision.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import switchboard.providers.BreakerState;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderEvents;
import switchboard.providers.Usage;
import switchboard.providers.config.ConfigReader;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.observe.ProviderCallLog;

class ProviderCallLogSetupTest {
  private static final String KEY = "sk-test-9f8e7d6c5b4a-DO-NOT-LOG";
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void oneJsonLinePerCallInItsOwnFileAndNeverTheKey(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("logs/provider.log");
    Config config = ConfigFactory.parseString("""
        switchboard {
          providers = [{ name = "primary", kind = "openai", base-url = "http://127.0.0.1:9/v1", api-keys = ["%s"] }]
          provider-log { path = "%s", level = "info" }
        }
        """.formatted(KEY, file)).withFallback(ConfigFactory.defaultReference()).resolve();
    ConfigReader reader = ConfigReader.of(config.getConfig("switchboard"), "switchboard");
    ProviderConfig provider = ProviderConfig.readAll(reader).get(0);
    String alias = provider.keyAliases().get(0);

    // The console (root logger) must not see provider lines: additivity is off.
    ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("ROOT");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> console = new ch.qos.logback.core.read.ListAppender<>();
    console.start();
    root.addAppender(console);
    AutoCloseable attached = ProviderCallLogSetup.attach(ProviderLogConfig.read(reader));
    try {
      ProviderCallLog log = new ProviderCallLog();
      Instant t = Instant.parse("2025-03-01T10:00:00Z");
      log.call(new ProviderEvents.CallRecord(t, "primary", alias, provider.model(), "telegram:42", 1, 402,
          OutcomeKind.OUT_OF_CREDITS, Duration.ofMillis(87), Usage.NONE, 0, Map.of("x-ratelimit-remaining-requests", "99")));
      log.breakerChanged(new ProviderEvents.BreakerChange(t, "primary", Optional.empty(), BreakerState.CLOSED, BreakerState.OPEN,
          Optional.of(OutcomeKind.OUT_OF_CREDITS), Optional.of(Instant.parse("2025-03-02T00:00:00Z")), "402 from primary#1"));
      log.call(new ProviderEvents.CallRecord(t.plusSeconds(1), "primary", alias, provider.model(), "http:abc", 1, 200,
          OutcomeKind.OK, Duration.ofMillis(420), new Usage(10, 20), 0.0001, Map.of()));
      log.retryScheduled("primary", OutcomeKind.UNAVAILABLE, Duration.ofSeconds(1));
    } finally {
      attached.close();
      root.detachAppender(console);
    }

    List<String> lines = Files.readAllLines(file);
    assertEquals(3, lines.size(), "two calls and a breaker change; retries only at debug: " + lines);
    JsonNode first = JSON.readTree(lines.get(0));
    for (String field : List.of("time", "type", "provider", "key", "model", "origin", "channel", "conversation", "attempt",
        "status", "outcome", "latency_ms", "tokens_in", "tokens_out", "cost", "rate_limit")) {
      assertTrue(first.has(field), field + " in " + first);
    }
    assertEquals("primary#1", first.get("key").asText());
    assertEquals("out_of_credits", first.get("outcome").asText());
    assertEquals("telegram", first.get("channel").asText());
    assertEquals("42", first.get("conversation").asText());
    assertEquals("99", first.get("rate_limit").get("x-ratelimit-remaining-requests").asText());
    assertEquals("breaker", JSON.readTree(lines.get(1)).get("type").asText());
    assertEquals(20, JSON.readTree(lines.get(2)).get("tokens_out").asLong());

    try (var files = Files.walk(dir)) {
      for (Path p : files.filter(Files::isRegularFile).toList()) {
        assertFalse(Files.readString(p).contains(KEY), "the key is in " + p);
      }
    }
    assertTrue(console.list.stream().noneMatch(e -> e.getLoggerName().equals(ProviderCallLog.LOGGER_NAME)));
  }

  @Test
  void levelOffWritesNothing(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("provider.log");
    AutoCloseable attached = ProviderCallLogSetup.attach(new ProviderLogConfig(file, "off"));
    try {
      new ProviderCallLog().breakerChanged(new ProviderEvents.BreakerChange(Instant.now(), "primary", Optional.empty(),
          BreakerState.CLOSED, BreakerState.OPEN, Optional.of(OutcomeKind.UNAVAILABLE), Optional.empty(), ""));
    } finally {
      attached.close();
    }
    assertFalse(Files.exists(file));
  }
}
