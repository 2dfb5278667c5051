package switchboard.providers.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ThrottleTest {
  private static final Instant T0 = Instant.parse("2026-11-21T10:00:00Z");

  @Test
  void sixtyRequestsPerMinuteAreSpacedOneSecondApartWithNoBurst() {
    Throttle throttle = new Throttle(60, 0);
    Instant now = T0;
    for (int i = 0; i < 10; i++) {
      Duration wait = throttle.waitFor(10, now);
      assertEquals(i == 0 ? Duration.ZERO : Duration.ofSeconds(1), wait, "call " + i);
      now = now.plus(wait);
      throttle.take(10, now);
    }
  }

  @Test
  void requestsLeftCountsTheMinuteAhead() {
    Throttle throttle = new Throttle(60, 0);
    assertEquals(60, throttle.requestsLeft(T0));
    throttle.take(1, T0);
    assertEquals(59, throttle.requestsLeft(T0));
    assertEquals(60, throttle.requestsLeft(T0.plusSeconds(1)));
  }

  @Test
  void tokensPerMinuteAllowAMinutesWorthThenRefillContinuously() {
    Throttle throttle = new Throttle(0, 6000);
    assertEquals(Duration.ZERO, throttle.waitFor(6000, T0));
    throttle.take(6000, T0);
    // 6000 per minute = 100 per second: 500 tokens need 5 s
    assertEquals(Duration.ofSeconds(5), throttle.waitFor(500, T0));
    assertEquals(Duration.ZERO, throttle.waitFor(500, T0.plusSeconds(5)));
  }

  @Test
  void aLargerActualUsageThanEstimatedDelaysLaterCalls() {
    Throttle throttle = new Throttle(0, 6000);
    throttle.take(1000, T0);
    throttle.correct(1000, 7000, T0); // the bucket is now 1000 in debt
    assertEquals(Duration.ofSeconds(11), throttle.waitFor(100, T0));
  }

  @Test
  void aRequestLargerThanTheWholeMinuteStillGoesWhenTheBucketIsFull() {
    Throttle throttle = new Throttle(0, 1000);
    assertEquals(Duration.ZERO, throttle.waitFor(5000, T0));
  }

  @Test
  void providerSayingNothingLeftBlocksUntilItsResetEvenWithoutConfiguredLimits() {
    Throttle throttle = Throttle.unlimited();
    RateLimitHeaders said = RateLimitHeaders.read(
        Map.of("x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", "2s"), T0);
    throttle.learn(said.requestsLeft(), said.requestsReset(), said.tokensLeft(), said.tokensReset(), T0);
    assertEquals(Duration.ofSeconds(2), throttle.waitFor(1, T0));
    assertEquals(Duration.ZERO, throttle.waitFor(1, T0.plusSeconds(2)));
    assertEquals(0, throttle.requestsLeft(T0.plusMillis(500)));
  }

  @Test
  void providerTokensLeftTightenTheLocalBucket() {
    Throttle throttle = new Throttle(0, 10_000);
    throttle.learn(-1, T0, 100, T0.plusSeconds(30), T0);
    assertEquals(100, throttle.tokensLeft(T0));
    assertTrue(throttle.waitFor(500, T0).compareTo(Duration.ZERO) > 0);
  }

  @Test
  void unlimitedThrottleNeverWaits() {
    Throttle throttle = Throttle.unlimited();
    for (int i = 0; i < 1000; i++) {
      assertEquals(Duration.ZERO, throttle.waitFor(100_000, T0));
      throttle.take(100_000, T0);
    }
    assertEquals(-1, throttle.requestsLeft(T0));
    assertEquals(-1, throttle.tokensLeft(T0));
  }
}
