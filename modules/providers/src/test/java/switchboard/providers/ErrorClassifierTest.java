package switchboard.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import switchboard.providers.ErrorClassifier.Classification;
import switchboard.providers.config.ProviderConfig;

/** Every case of provider-errors.json, plus the header parsing the retry waits depend on. */
class ErrorClassifierTest {

  static Stream<Arguments> cases() throws Exception {
    JsonNode root;
    try (InputStream in = ErrorClassifierTest.class.getResourceAsStream("/provider-errors.json")) {
      root = new ObjectMapper().readTree(in);
    }
    List<Arguments> out = new ArrayList<>();
    for (JsonNode c : root.path("cases")) {
      out.add(Arguments.of(c.path("id").asText(), c));
    }
    assertTrue(out.size() >= 17, "the spec's cases are all there");
    return out.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void classifiesEveryCaseOfTheSpec(String id, JsonNode c) {
    ProviderConfig.Kind kind = ProviderConfig.Kind.valueOf(c.path("provider_kind").asText().toUpperCase(Locale.ROOT));
    Map<String, String> headers = new HashMap<>();
    c.path("headers").properties().forEach(e -> headers.put(e.getKey().toLowerCase(Locale.ROOT), e.getValue().asText()));
    Classification result =
        ErrorClassifier.classify(kind, false, c.path("status").asInt(), headers, c.path("body").asText());
    JsonNode expect = c.path("expect");
    assertEquals(expect.path("kind").asText(), result.kind().wire(), id + ": " + result.detail());
    if (expect.has("retry_after_ms")) {
      assertEquals(Optional.of(Duration.ofMillis(expect.path("retry_after_ms").asLong())), result.retryAfter(), id);
    }
    assertTrue(result.detail().startsWith("returned " + c.path("status").asInt()), result.detail());
  }

  @Test
  void authErrorsMeanQuotaTurnsA401IntoOutOfCredits() {
    String body = "{\"error\":{\"message\":\"Incorrect API key provided.\",\"code\":\"invalid_api_key\"}}";
    assertEquals(OutcomeKind.OUT_OF_CREDITS,
        ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, true, 401, Map.of(), body).kind());
    assertEquals(OutcomeKind.AUTH_FAILED,
        ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, true, 403, Map.of(), "{}").kind());
  }

  @Test
  void wellFormedCompletionsAreOkInBothFormats() {
    assertEquals(OutcomeKind.OK, ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, false, 200, Map.of(),
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"hi\"}}],\"usage\":{\"prompt_tokens\":3}}").kind());
    assertEquals(OutcomeKind.OK, ErrorClassifier.classify(ProviderConfig.Kind.ANTHROPIC, false, 200, Map.of(),
        "{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],\"usage\":{\"input_tokens\":3}}").kind());
    // an Anthropic body is not an OpenAI completion: malformed for that provider
    assertEquals(OutcomeKind.UNAVAILABLE, ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, false, 200, Map.of(),
        "{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}").kind());
  }

  @Test
  void aTwoHundredCarryingAnErrorIsClassifiedByItsBody() {
    Classification c = ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, false, 200, Map.of(),
        "{\"error\":{\"code\":402,\"message\":\"insufficient_credits: top up\"}}");
    assertEquals(OutcomeKind.OUT_OF_CREDITS, c.kind());
  }

  @Test
  void statusRowsCoverTheTable() {
    assertEquals(OutcomeKind.BAD_REQUEST, classify(404));
    assertEquals(OutcomeKind.BAD_REQUEST, classify(413));
    assertEquals(OutcomeKind.BAD_REQUEST, classify(422));
    assertEquals(OutcomeKind.AUTH_FAILED, classify(403));
    assertEquals(OutcomeKind.UNAVAILABLE, classify(529));
    assertEquals(OutcomeKind.UNAVAILABLE, classify(504));
    assertEquals(OutcomeKind.UNAVAILABLE, classify(408));
  }

  private static OutcomeKind classify(int status) {
    return ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, false, status, Map.of(), "{\"error\":{\"message\":\"x\"}}").kind();
  }

  @Test
  void detailIsShortAndCarriesTheWait() {
    Classification c = ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, false, 429, Map.of("retry-after", "2"),
        "{\"error\":{\"message\":\"Rate limit reached\",\"code\":\"rate_limit_exceeded\"}}");
    assertEquals("returned 429: Rate limit reached (retry after 2s)", c.detail());
    Classification html = ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, false, 502,
        Map.of("content-type", "text/html"), "<html><body><h1>502 Bad Gateway</h1></body></html>");
    assertEquals("returned 502: 502 Bad Gateway", html.detail());
  }

  @Test
  void retryAfterInSecondsAndAsHttpDate() {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    assertEquals(Optional.of(Duration.ofSeconds(7)), ErrorClassifier.parseRetryAfter("7", now));
    assertEquals(Optional.of(Duration.ofMillis(1500)), ErrorClassifier.parseRetryAfter("1.5", now));
    assertEquals(Optional.of(Duration.ofSeconds(90)),
        ErrorClassifier.parseRetryAfter("Thu, 01 Jan 2026 00:01:30 GMT", now));
    assertEquals(Optional.of(Duration.ZERO), ErrorClassifier.parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now));
    assertEquals(Optional.empty(), ErrorClassifier.parseRetryAfter("soon", now));
    assertEquals(Optional.empty(), ErrorClassifier.parseRetryAfter("-3", now));
  }

  @Test
  void httpDateRetryAfterIsUsedByTheClassifier() {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    Classification c = ErrorClassifier.classify(ProviderConfig.Kind.ANTHROPIC, false, 429,
        Map.of("retry-after", "Thu, 01 Jan 2026 00:00:05 GMT"), "{}", now);
    assertEquals(OutcomeKind.RATE_LIMITED, c.kind());
    assertEquals(Optional.of(Duration.ofSeconds(5)), c.retryAfter());
  }

  @Test
  void openAiResetDurations() {
    assertEquals(Optional.of(Duration.ofSeconds(1)), ErrorClassifier.parseResetDuration("1s"));
    assertEquals(Optional.of(Duration.ofMinutes(6)), ErrorClassifier.parseResetDuration("6m0s"));
    assertEquals(Optional.of(Duration.ofMillis(120)), ErrorClassifier.parseResetDuration("120ms"));
    assertEquals(Optional.of(Duration.ofMillis(3_723_500)), ErrorClassifier.parseResetDuration("1h2m3.5s"));
    assertEquals(Optional.of(Duration.ofMillis(17_500)), ErrorClassifier.parseResetDuration("17.5s"));
    assertEquals(Optional.of(Duration.ofMillis(2500)), ErrorClassifier.parseResetDuration("2.5"));
    assertEquals(Optional.empty(), ErrorClassifier.parseResetDuration("1s later"));
    assertEquals(Optional.empty(), ErrorClassifier.parseResetDuration("later"));
    assertEquals(Optional.empty(), ErrorClassifier.parseResetDuration("5x"));
    assertEquals(Optional.empty(), ErrorClassifier.parseResetDuration(""));
  }

  @Test
  void resetHeadersGiveTheWaitOfARateLimitWithoutRetryAfter() {
    Classification requests = ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, false, 429,
        Map.of("x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", "6m0s",
            "x-ratelimit-remaining-tokens", "100", "x-ratelimit-reset-tokens", "120ms"),
        "{\"error\":{\"code\":\"rate_limit_exceeded\"}}");
    assertEquals(Optional.of(Duration.ofMinutes(6)), requests.retryAfter());
    Classification tokens = ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, false, 429,
        Map.of("x-ratelimit-reset-requests", "1s", "x-ratelimit-reset-tokens", "120ms",
            "x-ratelimit-remaining-tokens", "0"),
        "{\"error\":{\"code\":\"rate_limit_exceeded\"}}");
    assertEquals(Optional.of(Duration.ofMillis(120)), tokens.retryAfter());
    Classification ms = ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, false, 429,
        Map.of("retry-after-ms", "250", "retry-after", "1"), "{}");
    assertEquals(Optional.of(Duration.ofMillis(250)), ms.retryAfter());
  }

  @Test
  void okResponsesAskForNoWait() {
    Classification ok = ErrorClassifier.classify(ProviderConfig.Kind.OPENAI, false, 200,
        Map.of("x-ratelimit-reset-requests", "1s"),
        "{\"choices\":[{\"message\":{\"content\":\"hi\"}}]}");
    assertEquals(Optional.empty(), ok.retryAfter());
  }
}
