package switchboard.channels.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import switchboard.providers.ChatMessage;
import switchboard.providers.ChatRequest;
import switchboard.providers.ProviderResult;
import switchboard.providers.wire.ToolCall;

/**
 * The JSON of the HTTP API in one place: parses request bodies once into the router's types (naming
 * the offending field when something is wrong) and writes OpenAI-shaped completions and the one error
 * shape {@code {"error": {"type", "message", "provider"?}}}.
 */
final class OpenAiCodec {

  /** One shared mapper: thread-safe once configured. */
  static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /**
   * A parsed {@code POST /v1/chat/completions} body. {@code model} is what the caller asked for;
   * {@code stream} asks for server-sent events, {@code streamUsage} for a final usage chunk
   * ({@code stream_options.include_usage}).
   */
  record ChatCall(ChatRequest request, Optional<String> model, boolean stream, boolean streamUsage) {}

  private OpenAiCodec() {}

  /** The body as a JSON object, or {@link InvalidRequest} saying why not. */
  static ObjectNode parseObject(byte[] body) {
    if (body.length == 0) {
      throw new InvalidRequest("request body is empty (expected a JSON object)");
    }
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw new InvalidRequest("request body is not valid JSON" + where + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new InvalidRequest("request body could not be read: " + e.getMessage());
    }
    if (root == null || root.isMissingNode()) {
      throw new InvalidRequest("request body is empty (expected a JSON object)");
    }
    if (!root.isObject()) {
      throw new InvalidRequest("request body must be a JSON object, not " + describe(root));
    }
    return (ObjectNode) root;
  }

  /**
   * An OpenAI Chat Completions request; {@code origin} names the caller for logs. The fields this
   * gateway reads are checked (naming the field when wrong); the body itself goes to the providers as
   * sent, every other field included.
   */
  static ChatCall parseChat(byte[] body, String origin) {
    ObjectNode root = parseObject(body);
    return chatCall(root, origin);
  }

  /** A Chat Completions body already parsed (also what the Anthropic surface translates into). */
  static ChatCall chatCall(ObjectNode root, String origin) {
    List<ChatMessage> messages = messages(root.get("messages"));
    Optional<String> model = optionalString(root, "model");
    Optional<Integer> maxTokens = optionalPositiveInt(root, "max_completion_tokens")
        .or(() -> optionalPositiveInt(root, "max_tokens"));
    Optional<Double> temperature = optionalTemperature(root);
    boolean stream = optionalBoolean(root, "stream");
    JsonNode streamOptions = root.path("stream_options");
    boolean streamUsage = streamOptions.isObject() && optionalBoolean((ObjectNode) streamOptions, "include_usage");
    return new ChatCall(new ChatRequest(messages, maxTokens, temperature, origin, Optional.of(root), stream),
        model, stream, streamUsage);
  }

  /** The text of a {@code POST /api/conversations/{id}/messages} body {@code {"text": "..."}}. */
  static String parseConversationText(byte[] body) {
    ObjectNode root = parseObject(body);
    JsonNode text = root.get("text");
    if (text == null || text.isNull()) {
      throw new InvalidRequest("text is required (a non-empty string)");
    }
    if (!text.isTextual()) {
      throw new InvalidRequest("text must be a string, not " + describe(text));
    }
    if (text.asText().isBlank()) {
      throw new InvalidRequest("text must not be empty");
    }
    return text.asText();
  }

  /**
   * The key alias of a breaker reset's optional body {@code {"key": "alias"}}: empty for an empty
   * body, {@code {}} or {@code "key": null} (the whole provider).
   */
  static Optional<String> parseResetKey(byte[] body) {
    if (body.length == 0 || new String(body, StandardCharsets.UTF_8).isBlank()) {
      return Optional.empty();
    }
    JsonNode key = parseObject(body).get("key");
    if (key == null || key.isNull()) {
      return Optional.empty();
    }
    if (!key.isTextual() || key.asText().isBlank()) {
      throw new InvalidRequest("key must be a key alias such as \"primary#1\", not " + describe(key));
    }
    return Optional.of(key.asText());
  }

  /**
   * An OpenAI {@code chat.completion} object for {@code success}, written straight to bytes: this
   * is every answer, and a tree built only to be written costs more than the writing.
   */
  static byte[] completion(ProviderResult.Success success, long createdEpochSeconds) {
    ByteArrayBuilder bytes = new ByteArrayBuilder(512);
    try (JsonGenerator out = JSON.getFactory().createGenerator(bytes)) {
      out.writeStartObject();
      out.writeStringField("id", randomId("chatcmpl-"));
      out.writeStringField("object", "chat.completion");
      out.writeNumberField("created", createdEpochSeconds);
      out.writeStringField("model", success.model());
      out.writeArrayFieldStart("choices");
      out.writeStartObject();
      out.writeNumberField("index", 0);
      out.writeObjectFieldStart("message");
      out.writeStringField("role", "assistant");
      if (success.text().isEmpty() && !success.toolCalls().isEmpty()) {
        out.writeNullField("content");
      } else {
        out.writeStringField("content", success.text());
      }
      if (!success.toolCalls().isEmpty()) {
        out.writeArrayFieldStart("tool_calls");
        for (ToolCall call : success.toolCalls()) {
          out.writeStartObject();
          out.writeStringField("id", call.id());
          out.writeStringField("type", "function");
          out.writeObjectFieldStart("function");
          out.writeStringField("name", call.name());
          out.writeStringField("arguments", call.arguments());
          out.writeEndObject();
          out.writeEndObject();
        }
        out.writeEndArray();
      }
      out.writeNullField("refusal");
      out.writeEndObject();
      out.writeNullField("logprobs");
      out.writeStringField("finish_reason", success.finishReason());
      out.writeEndObject();
      out.writeEndArray();
      out.writeObjectFieldStart("usage");
      out.writeNumberField("prompt_tokens", success.usage().inputTokens());
      out.writeNumberField("completion_tokens", success.usage().outputTokens());
      out.writeNumberField("total_tokens", success.usage().total());
      out.writeEndObject();
      out.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("a completion could not be written", e);
    }
    return bytes.toByteArray();
  }

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  /**
   * {@code prefix} and 32 random hex digits, for the ids of answers: unique enough to tell answers
   * apart, and not a secret, so {@link ThreadLocalRandom} rather than {@code UUID.randomUUID()}'s
   * shared {@code SecureRandom}.
   */
  static String randomId(String prefix) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    char[] digits = new char[32];
    for (int half = 0; half < 2; half++) {
      long bits = random.nextLong();
      for (int i = 0; i < 16; i++) {
        digits[half * 16 + i] = HEX[(int) (bits >>> (60 - 4 * i)) & 15];
      }
    }
    return prefix + new String(digits);
  }

  /** The one error shape of the API; {@code provider} is left out when empty. */
  static ObjectNode error(String type, String message, Optional<String> provider) {
    return error(type, message, provider, "");
  }

  /** The error shape with a {@code code} (left out when empty), e.g. {@code model_not_found}. */
  static ObjectNode error(String type, String message, Optional<String> provider, String code) {
    ObjectNode out = JSON.createObjectNode();
    ObjectNode error = out.putObject("error");
    error.put("type", type);
    error.put("message", message);
    provider.filter(p -> !p.isEmpty()).ifPresent(p -> error.put("provider", p));
    if (!code.isEmpty()) {
      error.put("code", code);
    }
    return out;
  }

  static byte[] bytes(JsonNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree could not be written", e);
    }
  }

  private static List<ChatMessage> messages(JsonNode node) {
    if (node == null || node.isNull()) {
      throw new InvalidRequest("messages is required (a non-empty array of {\"role\", \"content\"})");
    }
    if (!node.isArray()) {
      throw new InvalidRequest("messages must be an array of {\"role\", \"content\"}, not " + describe(node));
    }
    if (node.isEmpty()) {
      throw new InvalidRequest("messages must not be empty");
    }
    List<ChatMessage> out = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      out.add(message(node.get(i), "messages[" + i + "]"));
    }
    return out;
  }

  private static ChatMessage message(JsonNode node, String field) {
    if (!node.isObject()) {
      throw new InvalidRequest(field + " must be an object {\"role\", \"content\"}, not " + describe(node));
    }
    JsonNode role = node.get("role");
    if (role == null || !role.isTextual()) {
      throw new InvalidRequest(field + ".role is required (system, developer, user, assistant or tool)");
    }
    String normalized =
        switch (role.asText()) {
          case "system", "developer" -> "system";
          case "user" -> "user";
          case "assistant" -> "assistant";
          case "tool", "function" -> "tool";
          default -> throw new InvalidRequest(field + ".role \"" + role.asText()
              + "\" is not supported (expected system, developer, user, assistant or tool)");
        };
    JsonNode content = node.get("content");
    boolean mayBeEmpty = normalized.equals("assistant") && node.path("tool_calls").isArray();
    if (mayBeEmpty && (content == null || content.isNull())) {
      return new ChatMessage(normalized, "");
    }
    return new ChatMessage(normalized, content(content, field + ".content"));
  }

  /**
   * The plain text of a string, or of the array-of-parts form (its text parts; image and other parts
   * go to the provider as sent but have no text).
   */
  private static String content(JsonNode node, String field) {
    if (node == null || node.isNull()) {
      throw new InvalidRequest(field + " is required (a string or an array of content parts)");
    }
    if (node.isTextual()) {
      return node.asText();
    }
    if (!node.isArray()) {
      throw new InvalidRequest(field + " must be a string or an array of content parts, not " + describe(node));
    }
    List<String> texts = new ArrayList<>();
    ArrayNode parts = (ArrayNode) node;
    for (int i = 0; i < parts.size(); i++) {
      JsonNode part = parts.get(i);
      if (!part.isObject() || !part.path("type").isTextual()) {
        throw new InvalidRequest(field + "[" + i + "] must be a content part {\"type\": \"text\", \"text\": \"...\"} "
            + "or {\"type\": \"image_url\", \"image_url\": {\"url\": \"...\"}}");
      }
      String type = part.path("type").asText();
      if (type.equals("text")) {
        if (!part.path("text").isTextual()) {
          throw new InvalidRequest(field + "[" + i + "].text must be a string");
        }
        texts.add(part.path("text").asText());
      } else if (type.equals("image_url")) {
        JsonNode url = part.path("image_url").isTextual() ? part.path("image_url") : part.path("image_url").path("url");
        if (!url.isTextual() || url.asText().isBlank()) {
          throw new InvalidRequest(field + "[" + i + "].image_url.url is required (an http(s) URL or a data: URL)");
        }
      }
    }
    return String.join("\n", texts);
  }

  private static Optional<String> optionalString(ObjectNode root, String field) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      return Optional.empty();
    }
    if (!node.isTextual()) {
      throw new InvalidRequest(field + " must be a string, not " + describe(node));
    }
    return Optional.of(node.asText());
  }

  private static Optional<Integer> optionalPositiveInt(ObjectNode root, String field) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      return Optional.empty();
    }
    if (!node.isIntegralNumber() || !node.canConvertToInt() || node.asInt() < 1) {
      throw new InvalidRequest(field + " must be a whole number of at least 1, not " + shown(node));
    }
    return Optional.of(node.asInt());
  }

  private static Optional<Double> optionalTemperature(ObjectNode root) {
    JsonNode node = root.get("temperature");
    if (node == null || node.isNull()) {
      return Optional.empty();
    }
    if (!node.isNumber() || node.asDouble() < 0 || node.asDouble() > 2) {
      throw new InvalidRequest("temperature must be a number from 0 to 2, not " + shown(node));
    }
    return Optional.of(node.asDouble());
  }

  private static boolean optionalBoolean(ObjectNode root, String field) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      return false;
    }
    if (!node.isBoolean()) {
      throw new InvalidRequest(field + " must be true or false, not " + shown(node));
    }
    return node.asBoolean();
  }

  /** A short rendering of a wrong value for an error message. */
  private static String shown(JsonNode node) {
    String text = node.toString();
    return text.length() > 40 ? text.substring(0, 37) + "..." : text;
  }

  private static String describe(JsonNode node) {
    return switch (node.getNodeType()) {
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    };
  }
}
