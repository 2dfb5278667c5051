package switchboard.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.providers.Fixtures.ask;
import static switchboard.providers.Fixtures.request;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import switchboard.providers.config.ProviderConfig;

/** The in-process provider: deterministic answers after its latency, and its configured faults. */
@Timeout(60)
class SimulatedProviderTest {
  private static final ActorTestKit KIT = ActorTestKit.create();

  @AfterAll
  static void stopKit() {
    KIT.shutdownTestKit();
  }

  private static ActorRef<ProviderActor.Command> simulated(String name, ProviderConfig.Simulation sim, int maxRetries) {
    ProviderConfig config = Fixtures.config(name, ProviderConfig.Kind.SIMULATED, "", List.of(), Duration.ofSeconds(5),
        false, sim);
    return KIT.spawn(ProviderActor.create(config, Fixtures.retry(maxRetries, Duration.ofMillis(50)),
        Fixtures.NO_UNAVAILABLE_BREAKER, ProviderEvents.NONE, Optional.empty()));
  }

  @Test
  void answersAfterItsLatencyAndRunsOutOfCreditsAfterN() {
    Fixtures.RecordingEvents events = new Fixtures.RecordingEvents();
    ProviderConfig config = Fixtures.config("sim", ProviderConfig.Kind.SIMULATED, "", List.of(), Duration.ofSeconds(5),
        false, new ProviderConfig.Simulation(2, 0, 0, Duration.ofMillis(200), Duration.ofSeconds(1)));
    ActorRef<ProviderActor.Command> actor = KIT.spawn(ProviderActor.create(config, Fixtures.retry(3, Duration.ofMillis(50)),
        Fixtures.NO_UNAVAILABLE_BREAKER, events, Optional.empty()));

    long start = System.nanoTime();
    ProviderResult.Success first = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("hello")));
    assertTrue((System.nanoTime() - start) / 1_000_000 >= 200, "latency is waited on a timer");
    assertEquals("[sim #1] You said: hello", first.text());
    assertEquals("sim#1", first.keyAlias());
    assertTrue(first.usage().total() > 0);
    assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("two")));
    ProviderResult.Failure third = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("three")));
    assertEquals(OutcomeKind.OUT_OF_CREDITS, third.kind());
    assertEquals(1, third.calls());
    ProviderResult.Failure fourth = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("four")));
    assertEquals(OutcomeKind.OUT_OF_CREDITS, fourth.kind());
    assertEquals(0, fourth.calls());
    assertEquals(3, events.calls.size());
  }

  @Test
  void everyNthMessageIsRateLimitedThroughItsRetries() {
    ActorRef<ProviderActor.Command> actor =
        simulated("limited", new ProviderConfig.Simulation(0, 2, 0, Duration.ofMillis(10), Duration.ofMillis(100)), 1);
    assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("1")));
    ProviderResult.Failure second = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("2")));
    assertEquals(OutcomeKind.RATE_LIMITED, second.kind());
    assertEquals(2, second.calls());
    assertEquals(Optional.of(Duration.ofMillis(100)), second.retryAfter());
    assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("3")));
  }

  @Test
  void everyNthMessageIsUnavailable() {
    ActorRef<ProviderActor.Command> actor =
        simulated("flaky", new ProviderConfig.Simulation(0, 0, 3, Duration.ofMillis(10), Duration.ofSeconds(1)), 2);
    assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("1")));
    assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("2")));
    ProviderResult.Failure third = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("3")));
    assertEquals(OutcomeKind.UNAVAILABLE, third.kind());
    assertEquals(503, third.status());
    assertEquals(3, third.calls());
  }
}
