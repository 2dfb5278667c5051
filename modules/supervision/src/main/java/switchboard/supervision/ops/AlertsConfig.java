package switchboard.supervision.ops;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Optional;
import switchboard.providers.config.ConfigReader;

/**
 * {@code switchboard.alerts}: where alerts go and when a run of rate_limited answers is worth one.
 * The delivery settings (attempts, backoff, timeout) are not config keys: they have sensible fixed
 * values and exist here so tests can make them short.
 *
 * @param webhookUrl        each alert is POSTed here as JSON; empty = no webhook
 * @param telegramChatId    the admin chat that also gets each alert; empty = none
 * @param rateLimitedPerHour alert when a provider gives more rate_limited answers than this within an
 *                          hour; 0 = never
 * @param deliveryAttempts  webhook attempts per alert, the first included
 * @param backoffBase       delay before the first retry; doubles each retry up to {@code backoffMax}
 * @param backoffMax        longest delay between attempts
 * @param requestTimeout    one webhook POST
 */
public record AlertsConfig(
    Optional<URI> webhookUrl,
    Optional<Long> telegramChatId,
    int rateLimitedPerHour,
    int deliveryAttempts,
    Duration backoffBase,
    Duration backoffMax,
    Duration requestTimeout) {

  public static final AlertsConfig DEFAULT =
      new AlertsConfig(Optional.empty(), Optional.empty(), 5, 6, Duration.ofSeconds(2), Duration.ofMinutes(2), Duration.ofSeconds(10));

  public static AlertsConfig read(ConfigReader switchboard) {
    ConfigReader r = switchboard.section("alerts");
    AlertsConfig d = DEFAULT;
    return new AlertsConfig(
        webhook(r),
        chatId(r),
        r.atLeast("rate-limited-per-hour", d.rateLimitedPerHour(), 0),
        d.deliveryAttempts(),
        d.backoffBase(),
        d.backoffMax(),
        d.requestTimeout());
  }

  /** The same settings sending to {@code url} with the given delivery timing (tests). */
  public AlertsConfig withDelivery(URI url, int attempts, Duration base, Duration max, Duration timeout) {
    return new AlertsConfig(Optional.of(url), telegramChatId, rateLimitedPerHour, attempts, base, max, timeout);
  }

  public AlertsConfig withRateLimitedPerHour(int perHour) {
    return new AlertsConfig(webhookUrl, telegramChatId, perHour, deliveryAttempts, backoffBase, backoffMax, requestTimeout);
  }

  /** Delay before retry number {@code retry} (1-based). */
  Duration backoff(int retry) {
    long factor = 1L << Math.min(Math.max(retry - 1, 0), 20);
    long millis = backoffBase.toMillis() * factor;
    return Duration.ofMillis(Math.min(millis, backoffMax.toMillis()));
  }

  private static Optional<URI> webhook(ConfigReader r) {
    String url = r.string("webhook-url", "").strip();
    if (url.isEmpty()) {
      return Optional.empty();
    }
    try {
      URI uri = new URI(url);
      if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null) {
        return Optional.of(uri);
      }
    } catch (URISyntaxException e) {
      // reported below
    }
    // The URL may carry a secret (Slack-style webhooks): name the problem, not the value.
    r.problem("webhook-url", "is not a URL (expected http://... or https://...)");
    return Optional.empty();
  }

  private static Optional<Long> chatId(ConfigReader r) {
    if (!r.has("telegram-chat-id")) {
      return Optional.empty();
    }
    String text = r.string("telegram-chat-id", "").strip();
    if (text.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Long.parseLong(text));
    } catch (NumberFormatException e) {
      r.problem("telegram-chat-id", "\"" + text + "\" is not a Telegram chat id (expected a whole number like -1001234567890)");
      return Optional.empty();
    }
  }
}
