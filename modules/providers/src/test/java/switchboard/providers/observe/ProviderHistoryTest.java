package switchboard.providers.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderEvents.CallRecord;
import switchboard.providers.Usage;

class ProviderHistoryTest {
  private static final Instant T0 = Instant.parse("2026-12-02T04:31:10Z");

  private final MutableClock clock = new MutableClock(T0);
  private final ProviderHistory history = new ProviderHistory(clock);

  @Test
  void countsCallsByOutcomeRefusalsAndSpendPerMinute() {
    history.call(call("primary", OutcomeKind.OK, 12, 0.001));
    history.call(call("primary", OutcomeKind.OK, 14, 0.0002));
    history.call(call("primary", OutcomeKind.OUT_OF_CREDITS, 30, 0));
    history.refused("primary", OutcomeKind.OUT_OF_CREDITS, "breaker open");
    clock.advance(Duration.ofMinutes(1));
    history.call(call("backup", OutcomeKind.OK, 100, 0.01));

    Map<String, List<ProviderHistory.Bucket>> hour = history.lastHour();
    assertEquals(List.of("backup", "primary"), List.copyOf(hour.keySet()));
    ProviderHistory.Bucket minute = hour.get("primary").get(0);
    assertEquals(Instant.parse("2026-12-02T04:31:00Z"), minute.start());
    assertEquals(Map.of("ok", 2L, "out_of_credits", 1L), minute.calls());
    assertEquals(1, minute.refused());
    assertEquals(0.0012, minute.spend(), 1e-12);
    assertEquals(Instant.parse("2026-12-02T04:32:00Z"), hour.get("backup").get(0).start());
  }

  @Test
  void latencyPercentilesComeFromTheLogScaleHistogramWithinTenPercent() {
    for (int i = 0; i < 98; i++) {
      history.call(call("primary", OutcomeKind.OK, 10, 0));
    }
    history.call(call("primary", OutcomeKind.OK, 1000, 0));
    history.call(call("primary", OutcomeKind.OK, 1000, 0));
    history.refused("backup", OutcomeKind.RATE_LIMITED, "throttle full");

    ProviderHistory.Bucket minute = history.lastHour().get("primary").get(0);
    assertEquals(10, minute.p50Ms().orElseThrow(), 1.0);
    assertEquals(1000, minute.p99Ms().orElseThrow(), 100);
    assertTrue(history.lastHour().get("backup").get(0).p50Ms().isEmpty(), "no call ended: no latency");
  }

  @Test
  void keepsSixtyMinutesAndDropsOlderOnes() {
    history.call(call("primary", OutcomeKind.OK, 5, 0));
    clock.advance(Duration.ofMinutes(59));
    history.call(call("primary", OutcomeKind.UNAVAILABLE, 5, 0));
    assertEquals(2, history.lastHour().get("primary").size());

    clock.advance(Duration.ofMinutes(1));
    List<ProviderHistory.Bucket> hour = history.lastHour().get("primary");
    assertEquals(1, hour.size(), "the first minute is an hour old now");
    assertEquals(Map.of("unavailable", 1L), hour.get(0).calls());

    history.call(new CallRecord(T0, "primary", "k", "m", "o", 1, 200, OutcomeKind.OK, Duration.ofMillis(5), Usage.NONE, 0, Map.of()));
    assertEquals(1, history.lastHour().get("primary").size(), "a call older than the hour is dropped");

    clock.advance(Duration.ofHours(3));
    assertTrue(history.lastHour().get("primary").isEmpty());
  }

  @Test
  void manyThreadsCountEveryCall() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (int i = 0; i < 4000; i++) {
      pool.execute(() -> history.call(call("primary", OutcomeKind.OK, 3, 0.5)));
    }
    pool.shutdown();
    assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    ProviderHistory.Bucket minute = history.lastHour().get("primary").get(0);
    assertEquals(4000L, minute.calls().get("ok"));
    assertEquals(2000.0, minute.spend(), 1e-9);
  }

  private CallRecord call(String provider, OutcomeKind kind, long millis, double cost) {
    return new CallRecord(clock.instant(), provider, provider + "#1", "m", "http:x", 1, kind == OutcomeKind.OK ? 200 : 402,
        kind, Duration.ofMillis(millis), Usage.NONE, cost, Map.of());
  }
}
