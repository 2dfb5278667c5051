package switchboard.providers.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import switchboard.providers.BreakerState;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderStatus;

class ProviderMetricsTest {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  /** The value of the one series whose name and labels are exactly as given, in scrape order. */
  private double value(String series) {
    String scrape = registry.scrape();
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(scrape);
    assertTrue(m.find(), "no series " + series + " in\n" + scrape);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void aFallbackScenarioShowsCallsBreakerAndFallback() {
    ProviderMetrics metrics = new ProviderMetrics(registry).register("primary", List.of("primary#1")).register("backup", List.of("backup#1"));
    assertEquals(0, value("switchboard_breaker_state{key=\"\",provider=\"primary\"}"));

    metrics.call(Records.call("primary", "primary#1", 402, OutcomeKind.OUT_OF_CREDITS, Map.of()));
    metrics.breakerChanged(Records.open("primary", Optional.empty(), OutcomeKind.OUT_OF_CREDITS, Instant.now()));
    metrics.fallback("primary", "backup", OutcomeKind.OUT_OF_CREDITS);
    metrics.call(Records.call("backup", "backup#1", 200, OutcomeKind.OK, Map.of()));
    metrics.refused("primary", OutcomeKind.OUT_OF_CREDITS, "breaker open");
    metrics.fallback("primary", "backup", OutcomeKind.OUT_OF_CREDITS);
    metrics.call(Records.call("backup", "backup#1", 200, OutcomeKind.OK, Map.of()));

    assertEquals(1, value("switchboard_provider_calls_total{key=\"primary#1\",outcome=\"out_of_credits\",provider=\"primary\",status=\"402\"}"));
    assertEquals(2, value("switchboard_provider_calls_total{key=\"backup#1\",outcome=\"ok\",provider=\"backup\",status=\"200\"}"));
    assertEquals(1, value("switchboard_breaker_state{key=\"\",provider=\"primary\"}"));
    assertEquals(0, value("switchboard_breaker_state{key=\"primary#1\",provider=\"primary\"}"));
    assertEquals(0, value("switchboard_breaker_state{key=\"\",provider=\"backup\"}"));
    assertEquals(2, value("switchboard_fallbacks_total{from=\"primary\",reason=\"out_of_credits\",to=\"backup\"}"));
    assertEquals(1, value("switchboard_provider_refused_total{outcome=\"out_of_credits\",provider=\"primary\"}"));
    assertEquals(24, value("switchboard_provider_tokens_total{direction=\"input\",provider=\"backup\"}"));
    assertEquals(60, value("switchboard_provider_tokens_total{direction=\"output\",provider=\"backup\"}"));
    assertEquals(0.003, value("switchboard_provider_spend_total{provider=\"backup\"}"), 1e-9);
    assertEquals(2, value("switchboard_provider_latency_seconds_count{provider=\"backup\"}"));
    assertEquals(0.5, value("switchboard_provider_latency_seconds_sum{provider=\"backup\"}"), 1e-9);
    assertTrue(registry.scrape().contains("switchboard_provider_latency_seconds_bucket{provider=\"backup\",le=\"0.268435456\"} 2"),
        "a percentile histogram is published");
  }

  @Test
  void retriesAndHalfOpenStateAndTimeOpen() {
    Instant start = Instant.parse("2025-03-01T10:00:00Z");
    MutableClock clock = new MutableClock(start);
    ProviderMetrics metrics = new ProviderMetrics(registry, clock);

    metrics.retryScheduled("primary", OutcomeKind.UNAVAILABLE, Duration.ofSeconds(1));
    metrics.retryScheduled("primary", OutcomeKind.UNAVAILABLE, Duration.ofSeconds(2));
    assertEquals(2, value("switchboard_provider_retries_total{outcome=\"unavailable\",provider=\"primary\"}"));

    metrics.breakerChanged(Records.open("primary", Optional.of("primary#1"), OutcomeKind.UNAVAILABLE, start));
    clock.now = start.plusSeconds(30);
    assertEquals(30, value("switchboard_breaker_open_seconds_total{key=\"primary#1\",provider=\"primary\"}"));
    metrics.breakerChanged(
        new switchboard.providers.ProviderEvents.BreakerChange(
            start.plusSeconds(30), "primary", Optional.of("primary#1"), BreakerState.OPEN, BreakerState.HALF_OPEN,
            Optional.empty(), Optional.empty(), "probe"));
    assertEquals(2, value("switchboard_breaker_state{key=\"primary#1\",provider=\"primary\"}"));
    metrics.breakerChanged(Records.close("primary", Optional.of("primary#1"), BreakerState.HALF_OPEN, start.plusSeconds(40)));
    clock.now = start.plusSeconds(100);
    assertEquals(0, value("switchboard_breaker_state{key=\"primary#1\",provider=\"primary\"}"));
    assertEquals(40, value("switchboard_breaker_open_seconds_total{key=\"primary#1\",provider=\"primary\"}"));
  }

  @Test
  void aPolledStatusSetsBreakerAndThrottleGauges() {
    ProviderMetrics metrics = new ProviderMetrics(registry);
    metrics.observe(
        new ProviderStatus(
            "primary", "openai", "gpt-4o-mini", 1, false, BreakerState.OPEN, Optional.of("auth_failed"), Optional.empty(),
            List.of(new ProviderStatus.KeyStatus("primary#1", BreakerState.HALF_OPEN, Optional.empty(), Optional.empty(),
                Optional.empty(), ProviderStatus.Accounting.ZERO)),
            ProviderStatus.Accounting.ZERO, new ProviderStatus.Throttle(3, 1000, 4)));
    assertEquals(1, value("switchboard_breaker_state{key=\"\",provider=\"primary\"}"));
    assertEquals(2, value("switchboard_breaker_state{key=\"primary#1\",provider=\"primary\"}"));
    assertEquals(4, value("switchboard_throttle_queued{provider=\"primary\"}"));
  }
}
