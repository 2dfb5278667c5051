package switchboard.providers.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import switchboard.providers.ErrorClassifier;
import switchboard.providers.OutcomeKind;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.fake.FakeProviderServer.Action;
import switchboard.providers.fake.FakeProviderServer.Step;

/** The fake's script syntax and its wire behaviour, checked with a plain JDK HTTP client. */
@Timeout(30)
class FakeProviderServerTest {
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void parsesTheCommandLineScript() {
    List<Step> steps = FakeProviderServer.parseScript("402, 429:retry-after=1,500x3,hang,close,ok:delay=2s:text=hi,garbage");
    assertEquals(9, steps.size());
    assertEquals(402, steps.get(0).status());
    assertEquals(Map.of("retry-after", "1"), steps.get(1).headers());
    assertEquals(500, steps.get(2).status());
    assertEquals(500, steps.get(4).status());
    assertEquals(Action.HANG, steps.get(5).action());
    assertEquals(Action.CLOSE, steps.get(6).action());
    assertEquals(Duration.ofSeconds(2), steps.get(7).delay());
    assertEquals(Optional.of("hi"), steps.get(7).text());
    assertEquals(200, steps.get(8).status());
    assertEquals(List.of(), FakeProviderServer.parseScript(" "));
    assertEquals(Optional.of("insufficient_quota"), FakeProviderServer.parseScript("429:type=insufficient_quota").get(0).errorType());
  }

  @Test
  void rejectsWhatItDoesNotUnderstandNamingTheStep() {
    for (String bad : List.of("maybe", "99", "429:wait=1", "ok:delay=soon", "429:retry-after=x", "500x0")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FakeProviderServer.parseScript(bad));
      assertTrue(e.getMessage().contains("\"" + bad + "\""), e.getMessage());
    }
  }

  @Test
  void speaksBothWireFormatsAndRecordsEveryCall() throws Exception {
    try (FakeProviderServer fake = FakeProviderServer.start(0)) {
      assertEquals("http://127.0.0.1:" + fake.port() + "/v1", fake.openAiBaseUrl());
      HttpResponse<String> openai = post(fake.openAiBaseUrl() + "/chat/completions", "Authorization", "Bearer sk-a",
          "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"ping\"}]}");
      assertEquals(200, openai.statusCode());
      assertEquals("Echo: ping", JSON.readTree(openai.body()).path("choices").path(0).path("message").path("content").asText());

      fake.enqueue(Step.status(402), Step.rateLimited(3));
      HttpResponse<String> billing = post(fake.anthropicBaseUrl() + "/v1/messages", "x-api-key", "ant",
          "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"ping\"}]}");
      assertEquals(402, billing.statusCode());
      assertEquals("billing_error", JSON.readTree(billing.body()).path("error").path("type").asText());
      HttpResponse<String> limited = post(fake.openAiBaseUrl() + "/chat/completions", "Authorization", "Bearer sk-b", "{}");
      assertEquals(429, limited.statusCode());
      assertEquals(Optional.of("3"), limited.headers().firstValue("retry-after"));
      ErrorClassifier.Classification c = ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, false, 429,
          Map.of("retry-after", "3"), limited.body());
      assertEquals(OutcomeKind.RATE_LIMITED, c.kind());

      assertEquals(3, fake.calls().size());
      assertEquals("sk-a", fake.calls().get(0).apiKey());
      assertEquals("/v1/messages", fake.calls().get(1).path());
      assertEquals("ant", fake.calls().get(1).auth());
      fake.reset();
      assertEquals(0, fake.calls().size());
    }
  }

  @Test
  void cannedErrorBodiesClassifyAsTheirStatusSays() throws Exception {
    try (FakeProviderServer fake = FakeProviderServer.start(0)) {
      Map<Integer, OutcomeKind> expected = Map.of(400, OutcomeKind.BAD_REQUEST, 401, OutcomeKind.AUTH_FAILED,
          402, OutcomeKind.OUT_OF_CREDITS, 429, OutcomeKind.RATE_LIMITED, 500, OutcomeKind.UNAVAILABLE,
          502, OutcomeKind.UNAVAILABLE, 529, OutcomeKind.UNAVAILABLE);
      for (Map.Entry<Integer, OutcomeKind> e : expected.entrySet()) {
        for (boolean anthropic : List.of(true, false)) {
          fake.enqueue(Step.status(e.getKey()));
          HttpResponse<String> r = anthropic
              ? post(fake.anthropicBaseUrl() + "/v1/messages", "x-api-key", "k", "{}")
              : post(fake.openAiBaseUrl() + "/chat/completions", "Authorization", "Bearer k", "{}");
          ProviderConfig.Kind kind = anthropic ? ProviderConfig.Kind.ANTHROPIC : ProviderConfig.Kind.OPENAI;
          assertEquals(e.getValue(), ErrorClassifier.classify(kind, false, r.statusCode(), Map.of(), r.body()).kind(),
              e.getKey() + " anthropic=" + anthropic + ": " + r.body());
        }
      }
    }
  }

  @Test
  void delaysAreHonoured() throws Exception {
    try (FakeProviderServer fake = FakeProviderServer.start(0)) {
      fake.enqueue(Step.ok("late").withDelay(Duration.ofMillis(400)));
      long start = System.nanoTime();
      HttpResponse<String> r = post(fake.openAiBaseUrl() + "/chat/completions", "Authorization", "Bearer k", "{}");
      assertTrue((System.nanoTime() - start) / 1_000_000 >= 400);
      JsonNode body = JSON.readTree(r.body());
      assertEquals("late", body.path("choices").path(0).path("message").path("content").asText());
    }
  }

  private static HttpResponse<String> post(String url, String header, String value, String body) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
        .header(header, value).header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
