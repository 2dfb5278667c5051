package switchboard.providers.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RateLimitHeadersTest {
  private static final Instant T0 = Instant.parse("2026-11-21T10:00:00Z");

  @Test
  void readsOpenAiHeaders() {
    RateLimitHeaders h = RateLimitHeaders.read(Map.of(
        "x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", "2s",
        "x-ratelimit-remaining-tokens", "1500", "x-ratelimit-reset-tokens", "120ms"), T0);
    assertEquals(0, h.requestsLeft());
    assertEquals(T0.plusSeconds(2), h.requestsReset());
    assertEquals(1500, h.tokensLeft());
    assertEquals(T0.plusMillis(120), h.tokensReset());
    assertTrue(h.saysAnything());
  }

  @Test
  void readsAnthropicHeaders() {
    RateLimitHeaders h = RateLimitHeaders.read(Map.of(
        "anthropic-ratelimit-requests-remaining", "4",
        "anthropic-ratelimit-requests-reset", "2026-11-21T10:00:30Z",
        "anthropic-ratelimit-tokens-remaining", "0",
        "anthropic-ratelimit-tokens-reset", "2026-11-21T10:01:00Z"), T0);
    assertEquals(4, h.requestsLeft());
    assertEquals(T0.plusSeconds(30), h.requestsReset());
    assertEquals(0, h.tokensLeft());
    assertEquals(T0.plusSeconds(60), h.tokensReset());
  }

  @Test
  void bareSecondsAreAReset() {
    RateLimitHeaders h = RateLimitHeaders.read(Map.of(
        "x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", "2.5"), T0);
    assertEquals(T0.plusMillis(2500), h.requestsReset());
  }

  @Test
  void noHeadersSayNothing() {
    assertFalse(RateLimitHeaders.read(Map.of("x-ratelimit-remaining-requests", "many"), T0).saysAnything());
  }
}
