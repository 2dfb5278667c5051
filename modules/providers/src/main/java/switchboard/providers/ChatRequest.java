package switchboard.providers;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a channel asks of the providers: the whole history to send, plus optional sampling settings.
 *
 * @param messages    the chat so far, oldest first, the new user message last
 * @param maxTokens   optional cap on the answer's tokens (Anthropic requires one: a default is used)
 * @param temperature optional sampling temperature
 * @param origin      who asks, {@code channel:conversation}, for logs and metrics only (never message text)
 */
public record ChatRequest(
    List<ChatMessage> messages, Optional<Integer> maxTokens, Optional<Double> temperature, String origin) {

  public ChatRequest {
    messages = List.copyOf(messages);
    Objects.requireNonNull(maxTokens, "maxTokens");
    Objects.requireNonNull(temperature, "temperature");
    Objects.requireNonNull(origin, "origin");
  }

  public static ChatRequest of(String origin, List<ChatMessage> messages) {
    return new ChatRequest(messages, Optional.empty(), Optional.empty(), origin);
  }
}
