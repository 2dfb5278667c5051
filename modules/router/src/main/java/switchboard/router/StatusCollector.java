package switchboard.router;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import switchboard.providers.BreakerState;
import switchboard.providers.ProviderActor;
import switchboard.providers.ProviderStatus;

/**
 * Gathers one status per provider for a {@link RouterActor.GetStatus}, so a provider that hangs
 * shows up as {@code not responding} instead of hanging the status page.
 */
final class StatusCollector extends AbstractBehavior<StatusCollector.Message> {

  /** The reason shown for a provider that did not answer in time. */
  static final String NOT_RESPONDING = "not responding";

  sealed interface Message {}

  private record Collected(int index, ProviderStatus status) implements Message {}

  private final ActorRef<List<ProviderStatus>> replyTo;
  private final ProviderStatus[] statuses;
  private int missing;

  static Behavior<Message> create(
      List<ProviderHandle> providers, ActorRef<List<ProviderStatus>> replyTo, Duration timeout) {
    return Behaviors.setup(context -> new StatusCollector(context, providers, replyTo, timeout));
  }

  private StatusCollector(
      ActorContext<Message> context,
      List<ProviderHandle> providers,
      ActorRef<List<ProviderStatus>> replyTo,
      Duration timeout) {
    super(context);
    this.replyTo = replyTo;
    this.statuses = new ProviderStatus[providers.size()];
    this.missing = providers.size();
    for (int i = 0; i < providers.size(); i++) {
      int index = i;
      ProviderHandle handle = providers.get(i);
      context.ask(
          ProviderStatus.class,
          handle.ref(),
          timeout,
          ProviderActor.GetStatus::new,
          (status, error) -> new Collected(index, status != null ? status : notResponding(handle)));
    }
  }

  @Override
  public Receive<Message> createReceive() {
    return newReceiveBuilder().onMessage(Collected.class, this::onCollected).build();
  }

  private Behavior<Message> onCollected(Collected collected) {
    statuses[collected.index()] = collected.status();
    missing--;
    if (missing > 0) {
      return this;
    }
    replyTo.tell(List.copyOf(Arrays.asList(statuses)));
    return Behaviors.stopped();
  }

  private static ProviderStatus notResponding(ProviderHandle handle) {
    return new ProviderStatus(
        handle.name(),
        "unknown",
        "",
        handle.priority(),
        handle.fallbackOnly(),
        BreakerState.OPEN,
        Optional.of(NOT_RESPONDING),
        Optional.empty(),
        List.of(),
        ProviderStatus.Accounting.ZERO,
        ProviderStatus.Throttle.NONE);
  }
}
