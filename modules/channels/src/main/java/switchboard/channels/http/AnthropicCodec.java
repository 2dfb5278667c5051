package switchboard.channels.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import switchboard.providers.ProviderResult;
import switchboard.providers.Usage;
import switchboard.providers.wire.Json;
import switchboard.providers.wire.StreamDelta;
import switchboard.providers.wire.ToolCall;

/**
 * The Anthropic-compatible surface (CONTRACT.md section 7): a Messages API request becomes the
 * gateway's request (an OpenAI Chat Completions body, the form every provider kind reads), and the
 * answer, its stream and its errors go back in Anthropic's shapes. docs/api.md lists what maps.
 */
final class AnthropicCodec {
  private AnthropicCodec() {}

  /** Anthropic's own 529 for an overloaded API (not a registered HTTP status). */
  static final StatusCode OVERLOADED = StatusCodes.custom(529, "Overloaded", "The service is overloaded.", false, true);

  /** How one of the API's errors looks on this surface: its status and Anthropic's error type. */
  private record Shape(StatusCode status, String type) {}

  private static final Shape UNKNOWN = new Shape(StatusCodes.INTERNAL_SERVER_ERROR, "api_error");

  /** The shape of each error of the API (section 4's types on the left). */
  private static final Map<String, Shape> ERRORS = Map.ofEntries(
      Map.entry("invalid_request", new Shape(StatusCodes.BAD_REQUEST, "invalid_request_error")),
      Map.entry("bad_request", new Shape(StatusCodes.BAD_REQUEST, "invalid_request_error")),
      Map.entry("unauthorized", new Shape(StatusCodes.UNAUTHORIZED, "authentication_error")),
      Map.entry("out_of_credits", new Shape(StatusCodes.PAYMENT_REQUIRED, "billing_error")),
      Map.entry("not_found", new Shape(StatusCodes.NOT_FOUND, "not_found_error")),
      Map.entry("too_large", new Shape(StatusCodes.CONTENT_TOO_LARGE, "request_too_large")),
      Map.entry("rate_limited", new Shape(StatusCodes.TOO_MANY_REQUESTS, "rate_limit_error")),
      Map.entry("budget_exceeded", new Shape(StatusCodes.TOO_MANY_REQUESTS, "rate_limit_error")),
      Map.entry("auth_failed", new Shape(StatusCodes.BAD_GATEWAY, "api_error")),
      Map.entry("unavailable", new Shape(OVERLOADED, "overloaded_error")),
      Map.entry("busy", new Shape(OVERLOADED, "overloaded_error")));

  /** The Anthropic error type of one of the API's error types ({@code api_error} for an unknown one). */
  static String type(String type) {
    return ERRORS.getOrDefault(type, UNKNOWN).type();
  }

  /** {@code {"type": "error", "error": {"type", "message"}}}. */
  static ObjectNode error(String apiType, String message) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.put("type", "error");
    out.putObject("error").put("type", type(apiType)).put("message", message);
    return out;
  }

  /**
   * A response of {@code /v1/messages} with its error (section 4's shape, from any part of the
   * gateway: the routes, the router, Pekko's rejections) rewritten in Anthropic's shape and status;
   * other responses as they are.
   */
  static HttpResponse errorShaped(HttpResponse response) {
    if (response.status().intValue() < 400 || !(response.entity() instanceof HttpEntity.Strict strict)) {
      return response;
    }
    JsonNode error = Json.parse(strict.getData().utf8String()).map(j -> j.path("error")).orElse(null);
    if (error == null || !error.path("type").isTextual()) {
      return response;
    }
    String type = error.path("type").asText();
    ObjectNode body = error(type, error.path("message").asText(""));
    return response.withStatus(ERRORS.getOrDefault(type, UNKNOWN).status())
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, Json.bytes(body)));
  }

  /** A Messages API body as a Chat Completions body (for {@link OpenAiCodec#chatCall}). */
  static ObjectNode toChat(ObjectNode in) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    if (in.path("model").isTextual()) {
      out.put("model", in.path("model").asText());
    }
    ArrayNode messages = out.putArray("messages");
    JsonNode system = in.path("system");
    if (system.isTextual() || system.isArray()) {
      String text = text(system);
      if (!text.isEmpty()) {
        messages.addObject().put("role", "system").put("content", text);
      }
    }
    JsonNode given = in.get("messages");
    if (given != null && !given.isArray()) {
      throw new InvalidRequest("messages must be an array of {\"role\", \"content\"}");
    }
    int i = 0;
    for (JsonNode m : in.path("messages")) {
      String field = "messages[" + i++ + "]";
      if (!m.isObject()) {
        throw new InvalidRequest(field + " must be an object {\"role\", \"content\"}");
      }
      String role = m.path("role").asText("");
      if (!role.equals("user") && !role.equals("assistant")) {
        throw new InvalidRequest(field + ".role must be \"user\" or \"assistant\"");
      }
      JsonNode content = m.path("content");
      if (!content.isTextual() && !content.isArray()) {
        throw new InvalidRequest(field + ".content must be a string or an array of content blocks");
      }
      if (role.equals("assistant")) {
        assistant(messages, content);
      } else {
        user(messages, content);
      }
    }
    if (in.path("max_tokens").isNumber()) {
      out.set("max_tokens", in.get("max_tokens"));
    }
    for (String same : List.of("temperature", "top_p", "stream")) {
      if (in.has(same)) {
        out.set(same, in.get(same));
      }
    }
    if (in.path("stop_sequences").isArray() && !in.path("stop_sequences").isEmpty()) {
      out.set("stop", in.get("stop_sequences"));
    }
    if (in.path("metadata").path("user_id").isTextual()) {
      out.put("user", in.path("metadata").path("user_id").asText());
    }
    tools(in, out);
    return out;
  }

  private static void tools(ObjectNode in, ObjectNode out) {
    if (in.path("tools").isArray() && !in.path("tools").isEmpty()) {
      ArrayNode tools = out.putArray("tools");
      for (JsonNode tool : in.path("tools")) {
        ObjectNode function = tools.addObject().put("type", "function").putObject("function");
        function.put("name", tool.path("name").asText(""));
        if (tool.path("description").isTextual()) {
          function.put("description", tool.path("description").asText());
        }
        function.set("parameters", tool.path("input_schema").isObject() ? tool.get("input_schema")
            : Json.MAPPER.createObjectNode().put("type", "object"));
      }
    }
    JsonNode choice = in.path("tool_choice");
    switch (choice.path("type").asText("")) {
      case "auto" -> out.put("tool_choice", "auto");
      case "any" -> out.put("tool_choice", "required");
      case "none" -> out.put("tool_choice", "none");
      case "tool" -> out.putObject("tool_choice").put("type", "function").putObject("function")
          .put("name", choice.path("name").asText(""));
      default -> { }
    }
    if (choice.path("disable_parallel_tool_use").asBoolean(false)) {
      out.put("parallel_tool_calls", false);
    }
  }

  /** A user turn: its tool results become {@code tool} messages (first), the rest one user message. */
  private static void user(ArrayNode messages, JsonNode content) {
    if (content.isTextual()) {
      messages.addObject().put("role", "user").put("content", content.asText());
      return;
    }
    ArrayNode parts = Json.MAPPER.createArrayNode();
    for (JsonNode block : content) {
      switch (block.path("type").asText()) {
        case "text" -> parts.addObject().put("type", "text").put("text", block.path("text").asText(""));
        case "image" -> {
          JsonNode source = block.path("source");
          String url = source.path("type").asText().equals("base64")
              ? "data:" + source.path("media_type").asText("image/png") + ";base64," + source.path("data").asText("")
              : source.path("url").asText("");
          parts.addObject().put("type", "image_url").putObject("image_url").put("url", url);
        }
        case "tool_result" -> messages.addObject().put("role", "tool")
            .put("tool_call_id", block.path("tool_use_id").asText(""))
            .put("content", text(block.path("content")));
        default -> { }
      }
    }
    if (!parts.isEmpty()) {
      ObjectNode m = messages.addObject().put("role", "user");
      m.set("content", parts);
    }
  }

  /** An assistant turn: its text, and its tool_use blocks as tool calls. */
  private static void assistant(ArrayNode messages, JsonNode content) {
    ObjectNode m = messages.addObject().put("role", "assistant");
    if (content.isTextual()) {
      m.put("content", content.asText());
      return;
    }
    StringBuilder text = new StringBuilder();
    ArrayNode calls = Json.MAPPER.createArrayNode();
    for (JsonNode block : content) {
      switch (block.path("type").asText()) {
        case "text" -> text.append(block.path("text").asText(""));
        case "tool_use" -> {
          ObjectNode call = calls.addObject().put("id", block.path("id").asText("")).put("type", "function");
          call.putObject("function").put("name", block.path("name").asText(""))
              .put("arguments", block.path("input").isMissingNode() ? "{}" : block.path("input").toString());
        }
        default -> { }
      }
    }
    if (calls.isEmpty()) {
      m.put("content", text.toString());
    } else {
      if (text.length() == 0) {
        m.putNull("content");
      } else {
        m.put("content", text.toString());
      }
      m.set("tool_calls", calls);
    }
  }

  private static String text(JsonNode node) {
    return Json.plainText(node);
  }

  /** OpenAI's {@code finish_reason} as Anthropic's {@code stop_reason}. */
  static String stopReason(String finishReason) {
    return switch (finishReason) {
      case "length" -> "max_tokens";
      case "tool_calls" -> "tool_use";
      case "content_filter" -> "refusal";
      default -> "end_turn";
    };
  }

  /** A whole answer as an Anthropic {@code message}. */
  static ObjectNode message(ProviderResult.Success success) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.put("id", OpenAiCodec.randomId("msg_"));
    out.put("type", "message");
    out.put("role", "assistant");
    out.put("model", success.model());
    ArrayNode content = out.putArray("content");
    if (!success.text().isEmpty() || success.toolCalls().isEmpty()) {
      content.addObject().put("type", "text").put("text", success.text());
    }
    for (ToolCall call : success.toolCalls()) {
      content.addObject().put("type", "tool_use").put("id", call.id()).put("name", call.name())
          .set("input", Json.parse(call.arguments()).filter(JsonNode::isObject).orElse(Json.MAPPER.createObjectNode()));
    }
    out.put("stop_reason", stopReason(success.finishReason()));
    out.putNull("stop_sequence");
    out.putObject("usage").put("input_tokens", success.usage().inputTokens())
        .put("output_tokens", success.usage().outputTokens());
    return out;
  }

  /** The SSE bytes of {@code deltas} as Anthropic's stream events. */
  static Source<ByteString, NotUsed> events(Source<StreamDelta, NotUsed> deltas, String model, String provider) {
    return deltas.statefulMapConcat(() -> {
      Encoder encoder = new Encoder(model, provider);
      return encoder::encode;
    });
  }

  /** One stream's state: the open content block, the tool blocks, usage, the stop reason. */
  private static final class Encoder {
    private final String model;
    private final String provider;
    private boolean started;
    private int blocks;
    /** The index of the open block, -1 for none; whether it is text. */
    private int open = -1;
    private boolean openIsText;
    private final Map<Integer, Integer> blockOfTool = new java.util.HashMap<>();
    private String stopReason = "end_turn";
    private Usage usage = Usage.NONE;

    Encoder(String model, String provider) {
      this.model = model;
      this.provider = provider;
    }

    List<ByteString> encode(StreamDelta delta) {
      List<ByteString> out = new ArrayList<>(3);
      if (delta instanceof StreamDelta.UsageReport report) {
        usage = usage.updatedBy(report.usage());
        return out;
      }
      start(out);
      if (delta instanceof StreamDelta.Text text) {
        if (open < 0 || !openIsText) {
          close(out);
          ObjectNode block = Json.MAPPER.createObjectNode().put("type", "text").put("text", "");
          begin(out, block, true);
        }
        ObjectNode d = Json.MAPPER.createObjectNode().put("type", "text_delta").put("text", text.text());
        out.add(blockDelta(d));
      } else if (delta instanceof StreamDelta.ToolCallPart part) {
        Integer block = blockOfTool.get(part.index());
        if (block == null) {
          close(out);
          ObjectNode b = Json.MAPPER.createObjectNode().put("type", "tool_use").put("id", part.id()).put("name", part.name());
          b.putObject("input");
          blockOfTool.put(part.index(), blocks);
          begin(out, b, false);
        }
        if (!part.arguments().isEmpty() && open == blockOfTool.get(part.index())) {
          out.add(blockDelta(Json.MAPPER.createObjectNode().put("type", "input_json_delta")
              .put("partial_json", part.arguments())));
        }
      } else if (delta instanceof StreamDelta.Finish finish) {
        stopReason = stopReason(finish.reason());
      } else if (delta instanceof StreamDelta.Failed failed) {
        out.add(event("error", error(failed.kind().wire(), "Provider " + provider
            + " failed in the middle of its answer: " + failed.message())));
      } else {
        close(out);
        ObjectNode end = Json.MAPPER.createObjectNode().put("type", "message_delta");
        end.putObject("delta").put("stop_reason", stopReason).putNull("stop_sequence");
        end.putObject("usage").put("input_tokens", usage.inputTokens()).put("output_tokens", usage.outputTokens());
        out.add(event("message_delta", end));
        out.add(event("message_stop", Json.MAPPER.createObjectNode().put("type", "message_stop")));
      }
      return out;
    }

    private void start(List<ByteString> out) {
      if (started) {
        return;
      }
      started = true;
      ObjectNode event = Json.MAPPER.createObjectNode().put("type", "message_start");
      ObjectNode message = event.putObject("message");
      message.put("id", OpenAiCodec.randomId("msg_"));
      message.put("type", "message").put("role", "assistant").put("model", model);
      message.putArray("content");
      message.putNull("stop_reason").putNull("stop_sequence");
      message.putObject("usage").put("input_tokens", usage.inputTokens()).put("output_tokens", 0);
      out.add(event("message_start", event));
    }

    private void begin(List<ByteString> out, ObjectNode block, boolean text) {
      open = blocks++;
      openIsText = text;
      ObjectNode event = Json.MAPPER.createObjectNode().put("type", "content_block_start").put("index", open);
      event.set("content_block", block);
      out.add(event("content_block_start", event));
    }

    private ByteString blockDelta(ObjectNode delta) {
      ObjectNode event = Json.MAPPER.createObjectNode().put("type", "content_block_delta").put("index", open);
      event.set("delta", delta);
      return event("content_block_delta", event);
    }

    private void close(List<ByteString> out) {
      if (open >= 0) {
        out.add(event("content_block_stop", Json.MAPPER.createObjectNode().put("type", "content_block_stop").put("index", open)));
        open = -1;
      }
    }
  }

  private static ByteString event(String name, ObjectNode data) {
    return ByteString.fromString("event: " + name + "\ndata: " + data + "\n\n");
  }
}
