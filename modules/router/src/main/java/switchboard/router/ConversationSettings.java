package switchboard.router;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import switchboard.providers.config.ConfigReader;

/**
 * {@code switchboard.conversations}: how much of a conversation is sent along with each message, when
 * an unused conversation is let go, and the system prompt that starts every conversation.
 *
 * @param historyLength messages (user and assistant) kept per conversation and sent with the next one
 * @param idleTimeout   a conversation with nothing to do for this long is stopped (its history dropped)
 * @param systemPrompt  sent first in every request when present
 * @param requestTimeout the router's {@code request-timeout}: what one message may take in all, the time
 *     it waits behind earlier messages of its conversation included
 */
public record ConversationSettings(
    int historyLength, Duration idleTimeout, Optional<String> systemPrompt, Duration requestTimeout) {

  /** Added to {@code request-timeout} for {@link #answerTimeout}. */
  public static final Duration ANSWER_MARGIN = Duration.ofSeconds(5);

  public static final ConversationSettings DEFAULT =
      new ConversationSettings(
          20,
          Duration.ofMinutes(30),
          Optional.empty(),
          RouterSettings.DEFAULT.requestTimeout());

  public ConversationSettings {
    if (historyLength < 0) {
      throw new IllegalArgumentException("historyLength must be >= 0");
    }
    Objects.requireNonNull(idleTimeout, "idleTimeout");
    Objects.requireNonNull(systemPrompt, "systemPrompt");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
  }

  /**
   * How long a conversation waits for the router before answering {@code unavailable} itself:
   * {@code request-timeout} plus a margin, a safety net only (the router answers first).
   */
  public Duration answerTimeout() {
    return requestTimeout.plus(ANSWER_MARGIN);
  }

  public static ConversationSettings of(
      int historyLength, Duration idleTimeout, Optional<String> systemPrompt, Duration requestTimeout) {
    return new ConversationSettings(historyLength, idleTimeout, systemPrompt, requestTimeout);
  }

  /**
   * Reads {@code conversations.*} of the {@code switchboard} section, recording problems in
   * {@code switchboard}. {@code request-timeout} is only looked at to derive {@link #answerTimeout};
   * its problems are reported by {@link RouterSettings#read}, not twice.
   */
  public static ConversationSettings read(ConfigReader switchboard) {
    ConfigReader conversations = switchboard.section("conversations");
    int historyLength = conversations.atLeast("history-length", DEFAULT.historyLength(), 0);
    Duration idleTimeout = conversations.duration("idle-timeout", DEFAULT.idleTimeout());
    if (idleTimeout.isNegative() || idleTimeout.isZero()) {
      conversations.problem("idle-timeout", idleTimeout + " is not a positive duration (expected e.g. 30m)");
      idleTimeout = DEFAULT.idleTimeout();
    }
    Optional<String> systemPrompt =
        Optional.of(conversations.string("system-prompt", "")).filter(p -> !p.isBlank());
    Duration requestTimeout =
        ConfigReader.of(switchboard.config(), switchboard.prefix())
            .duration("request-timeout", RouterSettings.DEFAULT.requestTimeout());
    return of(historyLength, idleTimeout, systemPrompt, requestTimeout);
  }
}
