package switchboard.channels.telegram;

import java.time.Duration;
import java.util.Optional;

/**
 * A Bot API call that did not succeed: {@code status} is the HTTP status or Telegram's
 * {@code error_code} (0 for network errors, timeouts and unreadable bodies). The message never
 * contains the bot token.
 */
final class BotApiException extends RuntimeException {
  private final int status;
  private final Optional<Duration> retryAfter;

  BotApiException(int status, String message, Optional<Duration> retryAfter) {
    super(message, null, false, false);
    this.status = status;
    this.retryAfter = retryAfter;
  }

  int status() {
    return status;
  }

  Optional<Duration> retryAfter() {
    return retryAfter;
  }

  /**
   * Whether repeating the same call cannot help: 400 (chat not found, bad text), 401, 403 (bot
   * blocked), 404. 409, 429, 5xx and network errors are transient.
   */
  boolean permanent() {
    return status == 400 || status == 401 || status == 403 || status == 404;
  }
}
