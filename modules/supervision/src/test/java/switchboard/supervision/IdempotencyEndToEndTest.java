package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import switchboard.providers.fake.FakeProviderServer.Step;

/**
 * {@code Idempotency-Key}: a client that retries after a dropped connection gets the first answer
 * back with no second provider call and no second turn, also while the first is still being
 * answered and after a restart; the same key with another body is {@code 400 invalid_request}.
 */
@Timeout(90)
class IdempotencyEndToEndTest extends TwoProviderTest {
  private static final String MESSAGES = "/api/conversations/kim/messages";
  private static final String COMPLETIONS = "/v1/chat/completions";
  private static final String CHAT = "{\"messages\": [{\"role\": \"user\", \"content\": \"hello once\"}]}";

  @Test
  void aRepeatedConversationMessageIsAnsweredOnceAndStoredOnce() throws Exception {
    primary.setDefault(Step.ok("slow answer").withDelay(Duration.ofMillis(500)));
    try (TestGateway gw = gateway("", "")) {
      CompletableFuture<TestGateway.Reply> first = gw.postAsync(MESSAGES, "{\"text\": \"hi\"}", "Idempotency-Key", "k-1");
      TestGateway.eventually("the first to reach the provider", () -> primary.calls().size() == 1);
      TestGateway.Reply whileInFlight = gw.post(MESSAGES, "{\"text\": \"hi\"}", "Idempotency-Key", "k-1");
      TestGateway.Reply original = first.join();
      assertEquals(200, original.status(), original.body());
      assertEquals(original.body(), whileInFlight.body(), "a repeat while in flight waits for the first answer");

      TestGateway.Reply later = gw.post(MESSAGES, "{\"text\": \"hi\"}", "Idempotency-Key", "k-1");
      assertEquals(original.body(), later.body());
      TestGateway.Reply other = gw.post(MESSAGES, "{\"text\": \"something else\"}", "Idempotency-Key", "k-1");
      assertEquals(400, other.status(), other.body());
      assertEquals("invalid_request", other.errorType());
      assertEquals(1, primary.calls().size(), "one provider call for three requests with the key");
      assertEquals(2, gw.get("/api/conversations/kim").json().path("messages").size(), "one turn stored");
    }
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Reply afterRestart = gw.post(MESSAGES, "{\"text\": \"hi\"}", "Idempotency-Key", "k-1");
      assertEquals(200, afterRestart.status(), afterRestart.body());
      assertEquals(1, primary.calls().size(), "the key is in the store");
      assertEquals(2, gw.get("/api/conversations/kim").json().path("messages").size());
    }
  }

  @Test
  void aRepeatedChatCompletionGetsTheFirstAnswerByteForByte() throws Exception {
    primary.setDefault(Step.ok("slow answer").withDelay(Duration.ofMillis(500)));
    try (TestGateway gw = gateway("", "")) {
      CompletableFuture<TestGateway.Reply> first = gw.postAsync(COMPLETIONS, CHAT, "Idempotency-Key", "c-1");
      TestGateway.eventually("the first to reach the provider", () -> primary.calls().size() == 1);
      TestGateway.Reply whileInFlight = gw.post(COMPLETIONS, CHAT, "Idempotency-Key", "c-1");
      TestGateway.Reply original = first.join();
      assertEquals(200, original.status(), original.body());
      assertNull(original.header("Idempotent-Replayed"));
      assertEquals(original.body(), whileInFlight.body());
      assertEquals("true", whileInFlight.header("Idempotent-Replayed"));
      assertEquals("primary", whileInFlight.header("X-Switchboard-Provider"));

      TestGateway.Reply mismatch = gw.post(COMPLETIONS, CHAT.replace("once", "twice"), "Idempotency-Key", "c-1");
      assertEquals(400, mismatch.status(), mismatch.body());
      assertEquals("invalid_request", mismatch.errorType());
      TestGateway.Reply unkeyed = gw.post(COMPLETIONS, CHAT);
      assertEquals(200, unkeyed.status());
      assertEquals(2, primary.calls().size(), "only the request without a key was answered again");
    }
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Reply afterRestart = gw.post(COMPLETIONS, CHAT, "Idempotency-Key", "c-1");
      assertEquals(200, afterRestart.status(), afterRestart.body());
      assertEquals("true", afterRestart.header("Idempotent-Replayed"));
      assertEquals(2, primary.calls().size(), "the answer came from the store");
    }
  }
}
