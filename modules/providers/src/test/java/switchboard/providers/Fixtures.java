package switchboard.providers;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import switchboard.providers.config.BreakerConfig;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.config.QuotaReset;
import switchboard.providers.config.RetryConfig;

/** Shared test helpers: configs with small timings, asking a provider actor, recording events. */
final class Fixtures {
  private Fixtures() {}

  static ProviderConfig config(String name, ProviderConfig.Kind kind, String baseUrl, List<String> keys, Duration timeout) {
    return config(name, kind, baseUrl, keys, timeout, false, ProviderConfig.Simulation.NONE);
  }

  static ProviderConfig config(
      String name, ProviderConfig.Kind kind, String baseUrl, List<String> keys, Duration timeout,
      boolean authErrorsMeanQuota, ProviderConfig.Simulation simulation) {
    return new ProviderConfig(
        name, kind, baseUrl, kind.defaultModel(), 1, keys, timeout, 0, 0, new QuotaReset.Daily(), false,
        authErrorsMeanQuota, ProviderConfig.Price.UNKNOWN, ProviderConfig.Budget.NONE, 1024,
        ProviderConfig.KeyStrategy.ROUND_ROBIN, 100, ProviderConfig.DEFAULT_MAX_CONNECTIONS, simulation,
        ProviderConfig.DEFAULT_STREAM_IDLE_TIMEOUT);
  }

  /** Retries with small backoffs and no jitter, so lower bounds are exact. */
  static RetryConfig retry(int maxRetries, Duration base) {
    return new RetryConfig(maxRetries, base, Duration.ofSeconds(10), 0.0, true, Duration.ofSeconds(10));
  }

  static final BreakerConfig NO_UNAVAILABLE_BREAKER =
      new BreakerConfig(1000, Duration.ofSeconds(10), Duration.ofMinutes(5));

  static ChatRequest request(String text) {
    return ChatRequest.of("test:1", List.of(ChatMessage.user(text)));
  }

  static ProviderResult ask(ActorTestKit kit, ActorRef<ProviderActor.Command> actor, ChatRequest request) {
    return ask(kit, actor, request, Duration.ofSeconds(30));
  }

  static ProviderResult ask(
      ActorTestKit kit, ActorRef<ProviderActor.Command> actor, ChatRequest request, Duration deadline) {
    TestProbe<ProviderResult> probe = kit.createTestProbe(ProviderResult.class);
    actor.tell(new ProviderActor.Complete(request, Instant.now().plus(deadline), probe.getRef()));
    ProviderResult result = probe.expectMessageClass(ProviderResult.class, Duration.ofSeconds(20));
    probe.expectNoMessage(Duration.ofMillis(50));
    return result;
  }

  static ProviderStatus status(ActorTestKit kit, ActorRef<ProviderActor.Command> actor) {
    TestProbe<ProviderStatus> probe = kit.createTestProbe(ProviderStatus.class);
    actor.tell(new ProviderActor.GetStatus(probe.getRef()));
    return probe.expectMessageClass(ProviderStatus.class, Duration.ofSeconds(10));
  }

  /** Records what the actor reports. */
  static final class RecordingEvents implements ProviderEvents {
    final List<CallRecord> calls = new CopyOnWriteArrayList<>();
    final List<BreakerChange> changes = new CopyOnWriteArrayList<>();
    final List<String> refused = new CopyOnWriteArrayList<>();
    final List<Duration> retries = new CopyOnWriteArrayList<>();

    @Override
    public void call(CallRecord record) {
      calls.add(record);
    }

    @Override
    public void breakerChanged(BreakerChange change) {
      changes.add(change);
    }

    @Override
    public void retryScheduled(String provider, OutcomeKind kind, Duration delay) {
      retries.add(delay);
    }

    @Override
    public void refused(String provider, OutcomeKind kind, String reason) {
      refused.add(kind.wire() + ": " + reason);
    }
  }
}
