package switchboard.channels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChannelHistoryTest {
  private final MovableClock clock = new MovableClock(Instant.parse("2026-12-02T04:31:10Z"));
  private final ChannelHistory history = new ChannelHistory(clock);

  @Test
  void channelMetricsFeedMessagesByOutcomeAndBusyRepliesPerMinute() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ChannelMetrics http = new ChannelMetrics(registry, "http", () -> 0, Duration.ofSeconds(5), history);
    ChannelMetrics telegram = new ChannelMetrics(registry, "telegram", () -> 0, Duration.ofSeconds(5), history);
    http.request("ok", System.nanoTime());
    http.request("ok", System.nanoTime());
    http.busy();
    http.request("busy", System.nanoTime());
    http.count("unauthorized");
    clock.now = clock.now.plus(Duration.ofMinutes(1));
    telegram.request("ok", System.nanoTime());

    Map<String, List<ChannelHistory.Bucket>> hour = history.lastHour();
    assertEquals(
        List.of(new ChannelHistory.Bucket(Instant.parse("2026-12-02T04:31:00Z"), 4, 1, Map.of("busy", 1L, "ok", 2L, "unauthorized", 1L))),
        hour.get("http"));
    assertEquals(Instant.parse("2026-12-02T04:32:00Z"), hour.get("telegram").get(0).start());
    assertEquals(2.0, registry.get("switchboard.requests").tag("channel", "http").tag("outcome", "ok").counter().count(),
        "the meters still count as before");
  }

  @Test
  void keepsTheLastHourOnly() {
    history.request("http", "ok");
    clock.now = clock.now.plus(Duration.ofMinutes(30));
    history.busy("http");
    assertEquals(2, history.lastHour().get("http").size());
    clock.now = clock.now.plus(Duration.ofMinutes(30));
    assertEquals(1, history.lastHour().get("http").size());
    clock.now = clock.now.plus(Duration.ofMinutes(30));
    assertTrue(history.lastHour().get("http").isEmpty());
  }

  @Test
  void oneHistoryPerRegistrySoARestartedChannelKeepsItsHour() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ChannelMetrics first = new ChannelMetrics(registry, "http", () -> 0, Duration.ofSeconds(5));
    first.request("ok", System.nanoTime());
    first.close();
    ChannelMetrics restarted = new ChannelMetrics(registry, "http", () -> 0, Duration.ofSeconds(5));
    assertSame(first.history(), restarted.history());
    assertEquals(1, restarted.history().lastHour().get("http").get(0).messages());
    assertNotSame(ChannelHistory.of(registry), ChannelHistory.of(new SimpleMeterRegistry()));
  }

  private static final class MovableClock extends Clock {
    volatile Instant now;

    MovableClock(Instant now) {
      this.now = now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
