package switchboard.providers.config;

import java.time.Duration;

/** {@code switchboard.retry}: retries of rate_limited and unavailable on the same provider. */
public record RetryConfig(
    int maxRetries,
    Duration backoffBase,
    Duration backoffMax,
    double jitter,
    boolean respectRetryAfter,
    Duration maxRetryAfter) {

  public static final RetryConfig DEFAULT =
      new RetryConfig(3, Duration.ofSeconds(1), Duration.ofSeconds(30), 0.25, true, Duration.ofSeconds(60));

  public static RetryConfig read(ConfigReader switchboard) {
    ConfigReader r = switchboard.section("retry");
    RetryConfig d = DEFAULT;
    double jitter = r.atLeast("jitter", d.jitter(), 0.0);
    if (jitter > 1.0) {
      r.problem("jitter", jitter + " is too large (expected a fraction from 0 to 1)");
      jitter = d.jitter();
    }
    return new RetryConfig(
        r.atLeast("max-retries", d.maxRetries(), 0),
        r.duration("backoff-base", d.backoffBase()),
        r.duration("backoff-max", d.backoffMax()),
        jitter,
        r.bool("respect-retry-after", d.respectRetryAfter()),
        r.duration("max-retry-after", d.maxRetryAfter()));
  }

  /** The delay before retry number {@code retry} (1-based), before jitter: base·2^(n-1), capped. */
  public Duration backoff(int retry) {
    long base = backoffBase.toMillis();
    long factor = 1L << Math.min(Math.max(retry - 1, 0), 30);
    long millis = base > Long.MAX_VALUE / factor ? Long.MAX_VALUE : base * factor;
    return Duration.ofMillis(Math.min(millis, backoffMax.toMillis()));
  }
}
