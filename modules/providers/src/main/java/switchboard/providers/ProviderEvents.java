package switchboard.providers;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * What provider actors report as it happens, for the provider call log, metrics and alerts.
 * Called on the actor's thread: implementations must not block (hand work to a logger or an actor).
 */
public interface ProviderEvents {

  /** One HTTP call (or simulated call) to a provider has ended. */
  default void call(CallRecord record) {}

  /** A provider's or a key's breaker changed state. */
  default void breakerChanged(BreakerChange change) {}

  /** A retry of the same message on the same provider was scheduled after {@code delay}. */
  default void retryScheduled(String provider, OutcomeKind kind, Duration delay) {}

  /** A message was answered without a call because a breaker was open or the throttle had no room. */
  default void refused(String provider, OutcomeKind kind, String reason) {}

  ProviderEvents NONE = new ProviderEvents() {};

  /**
   * One line of the provider call log. {@code rateLimitHeaders} holds {@code retry-after},
   * {@code x-ratelimit-*} and {@code anthropic-ratelimit-*} as received. Never a key or message text.
   */
  record CallRecord(
      Instant time,
      String provider,
      String keyAlias,
      String model,
      String origin,
      int attempt,
      int status,
      OutcomeKind outcome,
      Duration latency,
      Usage usage,
      double cost,
      Map<String, String> rateLimitHeaders) {}

  /**
   * A breaker change. {@code keyAlias} is empty for the provider's own breaker; {@code reason} is the
   * outcome kind that opened it (empty when it closed); {@code until} is when it may close again.
   */
  record BreakerChange(
      Instant time,
      String provider,
      Optional<String> keyAlias,
      BreakerState from,
      BreakerState to,
      Optional<OutcomeKind> reason,
      Optional<Instant> until,
      String detail) {}
}
