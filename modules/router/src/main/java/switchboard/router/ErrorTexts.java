package switchboard.router;

import java.time.Duration;
import java.util.Optional;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderResult;

/**
 * The one clear text a user sees when a message cannot be answered, per outcome kind, naming the
 * provider. Kept in one place so every channel (HTTP, Telegram) says the same thing.
 */
public final class ErrorTexts {

  /** The phrase every answer to a message lost in an internal failure carries. */
  public static final String INTERNAL_ERROR = "internal error, please send your message again";

  private ErrorTexts() {}

  /** The user-facing text for {@code failure}. */
  public static String of(ProviderResult.Failure failure) {
    return of(failure.kind(), failure.provider(), failure.status(), failure.message(), failure.retryAfter());
  }

  /**
   * The user-facing text for a failure of {@code kind} at {@code provider}; {@code status} is the
   * last HTTP status (0 when none) and {@code detail} the provider actor's reason.
   */
  public static String of(
      OutcomeKind kind, String provider, int status, String detail, Optional<Duration> retryAfter) {
    String http = status > 0 ? " (HTTP " + status + ")" : "";
    String why = detail == null || detail.isBlank() ? "" : ": " + detail;
    return switch (kind) {
      case OUT_OF_CREDITS -> "Provider " + provider
          + " returned 402: insufficient credits. Please top up your balance and try again.";
      case RATE_LIMITED -> "Provider " + provider + " is rate limiting requests" + http + ". Please try again "
          + retryAfter.map(d -> "in " + format(roundUpToSecond(d))).orElse("in a minute") + ".";
      case BUDGET_EXCEEDED -> "Provider " + provider + " reached its spending cap" + why
          + ". No more messages go to it until the cap resets.";
      case AUTH_FAILED -> "Provider " + provider + " refused the gateway's API key" + http
          + ". An operator must fix the key for provider " + provider + " in the gateway configuration.";
      case BAD_REQUEST -> "Provider " + provider + " rejected the request" + http + why;
      case UNAVAILABLE -> "Provider " + provider + " is unavailable" + why + ". Please try again later.";
      case OK -> throw new IllegalArgumentException("ok is not a failure");
    };
  }

  /** The request as a whole ran out of time; {@code provider} was being asked (may be empty). */
  public static String timedOut(String provider, Duration requestTimeout) {
    String asking = provider.isEmpty() ? "" : " (last asked: " + provider + ")";
    return "Request timed out: no provider answered within " + format(requestTimeout) + asking
        + ". Please try again later.";
  }

  /**
   * A message waited so long behind earlier messages of its conversation that its time was up
   * before it could be sent.
   */
  public static String waitedBehindEarlierMessages(Duration requestTimeout) {
    return "Request timed out: earlier messages of this conversation took all of its "
        + format(requestTimeout) + ". Please send it again.";
  }

  /** There is no provider to ask at all. */
  public static String noProviders() {
    return "No provider is configured, so the message cannot be answered. An operator must add one.";
  }

  /** The store failed while a conversation read or wrote its history: the message was not answered. */
  public static String storeUnavailable() {
    return "The conversation store is unavailable, so this message could not be answered. "
        + "Please send it again in a moment.";
  }

  /** A message was lost to an internal failure (a crashed conversation) and was not answered. */
  public static String internalError() {
    return "Switchboard had an " + INTERNAL_ERROR + ".";
  }

  /** A duration as a person writes it: {@code 120s}, {@code 250ms}, {@code 1.5s}. */
  static String format(Duration duration) {
    long millis = duration.toMillis();
    if (millis < 1000) {
      return millis + "ms";
    }
    if (millis % 1000 == 0) {
      return (millis / 1000) + "s";
    }
    return String.format(java.util.Locale.ROOT, "%.1fs", millis / 1000.0);
  }

  private static Duration roundUpToSecond(Duration d) {
    long seconds = d.getSeconds() + (d.getNano() > 0 ? 1 : 0);
    return Duration.ofSeconds(Math.max(1, seconds));
  }
}
