package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.supervision.TestGateway.eventually;
import static switchboard.supervision.TestGateway.provider;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import switchboard.providers.fake.FakeProviderServer.Step;
import switchboard.providers.fake.FakeProviderServer.StreamFault;

/**
 * {@code "stream": true} over real HTTP (CONTRACT.md section 6): pieces reach the caller as the
 * provider produces them, in both provider formats, and the stream error model holds: failures
 * before the first piece are retried and fallen back on, after it the stream ends with one error
 * event; a caller who goes away cancels the provider's call.
 */
class StreamingEndToEndTest extends TwoProviderTest {

  static final String STREAM_BODY =
      "{\"model\": \"gpt-4o\", \"stream\": true, \"stream_options\": {\"include_usage\": true},"
          + " \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";

  /** The primary as an anthropic-kind provider at the same fake, the backup as usual. */
  TestGateway anthropicGateway(String primaryExtra) throws Exception {
    String anthropic = "{ name = \"primary\", kind = \"anthropic\", base-url = \"" + primary.anthropicBaseUrl() + "\","
        + " model = \"claude-test\", priority = 1, api-keys = [\"sk-ant-secret\"], timeout = 5s"
        + (primaryExtra.isEmpty() ? "" : ", " + primaryExtra) + " }";
    return TestGateway.start(dir, List.of(anthropic, provider("backup", 2, backup, "fallback-only = true")), "");
  }

  @Test
  void piecesReachTheCallerAsTheyAreProduced() throws Exception {
    primary.enqueue(Step.ok("one two three four five").withChunks(5, Duration.ofMillis(300)));
    try (TestGateway gw = gateway("price { input-per-million = 1000, output-per-million = 1000 }", "")) {
      TestGateway.Streamed s = gw.stream("/v1/chat/completions", STREAM_BODY, 1000);
      assertEquals(200, s.status());
      assertTrue(s.header("Content-Type").startsWith("text/event-stream"), s.header("Content-Type"));
      assertEquals("primary", s.header("X-Switchboard-Provider"));
      assertEquals("one two three four five", s.content());
      assertTrue(s.done(), s.body());
      // five pieces 300 ms apart: the whole answer takes at least 1.5 s, the first piece comes
      // at least 0.9 s before the last one (it was not held back until the end)
      assertTrue(s.lastNanos() >= Duration.ofMillis(1500).toNanos(), "took " + s.lastNanos() / 1_000_000 + " ms");
      assertTrue(s.lastNanos() - s.firstContentNanos() >= Duration.ofMillis(900).toNanos(),
          "first piece at " + s.firstContentNanos() / 1_000_000 + " ms, last at " + s.lastNanos() / 1_000_000 + " ms");
      List<JsonNode> data = s.data();
      assertEquals("assistant", data.get(0).path("choices").path(0).path("delta").path("role").asText());
      assertEquals("stop", data.get(data.size() - 2).path("choices").path(0).path("finish_reason").asText());
      JsonNode usage = data.get(data.size() - 1);
      assertEquals(0, usage.path("choices").size());
      assertTrue(usage.path("usage").path("completion_tokens").asLong() > 0, usage.toString());
      JsonNode sent = TestGateway.JSON.readTree(primary.calls().get(0).body());
      assertTrue(sent.path("stream").asBoolean());
      assertTrue(sent.path("stream_options").path("include_usage").asBoolean());
      assertEquals("m-primary", sent.path("model").asText());
      // the stream's usage is accounted like any call's: tokens, spend, the call log's first-token time
      eventually("the streamed call to be accounted",
          () -> gw.providerStatus("primary").path("accounting").path("spend_today").asDouble() > 0);
      JsonNode accounting = gw.providerStatus("primary").path("accounting");
      assertEquals(1, accounting.path("calls").asInt(), accounting.toString());
      assertTrue(accounting.path("output_tokens").asLong() > 0, accounting.toString());
      String metrics = gw.get("/metrics").body();
      assertTrue(metrics.contains("switchboard_provider_first_token_seconds_count{provider=\"primary\"} 1\n"), metrics);
      // five pieces 300 ms apart after the role chunk: the first piece at least 300 ms after the call began
      assertTrue(metrics.matches("(?s).*switchboard_provider_first_token_seconds_sum\\{provider=\"primary\"\\} 0\\.[3-9].*"),
          metrics);
    }
  }

  @Test
  void anAnthropicStreamIsTranslatedIntoOpenAiChunks() throws Exception {
    primary.enqueue(Step.ok("Bonjour tout le monde").withChunks(4, Duration.ofMillis(200)));
    try (TestGateway gw = anthropicGateway("")) {
      TestGateway.Streamed s = gw.stream("/v1/chat/completions", STREAM_BODY, 1000);
      assertEquals(200, s.status());
      assertEquals("Bonjour tout le monde", s.content());
      assertTrue(s.done(), s.body());
      assertTrue(s.lastNanos() - s.firstContentNanos() >= Duration.ofMillis(500).toNanos(), s.body());
      List<JsonNode> data = s.data();
      assertEquals("stop", data.get(data.size() - 2).path("choices").path(0).path("finish_reason").asText());
      JsonNode usage = data.get(data.size() - 1).path("usage");
      assertTrue(usage.path("prompt_tokens").asLong() > 0 && usage.path("completion_tokens").asLong() > 0, usage.toString());
      assertTrue(primary.calls().get(0).path().endsWith("/v1/messages"));
      assertTrue(TestGateway.JSON.readTree(primary.calls().get(0).body()).path("stream").asBoolean());
    }
  }

  @Test
  void failuresBeforeTheFirstPieceAreRetriedAndFallenBackOn() throws Exception {
    // a 500, then an error event before any content: both before the first piece
    primary.enqueue(Step.status(500), Step.ok().withStreamFault(StreamFault.ERROR, 0));
    backup.enqueue(Step.ok("from the backup"));
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Streamed s = gw.stream("/v1/chat/completions", STREAM_BODY, 1000);
      assertEquals(200, s.status());
      assertEquals("backup", s.header("X-Switchboard-Provider"));
      assertEquals("from the backup", s.content());
      assertTrue(s.done());
      assertEquals(2, primary.calls().size(), "1 + max-retries calls");
      assertEquals(1, backup.calls().size());
    }
  }

  @Test
  void whenNothingAnswersTheCallerGetsTheOrdinaryJsonError() throws Exception {
    primary.enqueue(Step.status(402));
    backup.enqueue(Step.status(402));
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Reply r = gw.post("/v1/chat/completions", STREAM_BODY);
      assertEquals(402, r.status(), r.body());
      assertTrue(r.header("Content-Type").startsWith("application/json"));
      assertEquals("out_of_credits", r.errorType());
      assertEquals(1, primary.calls().size());
      assertEquals(1, backup.calls().size());
    }
  }

  @Test
  void aMidStreamErrorEndsTheStreamWithOneErrorEventAndNoFallback() throws Exception {
    primary.enqueue(Step.ok("part one, part two, part three").withChunks(3, Duration.ZERO)
        .withStreamFault(StreamFault.ERROR, 2));
    try (TestGateway gw = anthropicGateway("")) {
      TestGateway.Streamed s = gw.stream("/v1/chat/completions", STREAM_BODY, 1000);
      assertEquals(200, s.status());
      assertFalse(s.done(), "no [DONE] after an error: " + s.body());
      List<JsonNode> data = s.data();
      JsonNode last = data.get(data.size() - 1);
      assertEquals("unavailable", last.path("error").path("type").asText(), s.body());
      assertEquals("primary", last.path("error").path("provider").asText());
      assertEquals(1, data.stream().filter(d -> d.has("error")).count());
      assertTrue(s.content().startsWith("part one"), s.content());
      assertEquals(1, primary.calls().size());
      assertEquals(0, backup.calls().size());
    }
  }

  @Test
  void aStalledStreamEndsAfterTheIdleTimeout() throws Exception {
    primary.enqueue(Step.ok("a b c d").withChunks(4, Duration.ZERO).withStreamFault(StreamFault.STALL, 1));
    try (TestGateway gw = gateway("stream-idle-timeout = 700ms", "")) {
      TestGateway.Streamed s = gw.stream("/v1/chat/completions", STREAM_BODY, 1000);
      assertFalse(s.done());
      JsonNode last = s.data().get(s.data().size() - 1);
      assertEquals("unavailable", last.path("error").path("type").asText(), s.body());
      assertTrue(last.path("error").path("message").asText().contains("stream-idle-timeout"), s.body());
      assertTrue(s.lastNanos() >= Duration.ofMillis(700).toNanos(), s.body());
      assertEquals(1, primary.calls().size());
      assertEquals(0, backup.calls().size());
    }
  }

  @Test
  void aDroppedOrCutStreamIsAnErrorNotACleanEnd() throws Exception {
    primary.enqueue(Step.ok("a b c d").withChunks(4, Duration.ZERO).withStreamFault(StreamFault.DROP, 2),
        Step.ok("a b c d").withChunks(4, Duration.ZERO).withStreamFault(StreamFault.CUT, 4));
    try (TestGateway gw = gateway("", "")) {
      for (int i = 0; i < 2; i++) {
        TestGateway.Streamed s = gw.stream("/v1/chat/completions", STREAM_BODY, 1000);
        assertFalse(s.done(), s.body());
        JsonNode last = s.data().get(s.data().size() - 1);
        assertEquals("unavailable", last.path("error").path("type").asText(), s.body());
      }
      assertEquals(2, primary.calls().size());
      assertEquals(0, backup.calls().size());
    }
  }

  @Test
  void aCallerWhoGoesAwayCancelsTheProviderCall() throws Exception {
    primary.enqueue(Step.ok("x".repeat(40)).withChunks(40, Duration.ofMillis(150)));
    try (TestGateway gw = gateway("", "")) {
      long start = System.nanoTime();
      TestGateway.Streamed s = gw.stream("/v1/chat/completions", STREAM_BODY, 2);
      assertEquals(200, s.status());
      // the whole answer would take 6 s; the fake sees its caller gone long before
      eventually("the provider's stream to be cancelled", () -> primary.streamsCancelledByCaller() == 1);
      long took = System.nanoTime() - start;
      assertTrue(took < Duration.ofSeconds(5).toNanos(), "cancelled after " + took / 1_000_000 + " ms");
      eventually("the call to be in the call log",
          () -> gw.get("/metrics").body().contains("switchboard_provider_first_token_seconds_count{"));
    }
  }

  @Test
  void aShutdownWaitsForAStreamInProgress() throws Exception {
    // 20 pieces 200 ms apart: 4 s, longer than the HTTP server's own 3 s grace for closing
    // connections, well within the shutdown-timeout
    primary.enqueue(Step.ok("y".repeat(20)).withChunks(20, Duration.ofMillis(200)));
    try (TestGateway gw = gateway("", "shutdown-timeout = 20s")) {
      java.util.concurrent.CompletableFuture<TestGateway.Streamed> reading = java.util.concurrent.CompletableFuture
          .supplyAsync(() -> {
            try {
              return gw.stream("/v1/chat/completions", STREAM_BODY, 1000);
            } catch (Exception e) {
              throw new java.util.concurrent.CompletionException(e);
            }
          });
      eventually("the provider to be called", () -> primary.calls().size() == 1);
      int unanswered = gw.gateway.shutdown();
      TestGateway.Streamed s = reading.get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(0, unanswered);
      assertEquals("y".repeat(20), s.content(), s.body());
      assertTrue(s.done(), s.body());
    }
  }

  @Test
  void aWholeAnswerToAStreamRequestIsSentAsAStreamToo() throws Exception {
    // a provider that ignores "stream" and answers JSON
    primary.enqueue(Step.status(200, "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
        + "\"message\":{\"role\":\"assistant\",\"content\":\"whole\"},\"finish_reason\":\"stop\"}],"
        + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}"));
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Streamed s = gw.stream("/v1/chat/completions", STREAM_BODY, 1000);
      assertEquals("whole", s.content());
      assertTrue(s.done());
      assertEquals(3, s.data().get(s.data().size() - 1).path("usage").path("prompt_tokens").asLong());
    }
  }
}
