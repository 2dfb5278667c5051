package switchboard.providers.config;

import java.time.Duration;

/**
 * {@code switchboard.breaker}: when repeated {@code unavailable} answers open a provider's breaker,
 * and for how long. The cooldown doubles each time the breaker re-opens after a failed probe.
 */
public record BreakerConfig(int unavailableThreshold, Duration cooldownBase, Duration cooldownMax) {

  public static final BreakerConfig DEFAULT = new BreakerConfig(5, Duration.ofSeconds(10), Duration.ofMinutes(5));

  public static BreakerConfig read(ConfigReader switchboard) {
    ConfigReader r = switchboard.section("breaker");
    BreakerConfig d = DEFAULT;
    return new BreakerConfig(
        r.atLeast("unavailable-threshold", d.unavailableThreshold(), 1),
        r.duration("cooldown-base", d.cooldownBase()),
        r.duration("cooldown-max", d.cooldownMax()));
  }

  /** Cooldown after the breaker opened for the {@code times}-th time in a row (1-based). */
  public Duration cooldown(int times) {
    long factor = 1L << Math.min(Math.max(times - 1, 0), 30);
    long millis = cooldownBase.toMillis() > Long.MAX_VALUE / factor ? Long.MAX_VALUE : cooldownBase.toMillis() * factor;
    return Duration.ofMillis(Math.min(millis, cooldownMax.toMillis()));
  }
}
