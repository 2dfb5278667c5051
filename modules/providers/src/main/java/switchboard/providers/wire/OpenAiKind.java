package switchboard.providers.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import switchboard.providers.ChatRequest;
import switchboard.providers.ErrorClassifier;
import switchboard.providers.OutcomeKind;
import switchboard.providers.Usage;

/**
 * OpenAI Chat Completions and every API that copies it (OpenRouter, Groq, vLLM, LiteLLM, ...):
 * {@code POST {base-url}/chat/completions} with {@code Authorization: Bearer}. The caller's body is
 * forwarded as sent, only {@code model} replaced (and the stream options set), so fields this
 * gateway does not know still reach the provider.
 */
public class OpenAiKind implements ProviderKind {
  public static final OpenAiKind INSTANCE = new OpenAiKind();

  private static final List<ErrorClassifier.Rule> RULES = List.of(
      ErrorClassifier.Rule.body("openai quota", OutcomeKind.OUT_OF_CREDITS, "insufficient_quota"),
      ErrorClassifier.Rule.body("openai key", OutcomeKind.AUTH_FAILED, "invalid_api_key"),
      ErrorClassifier.Rule.body("openai rate limit", OutcomeKind.RATE_LIMITED, "rate_limit_exceeded"));

  protected OpenAiKind() {}

  @Override
  public String name() {
    return "openai";
  }

  @Override
  public String defaultBaseUrl() {
    return "https://api.openai.com/v1";
  }

  @Override
  public String defaultModel() {
    return "gpt-4o-mini";
  }

  @Override
  public String url(String baseUrl) {
    return baseUrl + "/chat/completions";
  }

  @Override
  public Map<String, String> authHeaders(String apiKey) {
    return Map.of("Authorization", "Bearer " + apiKey);
  }

  @Override
  public byte[] requestBody(ChatRequest request, String model, int defaultMaxTokens) {
    ObjectNode body = request.canonical().deepCopy();
    body.put("model", model);
    if (request.stream()) {
      body.put("stream", true);
      body.putObject("stream_options").put("include_usage", true);
    } else {
      body.remove("stream");
      body.remove("stream_options");
    }
    return Json.bytes(body);
  }

  @Override
  public Optional<Completion> completion(JsonNode json) {
    if (json == null || !json.isObject()) {
      return Optional.empty();
    }
    JsonNode choice = json.path("choices").path(0);
    JsonNode message = choice.path("message");
    if (!message.isObject()) {
      return Optional.empty();
    }
    JsonNode content = message.path("content");
    String text = content.isTextual() ? content.asText() : "";
    List<ToolCall> calls = new ArrayList<>();
    for (JsonNode call : message.path("tool_calls")) {
      calls.add(new ToolCall(call.path("id").asText(""), call.path("function").path("name").asText(""),
          Json.text(call.path("function").path("arguments"))));
    }
    String finish = choice.path("finish_reason").asText(calls.isEmpty() ? "stop" : "tool_calls");
    return Optional.of(new Completion(text, calls, finish.isEmpty() ? "stop" : finish, usage(json.path("usage"))));
  }

  @Override
  public StreamParser streamParser() {
    return (type, data) -> {
      if (data.trim().equals("[DONE]")) {
        return List.of(StreamDelta.End.INSTANCE);
      }
      Optional<JsonNode> parsed = Json.parse(data);
      if (parsed.isEmpty() || !parsed.get().isObject()) {
        return List.of(new StreamDelta.Failed(OutcomeKind.UNAVAILABLE, "sent a stream event that is not JSON"));
      }
      JsonNode chunk = parsed.get();
      if (chunk.has("error")) {
        return List.of(ErrorClassifier.streamError(this, data));
      }
      List<StreamDelta> out = new ArrayList<>(2);
      JsonNode choice = chunk.path("choices").path(0);
      JsonNode delta = choice.path("delta");
      JsonNode content = delta.path("content");
      if (content.isTextual() && !content.asText().isEmpty()) {
        out.add(new StreamDelta.Text(content.asText()));
      }
      for (JsonNode call : delta.path("tool_calls")) {
        JsonNode function = call.path("function");
        out.add(new StreamDelta.ToolCallPart(call.path("index").asInt(0), call.path("id").asText(""),
            function.path("name").asText(""), function.path("arguments").asText("")));
      }
      JsonNode finish = choice.path("finish_reason");
      if (finish.isTextual() && !finish.asText().isEmpty()) {
        out.add(new StreamDelta.Finish(finish.asText()));
      }
      JsonNode usage = chunk.path("usage");
      if (usage.isObject()) {
        out.add(new StreamDelta.UsageReport(usage(usage)));
      }
      return out;
    };
  }

  @Override
  public List<ErrorClassifier.Rule> errorRules() {
    return RULES;
  }

  @Override
  public boolean rateLimitHeader(String name) {
    return name.startsWith("x-ratelimit-");
  }

  private static Usage usage(JsonNode usage) {
    return new Usage(usage.path("prompt_tokens").asLong(0), usage.path("completion_tokens").asLong(0));
  }
}
