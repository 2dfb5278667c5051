package switchboard.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.providers.Fixtures.config;
import static switchboard.providers.Fixtures.request;
import static switchboard.providers.Fixtures.retry;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import switchboard.providers.config.BreakerConfig;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.fake.FakeProviderServer;
import switchboard.providers.fake.FakeProviderServer.Step;

/**
 * Many users at once reach the provider at once: the pooled connections are not Pekko HTTP's
 * default of four, which would hold the fifth message until one of four slow answers came back.
 */
@Timeout(60)
class ConnectionPoolTest {
  private static final ActorTestKit KIT = ActorTestKit.create();
  private static final Duration SLOW_ANSWER = Duration.ofSeconds(3);

  @AfterAll
  static void stopKit() {
    KIT.shutdownTestKit();
  }

  @Test
  void twentyConcurrentMessagesAreAllSentBeforeTheFirstAnswerComesBack() throws Exception {
    try (FakeProviderServer fake = FakeProviderServer.start(0)) {
      fake.setDefault(Step.ok("slow").withDelay(SLOW_ANSWER));
      ProviderConfig provider =
          config("primary", ProviderConfig.Kind.OPENAI, fake.openAiBaseUrl(), List.of("sk-test-pool"), Duration.ofSeconds(20));
      ActorRef<ProviderActor.Command> actor =
          KIT.spawn(ProviderActor.create(provider, retry(0, Duration.ofMillis(100)), BreakerConfig.DEFAULT,
              ProviderEvents.NONE, Optional.empty()));
      TestProbe<ProviderResult> probe = KIT.createTestProbe();

      for (int i = 0; i < 20; i++) {
        actor.tell(new ProviderActor.Complete(request("user " + i), Instant.now().plusSeconds(30), probe.getRef()));
      }
      for (int i = 0; i < 20; i++) {
        assertInstanceOf(ProviderResult.Success.class, probe.expectMessageClass(ProviderResult.class, Duration.ofSeconds(30)));
      }

      List<Instant> arrivals = fake.calls().stream().map(FakeProviderServer.RecordedCall::at).sorted().toList();
      assertEquals(20, arrivals.size());
      Duration spread = Duration.between(arrivals.get(0), arrivals.get(19));
      assertTrue(spread.compareTo(SLOW_ANSWER) < 0,
          "all 20 calls reached the provider within " + spread + ", before any answer freed a connection");
    }
  }
}
