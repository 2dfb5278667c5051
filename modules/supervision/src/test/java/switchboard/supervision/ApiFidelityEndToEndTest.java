package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.supervision.TestGateway.provider;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import switchboard.providers.fake.FakeProviderServer.Step;
import switchboard.providers.fake.FakeProviderServer.StreamFault;

/**
 * The OpenAI- and Anthropic-compatible surfaces over real HTTP (CONTRACT.md sections 6 and 7): the
 * caller's body reaches OpenAI-kind providers as sent, Anthropic-kind providers get a faithful
 * translation (tools, tool calls and results, images, stop, system), answers come back in the
 * caller's shape, routes choose the chain, and {@code /v1/messages} speaks Anthropic's Messages API.
 */
class ApiFidelityEndToEndTest extends TwoProviderTest {

  static final String TOOLS = "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
      + " \"description\": \"Weather of a city\", \"parameters\": {\"type\": \"object\","
      + " \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}]";

  TestGateway anthropicPrimary(String extra) throws Exception {
    String anthropic = "{ name = \"primary\", kind = \"anthropic\", base-url = \"" + primary.anthropicBaseUrl() + "\","
        + " model = \"claude-test\", priority = 1, api-keys = [\"sk-ant-secret\"], timeout = 5s }";
    return TestGateway.start(dir, List.of(anthropic, provider("backup", 2, backup, "fallback-only = true")), extra);
  }

  JsonNode sent(int call) throws Exception {
    return TestGateway.JSON.readTree(primary.calls().get(call).body());
  }

  @Test
  void anOpenAiKindProviderGetsTheCallersBodyAsSentWithOnlyTheModelReplaced() throws Exception {
    primary.enqueue(Step.toolCall("get_weather", "{\"city\":\"Paris\"}"));
    String body = "{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": ["
        + "{\"type\": \"text\", \"text\": \"What is this?\"},"
        + "{\"type\": \"image_url\", \"image_url\": {\"url\": \"https://example.com/cat.png\"}}]}],"
        + " \"tools\": " + TOOLS + ", \"tool_choice\": \"auto\", \"seed\": 7, \"top_p\": 0.5,"
        + " \"response_format\": {\"type\": \"text\"}, \"x_vendor_field\": {\"keep\": [1, 2]}}";
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Reply r = gw.post("/v1/chat/completions", body);
      assertEquals(200, r.status(), r.body());
      JsonNode message = r.json().path("choices").path(0).path("message");
      assertEquals("tool_calls", r.json().path("choices").path(0).path("finish_reason").asText());
      assertTrue(message.path("content").isNull(), r.body());
      JsonNode call = message.path("tool_calls").path(0);
      assertEquals("function", call.path("type").asText());
      assertEquals("get_weather", call.path("function").path("name").asText());
      assertEquals("{\"city\":\"Paris\"}", call.path("function").path("arguments").asText());
      JsonNode expected = TestGateway.JSON.readTree(body);
      ((com.fasterxml.jackson.databind.node.ObjectNode) expected).put("model", "m-primary");
      assertEquals(expected, sent(0), "forwarded as sent, model replaced");
    }
  }

  @Test
  void anAnthropicKindProviderGetsTheRequestTranslatedAndAnswersInOpenAisShape() throws Exception {
    primary.enqueue(Step.toolCall("get_weather", "{\"city\":\"Paris\"}"), Step.ok("It is sunny."));
    String first = "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
        + " {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Weather here?\"},"
        + " {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64,iVBORw0KGgo=\"}}]}],"
        + " \"tools\": " + TOOLS + ", \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}},"
        + " \"stop\": \"END\", \"max_completion_tokens\": 77}";
    try (TestGateway gw = anthropicPrimary("")) {
      TestGateway.Reply r = gw.post("/v1/chat/completions", first);
      assertEquals(200, r.status(), r.body());
      JsonNode choice = r.json().path("choices").path(0);
      assertEquals("tool_calls", choice.path("finish_reason").asText());
      JsonNode call = choice.path("message").path("tool_calls").path(0);
      assertEquals("get_weather", call.path("function").path("name").asText());
      assertEquals("Paris", TestGateway.JSON.readTree(call.path("function").path("arguments").asText()).path("city").asText());
      assertTrue(r.json().path("usage").path("prompt_tokens").asLong() > 0);

      JsonNode sent = sent(0);
      assertEquals("claude-test", sent.path("model").asText());
      assertEquals("Be brief.", sent.path("system").asText());
      assertEquals(77, sent.path("max_tokens").asInt());
      assertEquals("END", sent.path("stop_sequences").path(0).asText());
      JsonNode image = sent.path("messages").path(0).path("content").path(1);
      assertEquals("image", image.path("type").asText());
      assertEquals("base64", image.path("source").path("type").asText());
      assertEquals("image/png", image.path("source").path("media_type").asText());
      assertEquals("iVBORw0KGgo=", image.path("source").path("data").asText());
      JsonNode tool = sent.path("tools").path(0);
      assertEquals("get_weather", tool.path("name").asText());
      assertEquals("object", tool.path("input_schema").path("type").asText());
      assertEquals("tool", sent.path("tool_choice").path("type").asText());
      assertEquals("get_weather", sent.path("tool_choice").path("name").asText());

      // the round trip: the caller sends the call and its result back
      String second = "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather here?\"},"
          + " {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [" + call + "]},"
          + " {\"role\": \"tool\", \"tool_call_id\": " + TestGateway.quote(call.path("id").asText())
          + ", \"content\": \"sunny, 21 C\"}], \"tools\": " + TOOLS + "}";
      TestGateway.Reply r2 = gw.post("/v1/chat/completions", second);
      assertEquals(200, r2.status(), r2.body());
      assertEquals("It is sunny.", r2.json().path("choices").path(0).path("message").path("content").asText());
      assertEquals("stop", r2.json().path("choices").path(0).path("finish_reason").asText());
      JsonNode messages = sent(1).path("messages");
      JsonNode use = messages.path(1).path("content").path(0);
      assertEquals("assistant", messages.path(1).path("role").asText());
      assertEquals("tool_use", use.path("type").asText());
      assertEquals(call.path("id").asText(), use.path("id").asText());
      assertEquals("Paris", use.path("input").path("city").asText());
      JsonNode result = messages.path(2).path("content").path(0);
      assertEquals("user", messages.path(2).path("role").asText());
      assertEquals("tool_result", result.path("type").asText());
      assertEquals(call.path("id").asText(), result.path("tool_use_id").asText());
      assertEquals("sunny, 21 C", result.path("content").asText());
    }
  }

  @Test
  void streamedToolCallsArriveAsToolCallDeltasFromBothKinds() throws Exception {
    primary.enqueue(Step.toolCall("get_weather", "{\"city\":\"Oslo\"}"));
    backup.enqueue(Step.toolCall("get_weather", "{\"city\":\"Rome\"}"));
    String body = "{\"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"weather?\"}], \"tools\": " + TOOLS + "}";
    try (TestGateway gw = anthropicPrimary("")) {
      assertEquals("{\"city\":\"Oslo\"}", streamedArguments(gw.stream("/v1/chat/completions", body, 1000)));
      // the backup (OpenAI kind) by its model name
      String viaBackup = body.replace("\"stream\"", "\"model\": \"m-backup\", \"stream\"");
      assertEquals("{\"city\":\"Rome\"}", streamedArguments(gw.stream("/v1/chat/completions", viaBackup, 1000)));
    }
  }

  private static String streamedArguments(TestGateway.Streamed s) {
    assertTrue(s.done(), s.body());
    StringBuilder args = new StringBuilder();
    String name = "";
    String finish = "";
    for (JsonNode d : s.data()) {
      JsonNode choice = d.path("choices").path(0);
      for (JsonNode call : choice.path("delta").path("tool_calls")) {
        assertEquals(0, call.path("index").asInt());
        name = call.path("function").path("name").asText(name);
        args.append(call.path("function").path("arguments").asText(""));
      }
      finish = choice.path("finish_reason").asText(finish);
    }
    assertEquals("get_weather", name);
    assertEquals("tool_calls", finish);
    return args.toString();
  }

  @Test
  void routesChooseTheChainAndModelsListsThem() throws Exception {
    try (TestGateway gw = gateway("", "routes { \"smart\" = [\"backup\", \"primary\"], \"gpt-4.1\" = [\"primary\"] }")) {
      TestGateway.Reply models = gw.get("/v1/models");
      assertEquals(200, models.status(), models.body());
      assertEquals("list", models.json().path("object").asText());
      List<String> ids = new ArrayList<>();
      for (JsonNode m : models.json().path("data")) {
        ids.add(m.path("id").asText());
        assertEquals("model", m.path("object").asText());
        assertEquals("switchboard", m.path("owned_by").asText());
        assertTrue(m.path("created").asLong() > 0);
      }
      assertEquals(List.of("gpt-4.1", "smart", "m-primary", "m-backup"), ids, "routes by name, then providers by priority");
      assertEquals(200, gw.get("/v1/models/smart").status());
      assertEquals(404, gw.get("/v1/models/nope").status());

      assertEquals("backup", chat(gw, "smart").header("X-Switchboard-Provider"));
      assertEquals("primary", chat(gw, "gpt-4.1").header("X-Switchboard-Provider"));
      assertEquals("backup", chat(gw, "m-backup").header("X-Switchboard-Provider"), "a provider's model goes to it first");
      assertEquals("backup", chat(gw, "backup").header("X-Switchboard-Provider"), "so does its name");
      assertEquals("primary", chat(gw, "claude-3-opus").header("X-Switchboard-Provider"), "unknown: default chain");
      assertEquals("primary", chat(gw, "default").header("X-Switchboard-Provider"));
      // a route's chain falls back in its own order
      backup.enqueue(Step.status(402));
      assertEquals("primary", chat(gw, "smart").header("X-Switchboard-Provider"));
    }
  }

  @Test
  void unknownModelsCanBeRejected() throws Exception {
    try (TestGateway gw = gateway("", "unknown-models = \"reject\"\n routes { smart = [\"primary\"] }")) {
      TestGateway.Reply r = chat(gw, "gpt-4o");
      assertEquals(400, r.status());
      assertEquals("invalid_request", r.errorType());
      assertEquals("model_not_found", r.json().path("error").path("code").asText());
      assertTrue(r.errorMessage().contains("smart") && r.errorMessage().contains("m-primary"), r.errorMessage());
      assertEquals(0, primary.calls().size() + backup.calls().size());
      assertEquals(200, chat(gw, "smart").status());
    }
  }

  private static TestGateway.Reply chat(TestGateway gw, String model) {
    return gw.post("/v1/chat/completions",
        "{\"model\": " + TestGateway.quote(model) + ", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
  }

  static final String MESSAGES = "{\"model\": \"claude-3-5-sonnet-latest\", \"max_tokens\": 100,"
      + " \"system\": \"Be brief.\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"hello\"}]}]}";

  @Test
  void messagesApiAnswersInAnthropicsShapeFromAnOpenAiProvider() throws Exception {
    primary.enqueue(Step.ok("Hi there."));
    try (TestGateway gw = gateway("", "channels.http.auth-token = \"gw-token-1\"")) {
      TestGateway.Reply r = gw.post("/v1/messages", MESSAGES, "x-api-key", "gw-token-1", "anthropic-version", "2023-06-01");
      assertEquals(200, r.status(), r.body());
      JsonNode m = r.json();
      assertEquals("message", m.path("type").asText());
      assertEquals("assistant", m.path("role").asText());
      assertEquals("text", m.path("content").path(0).path("type").asText());
      assertEquals("Hi there.", m.path("content").path(0).path("text").asText());
      assertEquals("end_turn", m.path("stop_reason").asText());
      assertTrue(m.path("usage").path("input_tokens").asLong() > 0);
      JsonNode sent = sent(0);
      assertEquals("system", sent.path("messages").path(0).path("role").asText());
      assertEquals("Be brief.", sent.path("messages").path(0).path("content").asText());
      assertEquals(100, sent.path("max_tokens").asInt());

      TestGateway.Reply denied = gw.post("/v1/messages", MESSAGES, "x-api-key", "wrong");
      assertEquals(401, denied.status());
      assertEquals("error", denied.json().path("type").asText());
      assertEquals("authentication_error", denied.errorType());
    }
  }

  @Test
  void messagesApiStreamsInAnthropicsEventFormat() throws Exception {
    primary.enqueue(Step.ok("one two three").withChunks(3, Duration.ofMillis(100)));
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Streamed s = gw.stream("/v1/messages", MESSAGES.replace("\"max_tokens\"", "\"stream\": true, \"max_tokens\""), 1000);
      assertEquals(200, s.status());
      List<String> events = new ArrayList<>();
      StringBuilder text = new StringBuilder();
      for (TestGateway.Line line : s.lines()) {
        if (line.text().startsWith("event: ")) {
          events.add(line.text().substring(7));
        }
      }
      for (JsonNode d : s.data()) {
        text.append(d.path("delta").path("text").asText(""));
      }
      assertEquals("one two three", text.toString());
      assertEquals("message_start", events.get(0));
      assertEquals("content_block_start", events.get(1));
      assertEquals(List.of("content_block_stop", "message_delta", "message_stop"), events.subList(events.size() - 3, events.size()));
      assertTrue(events.stream().filter("content_block_delta"::equals).count() >= 3, events.toString());
      JsonNode delta = s.data().get(s.data().size() - 2);
      assertEquals("end_turn", delta.path("delta").path("stop_reason").asText());
    }
  }

  @Test
  void messagesApiErrorsAreAnthropicShaped() throws Exception {
    primary.enqueue(Step.status(503), Step.status(503), Step.status(402));
    backup.enqueue(Step.status(503), Step.status(503), Step.status(402));
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Reply down = gw.post("/v1/messages", MESSAGES); // 1 + max-retries 503s from each
      assertEquals(529, down.status(), down.body());
      assertEquals("error", down.json().path("type").asText());
      assertEquals("overloaded_error", down.errorType());

      TestGateway.Reply credits = gw.post("/v1/messages", MESSAGES);
      assertEquals(402, credits.status(), credits.body());
      assertEquals("billing_error", credits.errorType());
      assertTrue(credits.errorMessage().contains("402"), credits.errorMessage());

      TestGateway.Reply bad = gw.post("/v1/messages", "{\"max_tokens\": 5}");
      assertEquals(400, bad.status());
      assertEquals("invalid_request_error", bad.errorType());
      TestGateway.Reply malformed = gw.post("/v1/messages", "{nope");
      assertEquals(400, malformed.status());
      assertEquals("invalid_request_error", malformed.errorType());
    }
  }

  @Test
  void aMidStreamErrorOnTheMessagesApiIsAnAnthropicErrorEvent() throws Exception {
    primary.enqueue(Step.ok("a b c").withChunks(3, Duration.ZERO).withStreamFault(StreamFault.ERROR, 1));
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Streamed s = gw.stream("/v1/messages", MESSAGES.replace("\"max_tokens\"", "\"stream\": true, \"max_tokens\""), 1000);
      assertEquals(200, s.status());
      JsonNode last = s.data().get(s.data().size() - 1);
      assertEquals("error", last.path("type").asText(), s.body());
      assertEquals("overloaded_error", last.path("error").path("type").asText());
      assertFalse(s.body().contains("message_stop"));
      assertEquals(0, backup.calls().size());
    }
  }
}
