package switchboard.providers.wire;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Optional;

/** The providers' one JSON mapper and the few helpers every wire format needs. */
public final class Json {
  /** Thread-safe once configured; shared by every kind and the classifier. */
  public static final ObjectMapper MAPPER = new ObjectMapper();

  private Json() {}

  /** Parses a body once; empty when it is not JSON. */
  public static Optional<JsonNode> parse(String body) {
    if (body == null || body.isBlank()) {
      return Optional.empty();
    }
    try {
      return Optional.ofNullable(MAPPER.readTree(body));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  public static byte[] bytes(JsonNode node) {
    try {
      return MAPPER.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree could not be written", e);
    }
  }

  /**
   * The plain text of message content in either API's form: a string, or the text of its parts or
   * blocks (OpenAI's {@code {"type": "text"}} parts and Anthropic's text blocks alike), one per line.
   */
  public static String plainText(JsonNode content) {
    if (content.isTextual()) {
      return content.asText();
    }
    java.util.List<String> texts = new java.util.ArrayList<>();
    for (JsonNode part : content) {
      if (part.path("text").isTextual()) {
        texts.add(part.path("text").asText());
      }
    }
    return String.join("\n", texts);
  }

  /** The text of a string node, else of its JSON form; "" for a missing or null node. */
  public static String text(JsonNode node) {
    if (node == null || node.isMissingNode() || node.isNull()) {
      return "";
    }
    return node.isTextual() ? node.asText() : node.toString();
  }
}
