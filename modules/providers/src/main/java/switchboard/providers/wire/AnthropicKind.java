package switchboard.providers.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import switchboard.providers.ChatRequest;
import switchboard.providers.ErrorClassifier;
import switchboard.providers.OutcomeKind;
import switchboard.providers.Usage;

/**
 * Anthropic's Messages API: {@code POST {base-url}/v1/messages} with {@code x-api-key}. The
 * caller's OpenAI-shaped request is translated (system messages, content parts with images, tools,
 * tool_choice, tool calls and tool results, stop, max tokens); the answer and the stream are read
 * back into OpenAI's terms. docs/api.md lists what maps and what is dropped.
 */
public final class AnthropicKind implements ProviderKind {
  public static final AnthropicKind INSTANCE = new AnthropicKind();

  /** The Anthropic API version this client speaks. */
  public static final String VERSION = "2023-06-01";

  private static final List<ErrorClassifier.Rule> RULES = List.of(
      ErrorClassifier.Rule.body("anthropic billing", OutcomeKind.OUT_OF_CREDITS, "billing_error",
          "credit balance is too low"),
      ErrorClassifier.Rule.body("anthropic auth", OutcomeKind.AUTH_FAILED, "authentication_error", "permission_error"),
      ErrorClassifier.Rule.body("anthropic rate limit", OutcomeKind.RATE_LIMITED, "rate_limit_error"),
      ErrorClassifier.Rule.body("anthropic overloaded", OutcomeKind.UNAVAILABLE, "overloaded_error"));

  private AnthropicKind() {}

  @Override
  public String name() {
    return "anthropic";
  }

  @Override
  public String defaultBaseUrl() {
    return "https://api.anthropic.com";
  }

  @Override
  public String defaultModel() {
    return "claude-3-5-haiku-latest";
  }

  @Override
  public String url(String baseUrl) {
    return baseUrl + "/v1/messages";
  }

  @Override
  public Map<String, String> authHeaders(String apiKey) {
    return Map.of("x-api-key", apiKey, "anthropic-version", VERSION);
  }

  @Override
  public byte[] requestBody(ChatRequest request, String model, int defaultMaxTokens) {
    return Json.bytes(translate(request.canonical(), model, defaultMaxTokens, request.stream()));
  }

  /** The Anthropic body for an OpenAI Chat Completions body. */
  static ObjectNode translate(ObjectNode in, String model, int defaultMaxTokens, boolean stream) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.put("model", model);
    List<String> system = new ArrayList<>();
    ArrayNode messages = Json.MAPPER.createArrayNode();
    for (JsonNode m : in.path("messages")) {
      String role = m.path("role").asText();
      switch (role) {
        case "system", "developer" -> system.add(plainText(m.path("content")));
        case "tool", "function" -> toolResult(messages, m);
        case "assistant" -> append(messages, "assistant", assistantBlocks(m));
        default -> append(messages, "user", contentBlocks(m.path("content")));
      }
    }
    if (!system.isEmpty()) {
      out.put("system", String.join("\n\n", system));
    }
    out.set("messages", messages);
    JsonNode max = in.path("max_completion_tokens").isNumber() ? in.path("max_completion_tokens") : in.path("max_tokens");
    out.put("max_tokens", max.isNumber() ? max.asInt() : defaultMaxTokens);
    for (String same : List.of("temperature", "top_p", "top_k")) {
      if (in.path(same).isNumber()) {
        out.set(same, in.get(same));
      }
    }
    JsonNode stop = in.path("stop");
    if (stop.isTextual()) {
      out.putArray("stop_sequences").add(stop.asText());
    } else if (stop.isArray() && !stop.isEmpty()) {
      out.set("stop_sequences", stop);
    }
    if (in.path("user").isTextual()) {
      out.putObject("metadata").put("user_id", in.path("user").asText());
    }
    tools(in, out);
    if (stream) {
      out.put("stream", true);
    }
    return out;
  }

  private static void tools(ObjectNode in, ObjectNode out) {
    JsonNode tools = in.path("tools");
    if (tools.isArray() && !tools.isEmpty()) {
      ArrayNode list = out.putArray("tools");
      for (JsonNode tool : tools) {
        JsonNode function = tool.path("function");
        ObjectNode t = list.addObject().put("name", function.path("name").asText(""));
        if (function.path("description").isTextual()) {
          t.put("description", function.path("description").asText());
        }
        JsonNode schema = function.path("parameters");
        t.set("input_schema", schema.isObject() ? schema : Json.MAPPER.createObjectNode().put("type", "object"));
      }
    }
    JsonNode choice = in.path("tool_choice");
    ObjectNode mapped = null;
    if (choice.isTextual()) {
      mapped = switch (choice.asText()) {
        case "none" -> Json.MAPPER.createObjectNode().put("type", "none");
        case "required" -> Json.MAPPER.createObjectNode().put("type", "any");
        default -> Json.MAPPER.createObjectNode().put("type", "auto");
      };
    } else if (choice.isObject() && choice.path("function").path("name").isTextual()) {
      mapped = Json.MAPPER.createObjectNode().put("type", "tool").put("name", choice.path("function").path("name").asText());
    }
    if (in.path("parallel_tool_calls").isBoolean() && !in.path("parallel_tool_calls").asBoolean()) {
      mapped = mapped == null ? Json.MAPPER.createObjectNode().put("type", "auto") : mapped;
      mapped.put("disable_parallel_tool_use", true);
    }
    if (mapped != null && out.has("tools")) {
      out.set("tool_choice", mapped);
    }
  }

  /** Adds blocks as a message of {@code role}, merged into the previous one when it has the same role. */
  private static void append(ArrayNode messages, String role, ArrayNode blocks) {
    if (blocks.isEmpty()) {
      return;
    }
    JsonNode last = messages.isEmpty() ? null : messages.get(messages.size() - 1);
    if (last != null && last.path("role").asText().equals(role)) {
      ((ArrayNode) last.get("content")).addAll(blocks);
      return;
    }
    ObjectNode m = messages.addObject();
    m.put("role", role);
    m.set("content", blocks);
  }

  private static void toolResult(ArrayNode messages, JsonNode m) {
    ArrayNode blocks = Json.MAPPER.createArrayNode();
    ObjectNode block = blocks.addObject();
    block.put("type", "tool_result");
    block.put("tool_use_id", m.path("tool_call_id").asText(m.path("name").asText("")));
    block.put("content", plainText(m.path("content")));
    append(messages, "user", blocks);
  }

  private static ArrayNode assistantBlocks(JsonNode m) {
    ArrayNode blocks = contentBlocks(m.path("content"));
    for (JsonNode call : m.path("tool_calls")) {
      ObjectNode use = blocks.addObject();
      use.put("type", "tool_use");
      use.put("id", call.path("id").asText(""));
      use.put("name", call.path("function").path("name").asText(""));
      String arguments = Json.text(call.path("function").path("arguments"));
      JsonNode input = Json.parse(arguments).filter(JsonNode::isObject).orElse(Json.MAPPER.createObjectNode());
      use.set("input", input);
    }
    return blocks;
  }

  /** A string or OpenAI content parts as Anthropic content blocks (text and images). */
  private static ArrayNode contentBlocks(JsonNode content) {
    ArrayNode blocks = Json.MAPPER.createArrayNode();
    if (content.isTextual()) {
      if (!content.asText().isEmpty()) {
        blocks.addObject().put("type", "text").put("text", content.asText());
      }
      return blocks;
    }
    for (JsonNode part : content) {
      String type = part.path("type").asText();
      if (type.equals("text")) {
        blocks.addObject().put("type", "text").put("text", part.path("text").asText(""));
      } else if (type.equals("image_url")) {
        blocks.add(image(part.path("image_url").isTextual() ? part.path("image_url").asText()
            : part.path("image_url").path("url").asText("")));
      }
    }
    return blocks;
  }

  /** An image part: a {@code data:} URL becomes a base64 source, anything else a URL source. */
  private static ObjectNode image(String url) {
    ObjectNode block = Json.MAPPER.createObjectNode().put("type", "image");
    ObjectNode source = block.putObject("source");
    int comma = url.indexOf(',');
    if (url.startsWith("data:") && comma > 0 && url.substring(0, comma).endsWith(";base64")) {
      source.put("type", "base64");
      source.put("media_type", url.substring(5, comma - ";base64".length()));
      source.put("data", url.substring(comma + 1));
    } else {
      source.put("type", "url");
      source.put("url", url);
    }
    return block;
  }

  private static String plainText(JsonNode content) {
    return Json.plainText(content);
  }

  @Override
  public Optional<Completion> completion(JsonNode json) {
    if (json == null || !json.isObject()) {
      return Optional.empty();
    }
    JsonNode content = json.path("content");
    if (!content.isArray()) {
      return Optional.empty();
    }
    StringBuilder text = new StringBuilder();
    List<ToolCall> calls = new ArrayList<>();
    for (JsonNode block : content) {
      switch (block.path("type").asText()) {
        case "text" -> text.append(block.path("text").asText());
        case "tool_use" -> calls.add(new ToolCall(block.path("id").asText(""), block.path("name").asText(""),
            block.path("input").isMissingNode() ? "{}" : block.path("input").toString()));
        default -> { }
      }
    }
    JsonNode usage = json.path("usage");
    return Optional.of(new Completion(text.toString(), calls, finishReason(json.path("stop_reason").asText("")),
        new Usage(usage.path("input_tokens").asLong(0), usage.path("output_tokens").asLong(0))));
  }

  /** Anthropic's {@code stop_reason} in OpenAI's terms. */
  public static String finishReason(String stopReason) {
    return switch (stopReason) {
      case "max_tokens" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      default -> "stop";
    };
  }

  @Override
  public StreamParser streamParser() {
    return new Parser();
  }

  /** Anthropic's stream: content blocks by index, tool_use blocks numbered as OpenAI tool calls. */
  private final class Parser implements StreamParser {
    private final Map<Integer, Integer> toolIndexByBlock = new HashMap<>();
    private long inputTokens;

    @Override
    public List<StreamDelta> onEvent(String type, String data) {
      Optional<JsonNode> parsed = Json.parse(data);
      if (parsed.isEmpty() || !parsed.get().isObject()) {
        return List.of(new StreamDelta.Failed(OutcomeKind.UNAVAILABLE, "sent a stream event that is not JSON"));
      }
      JsonNode event = parsed.get();
      String name = type.isEmpty() ? event.path("type").asText() : type;
      return switch (name) {
        case "message_start" -> {
          JsonNode usage = event.path("message").path("usage");
          inputTokens = usage.path("input_tokens").asLong(0);
          yield List.of(new StreamDelta.UsageReport(new Usage(inputTokens, usage.path("output_tokens").asLong(0))));
        }
        case "content_block_start" -> blockStart(event);
        case "content_block_delta" -> blockDelta(event);
        case "message_delta" -> {
          List<StreamDelta> out = new ArrayList<>(2);
          JsonNode usage = event.path("usage");
          if (usage.isObject()) {
            long input = usage.path("input_tokens").asLong(inputTokens);
            out.add(new StreamDelta.UsageReport(new Usage(input, usage.path("output_tokens").asLong(0))));
          }
          JsonNode stop = event.path("delta").path("stop_reason");
          if (stop.isTextual()) {
            out.add(new StreamDelta.Finish(finishReason(stop.asText())));
          }
          yield out;
        }
        case "message_stop" -> List.of(StreamDelta.End.INSTANCE);
        case "error" -> List.of(ErrorClassifier.streamError(AnthropicKind.this, data));
        default -> List.of();
      };
    }

    private List<StreamDelta> blockStart(JsonNode event) {
      JsonNode block = event.path("content_block");
      if (block.path("type").asText().equals("tool_use")) {
        int index = toolIndexByBlock.size();
        toolIndexByBlock.put(event.path("index").asInt(), index);
        return List.of(new StreamDelta.ToolCallPart(index, block.path("id").asText(""), block.path("name").asText(""), ""));
      }
      String text = block.path("text").asText("");
      return text.isEmpty() ? List.of() : List.of(new StreamDelta.Text(text));
    }

    private List<StreamDelta> blockDelta(JsonNode event) {
      JsonNode delta = event.path("delta");
      switch (delta.path("type").asText()) {
        case "text_delta" -> {
          String text = delta.path("text").asText("");
          return text.isEmpty() ? List.of() : List.of(new StreamDelta.Text(text));
        }
        case "input_json_delta" -> {
          Integer index = toolIndexByBlock.get(event.path("index").asInt());
          String json = delta.path("partial_json").asText("");
          return index == null || json.isEmpty() ? List.of() : List.of(new StreamDelta.ToolCallPart(index, "", "", json));
        }
        default -> {
          return List.of();
        }
      }
    }
  }

  @Override
  public List<ErrorClassifier.Rule> errorRules() {
    return RULES;
  }

  @Override
  public boolean rateLimitHeader(String name) {
    return name.startsWith("anthropic-ratelimit-");
  }
}
