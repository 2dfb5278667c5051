package switchboard.providers;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A provider's state as {@code GET /api/status} shows it. {@code reason} is the outcome kind that
 * opened the breaker (e.g. {@code out_of_credits}), empty while closed.
 */
public record ProviderStatus(
    String name,
    String kind,
    String model,
    int priority,
    boolean fallbackOnly,
    BreakerState state,
    Optional<String> reason,
    Optional<Instant> openUntil,
    List<KeyStatus> keys,
    Accounting accounting,
    Throttle throttle) {

  public ProviderStatus {
    keys = List.copyOf(keys);
  }

  /** One key of the credential pool, by alias only. */
  public record KeyStatus(
      String alias,
      BreakerState state,
      Optional<String> reason,
      Optional<Instant> openUntil,
      Optional<Instant> coolingUntil,
      Accounting accounting) {}

  /** Calls, tokens and spend (in the price's currency) since start, and in the current day and month. */
  public record Accounting(
      long calls, long inputTokens, long outputTokens, double spendTotal, double spendToday, double spendMonth) {
    public static final Accounting ZERO = new Accounting(0, 0, 0, 0, 0, 0);
  }

  /**
   * Self-throttle room: requests and tokens left in the current minute (-1 = no limit), requests
   * waiting in the local queue.
   */
  public record Throttle(long requestsLeft, long tokensLeft, int queued) {
    public static final Throttle NONE = new Throttle(-1, -1, 0);
  }
}
