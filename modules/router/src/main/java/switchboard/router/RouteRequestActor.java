package switchboard.router;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderActor;
import switchboard.providers.ProviderResult;

/**
 * One routed message: walks the providers in {@link RouterActor}'s order, answers the caller exactly
 * once and stops. Living only as long as its message keeps the router free of per-request state.
 */
final class RouteRequestActor extends AbstractBehavior<RouteRequestActor.Message> {

  sealed interface Message {}

  private record ProviderAnswered(ProviderResult result) implements Message {}

  private enum DeadlinePassed implements Message {
    INSTANCE
  }

  private final RouterActor.Route route;
  private final List<ProviderHandle> order;
  private final RouterSettings settings;
  private final RouterEvents events;
  private final long startNanos = System.nanoTime();
  private final Instant deadline;
  private final ActorRef<ProviderResult> adapter;
  private final List<ProviderResult.Failure> failures = new ArrayList<>();
  private int current = -1;

  static Behavior<Message> create(
      RouterActor.Route route, List<ProviderHandle> order, RouterSettings settings, RouterEvents events) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(timers -> new RouteRequestActor(context, timers, route, order, settings, events)));
  }

  private RouteRequestActor(
      ActorContext<Message> context,
      TimerScheduler<Message> timers,
      RouterActor.Route route,
      List<ProviderHandle> order,
      RouterSettings settings,
      RouterEvents events) {
    super(context);
    this.route = route;
    this.order = order;
    this.settings = settings;
    this.events = events;
    Instant now = Instant.now();
    Instant byTimeout = now.plus(settings.requestTimeout());
    this.deadline = route.deadline().filter(d -> d.isBefore(byTimeout)).orElse(byTimeout);
    this.adapter = context.messageAdapter(ProviderResult.class, ProviderAnswered::new);
    timers.startSingleTimer(DeadlinePassed.INSTANCE, Duration.between(now, deadline));
    askNext();
  }

  @Override
  public Receive<Message> createReceive() {
    return newReceiveBuilder()
        .onMessage(ProviderAnswered.class, this::onProviderAnswered)
        .onMessageEquals(DeadlinePassed.INSTANCE, this::onDeadlinePassed)
        .build();
  }

  private Behavior<Message> onProviderAnswered(ProviderAnswered answered) {
    if (answered.result() instanceof ProviderResult.Success success) {
      return finish(new RouteResult.Answered(success, List.copyOf(failures)));
    }
    if (answered.result() instanceof ProviderResult.Streaming streaming) {
      return finish(new RouteResult.Streaming(streaming, List.copyOf(failures)));
    }
    return onFailure((ProviderResult.Failure) answered.result());
  }

  private Behavior<Message> onFailure(ProviderResult.Failure failure) {
    failures.add(failure);
    if (!movesOn(failure)) {
      return finish(failed(failure));
    }
    if (current + 1 >= order.size()) {
      return finish(failed(RouterActor.mostMeaningful(failures)));
    }
    String from = order.get(current).name();
    String to = order.get(current + 1).name();
    getContext().getLog().info("fallback {} -> {} ({}) for {}", from, to, failure.kind().wire(), route.request().origin());
    events.fallback(from, to, failure.kind());
    askNext();
    return this;
  }

  private Behavior<Message> onDeadlinePassed() {
    String asking = order.get(current).name();
    return finish(
        new RouteResult.Failed(
            OutcomeKind.UNAVAILABLE,
            asking,
            ErrorTexts.timedOut(asking, settings.requestTimeout()),
            Optional.empty(),
            List.copyOf(failures)));
  }

  /**
   * A failure moves the message on to the next provider when its kind is listed in
   * {@code fallback.on}, or when the provider made no call at all: an open breaker (or a full
   * throttle queue) means the provider is not eligible now, whatever kind opened it, so an
   * {@code auth_failed} primary ends the one message that met the refusal and later messages are
   * served by the next provider until an operator fixes the key.
   */
  private boolean movesOn(ProviderResult.Failure failure) {
    return failure.calls() == 0 || settings.fallbackOn().contains(failure.kind());
  }

  private void askNext() {
    current++;
    order.get(current).ref().tell(new ProviderActor.Complete(route.request(), deadline, adapter));
  }

  private RouteResult.Failed failed(ProviderResult.Failure named) {
    return new RouteResult.Failed(
        named.kind(), named.provider(), ErrorTexts.of(named), named.retryAfter(), List.copyOf(failures));
  }

  private Behavior<Message> finish(RouteResult result) {
    events.routed(result, Duration.ofNanos(System.nanoTime() - startNanos));
    route.replyTo().tell(result);
    return Behaviors.stopped();
  }
}
