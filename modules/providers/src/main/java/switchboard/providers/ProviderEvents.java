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

  /**
   * A breaker change another node of the cluster made (it saw the provider's answer, or an operator
   * reset it there), applied here. The same as {@link #breakerChanged} for metrics and logs; the
   * alerts leave it to the node that made it, so a webhook hears it once, not once per node.
   */
  default void breakerApplied(BreakerChange change) {
    breakerChanged(change);
  }

  /** A retry of the same message on the same provider was scheduled after {@code delay}. */
  default void retryScheduled(String provider, OutcomeKind kind, Duration delay) {}

  /** A message was answered without a call because a breaker was open or the throttle had no room. */
  default void refused(String provider, OutcomeKind kind, String reason) {}

  /**
   * An operator reset the breakers of {@code provider} (one key's when {@code keyAlias} is given);
   * {@code by} says through what ({@code cli}, {@code http}, {@code status-page}), {@code closed} how many
   * breakers that closed. Each closed breaker is also a {@link #breakerChanged} with {@code resetBy}.
   */
  default void reset(String provider, Optional<String> keyAlias, String by, int closed) {}

  ProviderEvents NONE = new ProviderEvents() {};

  /**
   * One line of the provider call log. {@code rateLimitHeaders} holds {@code retry-after},
   * {@code x-ratelimit-*} and {@code anthropic-ratelimit-*} as received. Never a key or message text.
   * For a streamed call {@code latency} runs to the stream's end and {@code firstToken} to its first piece.
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
      Map<String, String> rateLimitHeaders,
      Optional<Duration> firstToken) {

    /** A call answered as a whole (not streamed). */
    public CallRecord(
        Instant time, String provider, String keyAlias, String model, String origin, int attempt, int status,
        OutcomeKind outcome, Duration latency, Usage usage, double cost, Map<String, String> rateLimitHeaders) {
      this(time, provider, keyAlias, model, origin, attempt, status, outcome, latency, usage, cost, rateLimitHeaders,
          Optional.empty());
    }

    /** Whether the answer was streamed; {@code firstToken} is then the time to its first piece. */
    public boolean streamed() {
      return firstToken.isPresent();
    }
  }

  /**
   * A breaker change. {@code keyAlias} is empty for the provider's own breaker; {@code reason} is the
   * outcome kind that opened it (empty when it closed); {@code until} is when it may close again;
   * {@code resetBy} is set when an operator's reset closed it, and says through what.
   */
  record BreakerChange(
      Instant time,
      String provider,
      Optional<String> keyAlias,
      BreakerState from,
      BreakerState to,
      Optional<OutcomeKind> reason,
      Optional<Instant> until,
      String detail,
      Optional<String> resetBy) {

    /** A change that no operator caused. */
    public BreakerChange(
        Instant time, String provider, Optional<String> keyAlias, BreakerState from, BreakerState to,
        Optional<OutcomeKind> reason, Optional<Instant> until, String detail) {
      this(time, provider, keyAlias, from, to, reason, until, detail, Optional.empty());
    }

    /** This change, as caused by an operator's reset through {@code by}. */
    public BreakerChange resetBy(String by) {
      return new BreakerChange(time, provider, keyAlias, from, to, reason, until, detail, Optional.of(by));
    }
  }
}
