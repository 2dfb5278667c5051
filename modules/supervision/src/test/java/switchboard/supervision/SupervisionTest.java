package switchboard.supervision;

import switchboard.testkit.faults.Crashable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.supervision.TestGateway.eventually;
import static switchboard.supervision.TestGateway.provider;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import switchboard.channels.http.HttpChannel;
import switchboard.providers.ProviderActor;
import switchboard.providers.fake.FakeProviderServer.Step;
import switchboard.router.ConversationsActor;
import switchboard.router.ErrorTexts;

/**
 * Crashes injected at each level of the running gateway — a provider actor, a conversation, the
 * HTTP channel — are contained: the request caught in the crash still gets an answer, the crashed
 * actor is restarted and serves again, everything else keeps working, and the root is untouched.
 */
@Timeout(60)
class SupervisionTest extends TwoProviderTest {

  @Test
  void aCrashedProviderActorAnswersItsRequestAndIsRestarted() throws Exception {
    primary.enqueue(Step.ok("too late").withDelay(Duration.ofSeconds(2)));
    try (TestGateway gw = gateway("", "")) {
      CompletableFuture<TestGateway.Reply> caught = gw.sayAsync("alice", "hello");
      eventually("the call at the primary", () -> primary.calls().size() == 1);

      Crashable.crash(gw.gateway.children().providers().get("primary"));

      TestGateway.Reply answered = caught.get(10, TimeUnit.SECONDS);
      assertEquals(200, answered.status(), answered.body());
      assertEquals("backup", answered.json().path("provider").asText(), "the crashed call fell back");

      TestGateway.Reply next = gw.say("bob", "hello");
      assertEquals(200, next.status(), next.body());
      assertEquals("primary", next.json().path("provider").asText(), "the restarted primary serves again");
      assertRootAlive(gw);
    }
  }

  @Test
  void aCrashedConversationAnswersItsPendingMessageAndOthersKeepWorking() throws Exception {
    primary.enqueue(Step.ok("too late").withDelay(Duration.ofSeconds(2)));
    try (TestGateway gw = gateway("", "")) {
      CompletableFuture<TestGateway.Reply> caught = gw.sayAsync("eve", "hello");
      eventually("the call at the primary", () -> primary.calls().size() == 1);

      Crashable.crashChild(gw.gateway.children().conversations(), "conversation-http%3Aeve");

      TestGateway.Reply answered = caught.get(10, TimeUnit.SECONDS);
      assertTrue(answered.status() >= 500, answered.status() + " " + answered.body());
      assertTrue(answered.errorMessage().contains(ErrorTexts.INTERNAL_ERROR), answered.body());

      assertEquals(200, gw.say("frank", "hello").status(), "another conversation is untouched");
      TestGateway.Reply again = gw.say("eve", "hello again");
      assertEquals(200, again.status(), again.body());
      assertRootAlive(gw);
    }
  }

  @Test
  void aCrashedHttpChannelBindsAgainOnItsPortAndAnswersItsInFlightMessage() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    primary.enqueue(Step.ok("answered anyway").withDelay(Duration.ofSeconds(1)));
    try (TestGateway gw = gateway("", "channels.http.port = " + port)) {
      assertEquals(port, gw.gateway.httpPort());
      CompletableFuture<TestGateway.Reply> caught = gw.sayAsync("gina", "hello");
      eventually("the call at the primary", () -> primary.calls().size() == 1);

      Crashable.crash(gw.gateway.children().http().orElseThrow());

      TestGateway.Reply answered = caught.get(10, TimeUnit.SECONDS);
      assertEquals(200, answered.status(), answered.body());
      assertEquals("answered anyway", answered.json().path("reply").asText());

      eventually("the channel serving again on port " + port, () -> {
        try {
          return gw.get("/health").status() == 200;
        } catch (RuntimeException refusedWhileRebinding) {
          return false;
        }
      });
      assertEquals(200, gw.say("hank", "hello").status());
      assertRootAlive(gw);
    }
  }

  /** The root answers, with the same children it started with, and the system is running. */
  private static void assertRootAlive(TestGateway gw) throws Exception {
    Gateway gateway = gw.gateway;
    GatewayRoot.Children children =
        AskPattern.<GatewayRoot.Command, GatewayRoot.Children>ask(
                gateway.system(), GatewayRoot.GetChildren::new, Duration.ofSeconds(5), gateway.system().scheduler())
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    assertSame(gateway.children(), children, "the root was not restarted");
    assertFalse(gateway.whenTerminated().toCompletableFuture().isDone());
    assertEquals("up", gw.get("/health").json().path("status").asText());
  }
}
