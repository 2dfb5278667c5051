package switchboard.providers.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import switchboard.providers.BreakerState;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderEvents;
import switchboard.providers.ProviderStatus;

/**
 * Prometheus metrics of the providers, fed by {@link ProviderEvents}, so a dashboard shows a 402, a
 * storm of 429s or an open breaker before users report it. Micrometer names map to Prometheus names:
 * counter {@code switchboard.provider.calls} is scraped as {@code switchboard_provider_calls_total}.
 *
 * <ul>
 *   <li>{@code switchboard_provider_calls_total{provider,key,outcome,status}}: HTTP calls made
 *   <li>{@code switchboard_provider_retries_total{provider,outcome}}: retries scheduled
 *   <li>{@code switchboard_provider_refused_total{provider,outcome}}: messages answered without a call
 *   <li>{@code switchboard_fallbacks_total{from,to,reason}}: messages passed on to the next provider
 *   <li>{@code switchboard_breaker_state{provider,key}}: 0 closed, 1 open, 2 half_open (key="" = provider)
 *   <li>{@code switchboard_breaker_open_seconds_total{provider,key}}: time spent not closed
 *   <li>{@code switchboard_breaker_resets_total{provider,key,by}}: operators' resets (key="" = the whole
 *       provider; by = cli, http or status-page), whether or not a breaker was open
 *   <li>{@code switchboard_provider_latency_seconds{provider}}: call latency histogram (a streamed
 *       call's runs to its end)
 *   <li>{@code switchboard_provider_first_token_seconds{provider}}: time to the first piece of a streamed call
 *   <li>{@code switchboard_provider_tokens_total{provider,direction}}: direction {@code input|output}
 *   <li>{@code switchboard_provider_spend_total{provider}}: spend in the price's currency
 *   <li>{@code switchboard_throttle_queued{provider}}: requests waiting for throttle room
 * </ul>
 *
 * Thread-safe: provider actors call it from their own threads.
 */
public final class ProviderMetrics implements ProviderEvents {

  private final MeterRegistry registry;
  private final MeterCache meters;
  private final Clock clock;
  private final Map<BreakerKey, BreakerGauge> breakers = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> queued = new ConcurrentHashMap<>();

  public ProviderMetrics(MeterRegistry registry) {
    this(registry, Clock.systemUTC());
  }

  /** Metrics whose open-time counter reads {@code clock} (tests). */
  public ProviderMetrics(MeterRegistry registry, Clock clock) {
    this.registry = registry;
    this.meters = new MeterCache(registry);
    this.clock = clock;
  }

  /**
   * Registers a provider's breaker gauges (closed) and throttle gauge at start-up, so the series exist
   * before anything happens: a dashboard then shows "0" instead of "no data".
   */
  public ProviderMetrics register(String provider, List<String> keyAliases) {
    breaker(provider, "");
    keyAliases.forEach(alias -> breaker(provider, alias));
    queuedGauge(provider);
    return this;
  }

  @Override
  public void reset(String provider, java.util.Optional<String> keyAlias, String by, int closed) {
    meters.counter("switchboard.breaker.resets", "Operators' resets of provider breakers",
        "provider", provider, "key", keyAlias.orElse(""), "by", by).increment();
  }

  @Override
  public void call(CallRecord r) {
    String outcome = r.outcome() == null ? "" : r.outcome().wire();
    meters.counter("switchboard.provider.calls", "HTTP calls to providers",
        "provider", r.provider(), "key", orEmpty(r.keyAlias()), "outcome", outcome, "status", Integer.toString(r.status()))
        .increment();
    if (r.latency() != null) {
      meters.timer("switchboard.provider.latency",
          b -> b.description("Latency of one HTTP call to a provider").publishPercentileHistogram(),
          "provider", r.provider()).record(r.latency());
    }
    r.firstToken().ifPresent(ttft -> meters.timer("switchboard.provider.first.token",
        b -> b.description("Time from a streamed call's start to its first piece of answer").publishPercentileHistogram(),
        "provider", r.provider()).record(ttft));
    if (r.usage() != null) {
      tokens(r.provider(), "input").increment(r.usage().inputTokens());
      tokens(r.provider(), "output").increment(r.usage().outputTokens());
    }
    if (r.cost() > 0) {
      meters.counter("switchboard.provider.spend", "Spend on a provider, in the configured price's currency",
          "provider", r.provider()).increment(r.cost());
    }
  }

  @Override
  public void breakerChanged(BreakerChange change) {
    breaker(change.provider(), change.keyAlias().orElse("")).set(change.to(), change.time());
  }

  @Override
  public void retryScheduled(String provider, OutcomeKind kind, Duration delay) {
    meters.counter("switchboard.provider.retries", "Retries of a message on the same provider",
        "provider", provider, "outcome", kind.wire()).increment();
  }

  @Override
  public void refused(String provider, OutcomeKind kind, String reason) {
    meters.counter("switchboard.provider.refused",
        "Messages a provider answered without a call (breaker open, throttle full)",
        "provider", provider, "outcome", kind.wire()).increment();
  }

  /**
   * A message failed on {@code from} with {@code reason} and was passed on to {@code to}. The router
   * knows this, not the provider actors: it calls this directly.
   */
  public void fallback(String from, String to, OutcomeKind reason) {
    meters.counter("switchboard.fallbacks", "Messages passed on to the next provider",
        "from", from, "to", to, "reason", reason.wire()).increment();
  }

  /**
   * Brings the breaker and throttle gauges in line with a polled status (e.g. each {@code /api/status}
   * answer), which also covers changes an event may have missed, such as breakers restored at start.
   */
  public void observe(ProviderStatus status) {
    breaker(status.name(), "").set(status.state(), clock.instant());
    for (ProviderStatus.KeyStatus key : status.keys()) {
      breaker(status.name(), key.alias()).set(key.state(), clock.instant());
    }
    if (status.throttle() != null) {
      queuedGauge(status.name()).set(status.throttle().queued());
    }
  }

  private Counter tokens(String provider, String direction) {
    return meters.counter("switchboard.provider.tokens", "Tokens reported by providers",
        "provider", provider, "direction", direction);
  }

  private AtomicInteger queuedGauge(String provider) {
    return queued.computeIfAbsent(
        provider,
        p -> {
          AtomicInteger value = new AtomicInteger();
          Gauge.builder("switchboard.throttle.queued", value, AtomicInteger::get)
              .description("Requests waiting locally for throttle room")
              .tag("provider", p)
              .register(registry);
          return value;
        });
  }

  private BreakerGauge breaker(String provider, String key) {
    return breakers.computeIfAbsent(
        new BreakerKey(provider, key),
        k -> {
          BreakerGauge gauge = new BreakerGauge(clock);
          Gauge.builder("switchboard.breaker.state", gauge, BreakerGauge::code)
              .description("Breaker state: 0 closed, 1 open, 2 half_open; key=\"\" is the provider's own")
              .tags("provider", k.provider(), "key", k.key())
              .register(registry);
          FunctionCounter.builder("switchboard.breaker.open.seconds", gauge, BreakerGauge::openSeconds)
              .description("Seconds the breaker has spent open or half-open since start")
              .tags("provider", k.provider(), "key", k.key())
              .register(registry);
          return gauge;
        });
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }

  private record BreakerKey(String provider, String key) {}

  /** One breaker's state and the time it has spent not closed. */
  private static final class BreakerGauge {
    private final Clock clock;
    private BreakerState state = BreakerState.CLOSED;
    private Instant notClosedSince;
    private double closedPeriodsSeconds;
    private double reported;

    BreakerGauge(Clock clock) {
      this.clock = clock;
    }

    synchronized void set(BreakerState to, Instant at) {
      Instant when = at == null ? clock.instant() : at;
      boolean wasClosed = state == BreakerState.CLOSED;
      boolean isClosed = to == BreakerState.CLOSED;
      if (wasClosed && !isClosed) {
        notClosedSince = when;
      } else if (!wasClosed && isClosed && notClosedSince != null) {
        closedPeriodsSeconds += Math.max(0, Duration.between(notClosedSince, when).toNanos() / 1e9);
        notClosedSince = null;
      }
      state = to;
    }

    synchronized double code() {
      return switch (state) {
        case CLOSED -> 0;
        case OPEN -> 1;
        case HALF_OPEN -> 2;
      };
    }

    /** Never decreases, as a counter must, even if event times arrive out of order. */
    synchronized double openSeconds() {
      double current = closedPeriodsSeconds;
      if (notClosedSince != null) {
        current += Math.max(0, Duration.between(notClosedSince, clock.instant()).toNanos() / 1e9);
      }
      reported = Math.max(reported, current);
      return reported;
    }
  }
}
