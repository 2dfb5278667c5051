package switchboard.providers.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import switchboard.providers.OutcomeKind;

class ProviderCallLogTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Logger logger = (Logger) LoggerFactory.getLogger(ProviderCallLog.LOGGER_NAME);
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

  @BeforeEach
  void capture() {
    lines.start();
    logger.addAppender(lines);
    logger.setLevel(Level.INFO);
  }

  @AfterEach
  void release() {
    logger.detachAppender(lines);
    logger.setLevel(null);
  }

  @Test
  void oneJsonLinePerCallWithEveryField() throws Exception {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Retry-After", "7");
    headers.put("x-ratelimit-remaining-requests", "0");
    headers.put("anthropic-ratelimit-tokens-reset", "2025-03-01T10:01:00Z");
    headers.put("Set-Cookie", "session=abc");
    headers.put("Authorization", "Bearer sk-should-never-appear");
    ProviderCallLog log = new ProviderCallLog();

    log.call(Records.call("primary", "primary#2", 429, OutcomeKind.RATE_LIMITED, headers));
    log.call(Records.call("primary", "primary#1", 200, OutcomeKind.OK, Map.of()));

    assertEquals(2, lines.list.size());
    JsonNode first = JSON.readTree(lines.list.get(0).getFormattedMessage());
    assertEquals("2025-03-01T10:00:00Z", first.get("time").asText());
    assertEquals("call", first.get("type").asText());
    assertEquals("primary", first.get("provider").asText());
    assertEquals("primary#2", first.get("key").asText());
    assertEquals("gpt-4o-mini", first.get("model").asText());
    assertEquals("http:conv-7", first.get("origin").asText());
    assertEquals("http", first.get("channel").asText());
    assertEquals("conv-7", first.get("conversation").asText());
    assertEquals(1, first.get("attempt").asInt());
    assertEquals(429, first.get("status").asInt());
    assertEquals("rate_limited", first.get("outcome").asText());
    assertEquals(250, first.get("latency_ms").asLong());
    assertEquals(0, first.get("tokens_in").asLong());
    JsonNode rate = first.get("rate_limit");
    assertEquals("7", rate.get("retry-after").asText());
    assertEquals("0", rate.get("x-ratelimit-remaining-requests").asText());
    assertEquals("2025-03-01T10:01:00Z", rate.get("anthropic-ratelimit-tokens-reset").asText());
    assertEquals(3, rate.size(), "only rate-limit headers are logged: " + rate);

    JsonNode second = JSON.readTree(lines.list.get(1).getFormattedMessage());
    assertEquals(12, second.get("tokens_in").asLong());
    assertEquals(30, second.get("tokens_out").asLong());
    assertEquals(0.0015, second.get("cost").asDouble(), 1e-12);
    for (ILoggingEvent e : lines.list) {
      assertFalse(e.getFormattedMessage().contains("sk-should-never-appear"));
      assertFalse(e.getFormattedMessage().contains("session=abc"));
    }
  }

  @Test
  void breakerChangesAreLinesOfTheirOwnType() throws Exception {
    new ProviderCallLog().breakerChanged(Records.open("primary", Optional.empty(), OutcomeKind.OUT_OF_CREDITS, Records.T0));

    JsonNode line = JSON.readTree(lines.list.get(0).getFormattedMessage());
    assertEquals("breaker", line.get("type").asText());
    assertEquals("primary", line.get("provider").asText());
    assertEquals("", line.get("key").asText());
    assertEquals("closed", line.get("from").asText());
    assertEquals("open", line.get("to").asText());
    assertEquals("out_of_credits", line.get("reason").asText());
    assertEquals("2025-03-02T00:00:00Z", line.get("until").asText());
  }

  @Test
  void retriesAndRefusalsOnlyAtDebug() throws Exception {
    ProviderCallLog log = new ProviderCallLog();
    log.retryScheduled("primary", OutcomeKind.UNAVAILABLE, Duration.ofMillis(1500));
    log.refused("primary", OutcomeKind.OUT_OF_CREDITS, "breaker open");
    assertTrue(lines.list.isEmpty());

    logger.setLevel(Level.DEBUG);
    log.retryScheduled("primary", OutcomeKind.UNAVAILABLE, Duration.ofMillis(1500));
    log.refused("primary", OutcomeKind.OUT_OF_CREDITS, "breaker open");
    assertEquals(2, lines.list.size());
    JsonNode retry = JSON.readTree(lines.list.get(0).getFormattedMessage());
    assertEquals("retry", retry.get("type").asText());
    assertEquals(1500, retry.get("delay_ms").asLong());
    JsonNode refused = JSON.readTree(lines.list.get(1).getFormattedMessage());
    assertEquals("refused", refused.get("type").asText());
    assertEquals("breaker open", refused.get("reason").asText());
  }
}
