package switchboard.router;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderResult;

/** The one answer a routed chat request gets. */
public sealed interface RouteResult extends switchboard.providers.CborSerializable, ShardedDelivery.Mail {

  /**
   * A reply. {@code fellBackFrom} lists the failures of the providers tried before the one that
   * answered, in order (empty when the first provider answered).
   */
  record Answered(ProviderResult.Success success, List<ProviderResult.Failure> fellBackFrom)
      implements RouteResult {
    public String text() {
      return success.text();
    }

    public String provider() {
      return success.provider();
    }
  }

  /**
   * No provider could answer. {@code kind} and {@code provider} name the last meaningful failure,
   * and {@code message} is the one clear text to show the user (for out_of_credits:
   * {@code Provider <name> returned 402: insufficient credits. Please top up your balance and try again.}).
   */
  record Failed(
      OutcomeKind kind,
      String provider,
      String message,
      Optional<Duration> retryAfter,
      List<ProviderResult.Failure> attempts)
      implements RouteResult {}

  /**
   * The gateway refused the request itself, before any provider was asked: the caller's mistake
   * (an {@code Idempotency-Key} used again with a different body). {@code message} says what to fix.
   */
  record Rejected(String message, String code) implements RouteResult {
    public Rejected(String message) {
      this(message, "");
    }
  }

  /**
   * A streamed reply whose first piece has arrived (only for requests with {@code stream}); local to
   * this node. {@code fellBackFrom} as for {@link Answered}.
   */
  record Streaming(ProviderResult.Streaming streaming, List<ProviderResult.Failure> fellBackFrom)
      implements RouteResult {
    public String provider() {
      return streaming.provider();
    }
  }
}
