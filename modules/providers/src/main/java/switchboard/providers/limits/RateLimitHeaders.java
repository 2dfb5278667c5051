package switchboard.providers.limits;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Optional;
import switchboard.providers.ErrorClassifier;

/**
 * What a provider's rate-limit headers say is left, so the throttle can tighten when the provider
 * is stricter than configured. OpenAI: {@code x-ratelimit-remaining-requests} / {@code -tokens} with
 * {@code x-ratelimit-reset-requests} / {@code -tokens} as durations ({@code 1s}, {@code 6m0s},
 * {@code 120ms}, read by {@link ErrorClassifier#parseResetDuration}). Anthropic:
 * {@code anthropic-ratelimit-requests-remaining} / {@code -tokens-remaining} with {@code -reset} as
 * RFC 3339 instants. Header names are expected in lower case.
 *
 * @param requestsLeft -1 when not said
 * @param tokensLeft   -1 when not said
 */
public record RateLimitHeaders(long requestsLeft, Instant requestsReset, long tokensLeft, Instant tokensReset) {

  public static RateLimitHeaders read(Map<String, String> headers, Instant now) {
    long requestsLeft = number(headers, "x-ratelimit-remaining-requests")
        .or(() -> number(headers, "anthropic-ratelimit-requests-remaining")).orElse(-1L);
    Instant requestsReset = reset(headers, "x-ratelimit-reset-requests", "anthropic-ratelimit-requests-reset", now);
    long tokensLeft = number(headers, "x-ratelimit-remaining-tokens")
        .or(() -> number(headers, "anthropic-ratelimit-tokens-remaining")).orElse(-1L);
    Instant tokensReset = reset(headers, "x-ratelimit-reset-tokens", "anthropic-ratelimit-tokens-reset", now);
    return new RateLimitHeaders(requestsLeft, requestsReset, tokensLeft, tokensReset);
  }

  public boolean saysAnything() {
    return requestsLeft >= 0 || tokensLeft >= 0;
  }

  private static Optional<Long> number(Map<String, String> headers, String name) {
    String value = headers.get(name);
    if (value == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Long.parseLong(value.trim()));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static Instant reset(Map<String, String> headers, String openAi, String anthropic, Instant now) {
    Optional<Duration> duration = ErrorClassifier.parseResetDuration(headers.get(openAi));
    if (duration.isPresent()) {
      return now.plus(duration.get());
    }
    String instant = headers.get(anthropic);
    if (instant != null) {
      try {
        return OffsetDateTime.parse(instant.trim()).toInstant();
      } catch (DateTimeParseException e) {
        return now;
      }
    }
    return now;
  }
}
