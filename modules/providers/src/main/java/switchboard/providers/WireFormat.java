package switchboard.providers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import switchboard.providers.config.ProviderConfig;

/**
 * The two wire formats a provider may speak: how a {@link ChatRequest} becomes an HTTP request and
 * how a 2xx body becomes text and {@link Usage}. Kept apart from the transport so the classifier and
 * the simulated provider share exactly the same parsing.
 */
public enum WireFormat {
  /** OpenAI Chat Completions: {@code POST {base-url}/chat/completions}, {@code Authorization: Bearer}. */
  OPENAI("/chat/completions"),
  /** Anthropic Messages: {@code POST {base-url}/v1/messages}, {@code x-api-key}, system prompt apart. */
  ANTHROPIC("/v1/messages");

  /** The Anthropic API version this client speaks. */
  public static final String ANTHROPIC_VERSION = "2023-06-01";

  static final ObjectMapper JSON = new ObjectMapper();

  private final String path;

  WireFormat(String path) {
    this.path = path;
  }

  /** A completion parsed from a 2xx body. */
  public record Completion(String text, Usage usage) {}

  /** The format a provider kind speaks (the simulated provider answers in OpenAI's). */
  public static WireFormat of(ProviderConfig.Kind kind) {
    return kind == ProviderConfig.Kind.ANTHROPIC ? ANTHROPIC : OPENAI;
  }

  /** The full URL of a completion call for {@code baseUrl} (without a trailing slash). */
  public String url(String baseUrl) {
    return baseUrl + path;
  }

  /** The headers that carry {@code apiKey} (and the API version), never logged. */
  public Map<String, String> authHeaders(String apiKey) {
    return this == OPENAI
        ? Map.of("Authorization", "Bearer " + apiKey)
        : Map.of("x-api-key", apiKey, "anthropic-version", ANTHROPIC_VERSION);
  }

  /**
   * The JSON body of a completion call. Anthropic gets the system messages joined into
   * {@code system} and always a {@code max_tokens} (the request's, else {@code defaultMaxTokens}).
   */
  public byte[] requestBody(ChatRequest request, String model, int defaultMaxTokens) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    ArrayNode messages = body.putArray("messages");
    List<String> system = new ArrayList<>();
    for (ChatMessage m : request.messages()) {
      if (this == ANTHROPIC && m.role().equals("system")) {
        system.add(m.content());
      } else {
        messages.addObject().put("role", m.role()).put("content", m.content());
      }
    }
    if (this == ANTHROPIC) {
      if (!system.isEmpty()) {
        body.put("system", String.join("\n\n", system));
      }
      body.put("max_tokens", request.maxTokens().orElse(defaultMaxTokens));
    } else {
      request.maxTokens().ifPresent(n -> body.put("max_tokens", n));
    }
    request.temperature().ifPresent(t -> body.put("temperature", t));
    try {
      return JSON.writeValueAsBytes(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot render a request body", e);
    }
  }

  /** Parses a body once; empty when it is not JSON. */
  static Optional<JsonNode> parseJson(String body) {
    if (body == null || body.isBlank()) {
      return Optional.empty();
    }
    try {
      return Optional.ofNullable(JSON.readTree(body.getBytes(StandardCharsets.UTF_8)));
    } catch (java.io.IOException e) {
      return Optional.empty();
    }
  }

  /** The completion in a parsed 2xx body; empty when the body is not a well-formed completion. */
  public Optional<Completion> completion(JsonNode json) {
    if (json == null || !json.isObject()) {
      return Optional.empty();
    }
    if (this == OPENAI) {
      JsonNode message = json.path("choices").path(0).path("message");
      if (!message.isObject()) {
        return Optional.empty();
      }
      JsonNode content = message.path("content");
      String text = content.isTextual() ? content.asText() : "";
      JsonNode usage = json.path("usage");
      return Optional.of(
          new Completion(text, new Usage(usage.path("prompt_tokens").asLong(0), usage.path("completion_tokens").asLong(0))));
    }
    JsonNode content = json.path("content");
    if (!content.isArray()) {
      return Optional.empty();
    }
    StringBuilder text = new StringBuilder();
    for (JsonNode block : content) {
      if (block.path("type").asText().equals("text")) {
        text.append(block.path("text").asText());
      }
    }
    JsonNode usage = json.path("usage");
    return Optional.of(
        new Completion(text.toString(), new Usage(usage.path("input_tokens").asLong(0), usage.path("output_tokens").asLong(0))));
  }
}
