package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.supervision.TestGateway.eventually;
import static switchboard.supervision.TestGateway.provider;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import switchboard.providers.fake.FakeProviderServer.Step;

/**
 * The whole gateway — root guardian, real HTTP channel, real provider actors — against fake
 * provider servers, checked over HTTP as a user would: issue 3's "done means".
 */
@Timeout(60)
class GatewayEndToEndTest extends TwoProviderTest {

  static final String OUT_OF_CREDITS =
      "Provider primary returned 402: insufficient credits. Please top up your balance and try again.";

  @Test
  void a402IsAnsweredByTheBackupAndThePrimaryGetsNoMoreCallsWhileOpen() throws Exception {
    primary.enqueue(Step.status(402));
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Reply first = gw.say("alice", "hello");
      assertEquals(200, first.status(), first.body());
      assertEquals("backup", first.json().path("provider").asText());
      assertEquals(1, primary.calls().size(), "a 402 costs exactly one call");
      assertEquals(1, backup.calls().size());

      TestGateway.Reply second = gw.say("bob", "hello again");
      assertEquals(200, second.status(), second.body());
      assertEquals("backup", second.json().path("provider").asText());
      assertEquals(1, primary.calls().size(), "no call while the breaker is open");

      JsonNode status = gw.providerStatus("primary");
      assertEquals("open", status.path("state").asText());
      assertEquals("out_of_credits", status.path("reason").asText());
      assertFalse(status.path("open_until").asText().isEmpty());
      assertEquals("closed", gw.providerStatus("backup").path("state").asText());

      MainTest.Run cli = MainTest.run("gateway", "status", "--url", "http://127.0.0.1:" + gw.gateway.httpPort());
      assertEquals(0, cli.code(), cli.err());
      assertTrue(cli.out().lines().anyMatch(l -> l.matches("1\\s+primary\\s+open\\s+out_of_credits\\s+\\S+\\s+primary#1=open")),
          cli.out());
      assertTrue(cli.out().lines().anyMatch(l -> l.matches("http\\s+serving\\s+0/100")), cli.out());
      assertFalse(cli.out().contains("secret"), cli.out());
    }
  }

  @Test
  void withNoBackupTheCallerGets402WithTheExactTextAndTheGatewayKeepsAnswering() throws Exception {
    primary.enqueue(Step.status(402));
    try (TestGateway gw = TestGateway.start(dir, List.of(provider("primary", 1, primary, "")), "")) {
      TestGateway.Reply reply = gw.say("alice", "hello");
      assertEquals(402, reply.status(), reply.body());
      assertEquals("out_of_credits", reply.errorType());
      assertEquals(OUT_OF_CREDITS, reply.errorMessage());
      assertEquals("primary", reply.json().path("error").path("provider").asText());

      TestGateway.Reply next = gw.post("/v1/chat/completions",
          "{\"messages\": [{\"role\": \"user\", \"content\": \"still there?\"}]}");
      assertEquals(402, next.status(), next.body());
      assertEquals(OUT_OF_CREDITS, next.errorMessage());
      assertEquals(1, primary.calls().size(), "the open breaker answers without a call");
      long firstWait = Long.parseLong(reply.header("Retry-After"));
      long nextWait = Long.parseLong(next.header("Retry-After"));
      assertTrue(firstWait > 0 && Math.abs(firstWait - nextWait) <= 5,
          "the 402 and the refusal after it wait for the same breaker: " + firstWait + "s, " + nextWait + "s");
      assertEquals("up", gw.get("/health").json().path("status").asText());
      assertFalse(gw.gateway.whenTerminated().toCompletableFuture().isDone());
    }
  }

  @Test
  void a401IsNotFallenBack() throws Exception {
    primary.enqueue(Step.status(401));
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Reply reply = gw.say("alice", "hello");
      assertEquals(502, reply.status(), reply.body());
      assertEquals("auth_failed", reply.errorType());
      assertEquals("primary", reply.json().path("error").path("provider").asText());
      assertFalse(reply.body().contains("sk-primary-secret"));
      assertEquals(1, primary.calls().size());
      assertEquals(0, backup.calls().size(), "auth_failed does not fall back");
    }
  }

  @Test
  void beyondThePendingLimitTheCallerGets503BusyAtOnce() throws Exception {
    primary.setDefault(Step.ok("slow").withDelay(Duration.ofSeconds(3)));
    try (TestGateway gw = gateway("", "channels.http.max-pending-messages = 2")) {
      CompletableFuture<TestGateway.Reply> one = gw.sayAsync("a", "one");
      CompletableFuture<TestGateway.Reply> two = gw.sayAsync("b", "two");
      eventually("two messages at the provider", () -> primary.calls().size() == 2);

      TestGateway.Reply busy = gw.say("c", "three");
      assertEquals(503, busy.status(), busy.body());
      assertEquals("busy", busy.errorType());
      assertNotNull(busy.header("Retry-After"), "busy carries Retry-After");
      assertTrue(busy.took().compareTo(Duration.ofSeconds(2)) < 0, "busy comes at once, took " + busy.took());

      assertEquals(200, one.join().status());
      assertEquals(200, two.join().status());
      assertEquals(2, primary.calls().size(), "the busy message reached no provider");
    }
  }

  @Test
  void malformedAndOversizeBodiesGet400And413() throws Exception {
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Reply malformed = gw.post("/v1/chat/completions", "{\"messages\": [");
      assertEquals(400, malformed.status(), malformed.body());
      assertEquals("invalid_request", malformed.errorType());

      TestGateway.Reply missing = gw.post("/api/conversations/x/messages", "{\"txt\": \"hi\"}");
      assertEquals(400, missing.status(), missing.body());
      assertEquals("invalid_request", missing.errorType());
      assertTrue(missing.errorMessage().contains("text"), missing.errorMessage());

      String big = "x".repeat(1024 * 1024 + 10);
      TestGateway.Reply tooLarge = gw.post("/api/conversations/x/messages", "{\"text\": \"" + big + "\"}");
      assertEquals(413, tooLarge.status(), tooLarge.body());
      assertEquals("too_large", tooLarge.errorType());
      assertEquals(0, primary.calls().size() + backup.calls().size());
    }
  }

  @Test
  void anOpenAiStyleRequestRoundTrips() throws Exception {
    primary.enqueue(Step.ok("Paris."));
    try (TestGateway gw = gateway("", "")) {
      TestGateway.Reply reply = gw.post("/v1/chat/completions",
          "{\"model\": \"anything\", \"max_tokens\": 50, \"temperature\": 0.2, \"messages\": ["
              + "{\"role\": \"system\", \"content\": \"Be brief.\"},"
              + "{\"role\": \"user\", \"content\": \"Capital of France?\"}]}");
      assertEquals(200, reply.status(), reply.body());
      JsonNode json = reply.json();
      assertEquals("chat.completion", json.path("object").asText());
      assertEquals("assistant", json.path("choices").path(0).path("message").path("role").asText());
      assertEquals("Paris.", json.path("choices").path(0).path("message").path("content").asText());
      assertEquals("primary", reply.header("X-Switchboard-Provider"));

      String sent = primary.calls().get(0).body();
      assertTrue(sent.contains("Be brief.") && sent.contains("Capital of France?"), sent);
      assertEquals("sk-primary-secret", primary.calls().get(0).apiKey());
    }
  }

  @Test
  void aConversationKeepsItsHistoryAcrossMessages() throws Exception {
    try (TestGateway gw = gateway("", "")) {
      assertEquals(200, gw.say("carol", "my name is Carol").status());
      assertEquals(200, gw.say("carol", "what is my name?").status());
      String second = primary.calls().get(1).body();
      assertTrue(second.contains("my name is Carol") && second.contains("what is my name?"), second);
    }
  }

  @Test
  void shutdownAnswersTheMessagesInFlightFirst() throws Exception {
    primary.setDefault(Step.ok("late but answered").withDelay(Duration.ofMillis(1500)));
    TestGateway gw = gateway("", "");
    CompletableFuture<TestGateway.Reply> inFlight = gw.sayAsync("dave", "hello");
    eventually("the message at the provider", () -> primary.calls().size() == 1);
    assertEquals(0, gw.gateway.shutdown(), "every accepted message answered");
    TestGateway.Reply reply = inFlight.join();
    assertEquals(200, reply.status(), reply.body());
    assertEquals("late but answered", reply.json().path("reply").asText());
    assertTrue(gw.gateway.whenTerminated().toCompletableFuture().isDone());
  }
}
