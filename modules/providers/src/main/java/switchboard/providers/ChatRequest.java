package switchboard.providers;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import switchboard.providers.wire.Json;

/**
 * What a channel asks of the providers: the whole history to send, plus optional sampling settings.
 *
 * @param messages    the chat so far, oldest first, the new user message last (as plain text: what
 *     the token estimate, the simulated provider and the conversation history read)
 * @param maxTokens   optional cap on the answer's tokens (Anthropic requires one: a default is used)
 * @param temperature optional sampling temperature
 * @param origin      who asks, {@code channel:conversation}, for logs and metrics only (never message text)
 * @param body        the caller's OpenAI Chat Completions body as sent (tools, content parts, unknown
 *     fields and all), when the caller sent one; provider kinds build their calls from it
 * @param stream      whether the answer is wanted as a stream of pieces
 */
public record ChatRequest(
    List<ChatMessage> messages, Optional<Integer> maxTokens, Optional<Double> temperature, String origin,
    Optional<ObjectNode> body, boolean stream) {

  public ChatRequest {
    messages = List.copyOf(messages);
    Objects.requireNonNull(maxTokens, "maxTokens");
    Objects.requireNonNull(temperature, "temperature");
    Objects.requireNonNull(origin, "origin");
    Objects.requireNonNull(body, "body");
  }

  public ChatRequest(List<ChatMessage> messages, Optional<Integer> maxTokens, Optional<Double> temperature, String origin) {
    this(messages, maxTokens, temperature, origin, Optional.empty(), false);
  }

  public static ChatRequest of(String origin, List<ChatMessage> messages) {
    return new ChatRequest(messages, Optional.empty(), Optional.empty(), origin);
  }

  /**
   * The request as an OpenAI Chat Completions body (without {@code model}): the caller's own when
   * there is one, else built from the plain messages and settings. Shared, never to be modified.
   */
  public ObjectNode canonical() {
    if (body.isPresent()) {
      return body.get();
    }
    ObjectNode out = Json.MAPPER.createObjectNode();
    ArrayNode array = out.putArray("messages");
    for (ChatMessage m : messages) {
      array.addObject().put("role", m.role()).put("content", m.content());
    }
    maxTokens.ifPresent(n -> out.put("max_tokens", n));
    temperature.ifPresent(t -> out.put("temperature", t));
    return out;
  }
}
