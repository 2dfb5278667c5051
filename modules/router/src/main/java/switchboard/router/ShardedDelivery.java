package switchboard.router;

import java.time.Duration;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;

/**
 * One user message on its way to its conversation's entity, wherever in the cluster it lives, and
 * its one answer on the way back. A message sent to a node that has just died is lost by the
 * network, and an entity that dies takes its queue with it; so this actor, on the asking node:
 *
 * <ul>
 *   <li>has the message sent (first by its owner, so messages leave in arrival order) with a
 *       {@link ConversationActor.Delivery} id, and waits for the entity's
 *       {@link ConversationActor.Accepted}, sending again every {@link #RESEND} until it comes (while
 *       the dead node is being downed and its shards move, a few seconds);
 *   <li>watches the entity that accepted it, and sends again at once when that entity stops without
 *       answering (its node died, or it gave up after repeated failures);
 *   <li>passes the first answer to the caller and stops: exactly one answer, however often it sent.
 * </ul>
 *
 * The entity recognises the id of a repeat and answers it once, from the turn it already stored or
 * by waiting for the same message already in its queue, so a repeat never costs a second provider
 * call or a second turn. Each sending carries the time the caller still waits, as a duration.
 */
public final class ShardedDelivery extends AbstractBehavior<ShardedDelivery.Mail> {

  /** How often a message not yet accepted is sent again. */
  static final Duration RESEND = Duration.ofSeconds(2);

  /**
   * What a delivery receives: the entity's {@link RouteResult} and {@link ConversationActor.Accepted}
   * (sent to it directly, so its owner can make the first sending in arrival order with this actor's
   * reference) and its own timers.
   */
  public interface Mail {}

  private sealed interface Command extends Mail {}

  private record EntityGone(ActorRef<ConversationActor.Command> entity) implements Command {}

  private enum Resend implements Command {
    INSTANCE
  }

  private enum GiveUp implements Command {
    INSTANCE
  }

  private final TimerScheduler<Mail> timers;
  private final ActorRef<ShardingEnvelope<ConversationActor.Command>> region;
  private final ConversationsActor.UserMessage message;
  private final String id;
  private final long deadlineNanos;
  private Optional<ActorRef<ConversationActor.Command>> watched = Optional.empty();
  private int sent = 1;

  /**
   * Tracks {@code message}, whose first sending its owner makes ({@link #firstSending}), for at most
   * {@code within} (the caller's own timeout answers it after that).
   */
  static Behavior<Mail> create(
      ActorRef<ShardingEnvelope<ConversationActor.Command>> region, ConversationsActor.UserMessage message, String id,
      Duration within) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new ShardedDelivery(context, timers, region, message, id, within)));
  }

  /** The first sending of {@code message}, tracked by {@code delivery}: made by the owner, in arrival order. */
  static ShardingEnvelope<ConversationActor.Command> firstSending(
      ConversationsActor.UserMessage message, String id, Duration within, ActorRef<Mail> delivery) {
    return sending(message, id, within.toMillis(), delivery);
  }

  private static ShardingEnvelope<ConversationActor.Command> sending(
      ConversationsActor.UserMessage message, String id, long remainingMillis, ActorRef<Mail> delivery) {
    return new ShardingEnvelope<>(message.conversationId(), new ConversationActor.Message(
        message.text(), message.idempotency(), delivery.narrow(),
        Optional.of(new ConversationActor.Delivery(id, remainingMillis, delivery.narrow()))));
  }

  private ShardedDelivery(
      ActorContext<Mail> context,
      TimerScheduler<Mail> timers,
      ActorRef<ShardingEnvelope<ConversationActor.Command>> region,
      ConversationsActor.UserMessage message,
      String id,
      Duration within) {
    super(context);
    this.timers = timers;
    this.region = region;
    this.message = message;
    this.id = id;
    this.deadlineNanos = System.nanoTime() + within.toNanos();
    timers.startSingleTimer(GiveUp.INSTANCE, within);
    timers.startSingleTimer(Resend.INSTANCE, RESEND);
  }

  @Override
  public Receive<Mail> createReceive() {
    return newReceiveBuilder()
        .onMessage(RouteResult.class, this::onAnswer)
        .onMessage(ConversationActor.Accepted.class, this::onAccepted)
        .onMessage(EntityGone.class, this::onEntityGone)
        .onMessageEquals(Resend.INSTANCE, this::onResend)
        .onMessageEquals(GiveUp.INSTANCE, this::onGiveUp)
        .build();
  }

  private Behavior<Mail> onAnswer(RouteResult answer) {
    message.replyTo().tell(answer);
    return Behaviors.stopped();
  }

  private Behavior<Mail> onAccepted(ConversationActor.Accepted accepted) {
    timers.cancel(Resend.INSTANCE);
    ActorRef<ConversationActor.Command> entity = accepted.conversation();
    if (watched.filter(entity::equals).isEmpty()) {
      watched.ifPresent(getContext()::unwatch);
      getContext().watchWith(entity, new EntityGone(entity));
      watched = Optional.of(entity);
    }
    return this;
  }

  private Behavior<Mail> onEntityGone(EntityGone gone) {
    if (watched.filter(gone.entity()::equals).isPresent()) {
      watched = Optional.empty();
      getContext().getLog().info("conversation {}: its entity stopped before answering; sending the message again",
          message.conversationId());
      send();
    }
    return this;
  }

  private Behavior<Mail> onResend() {
    send();
    return this;
  }

  /** The caller has stopped waiting (its own timeout answers it): nothing more to do. */
  private Behavior<Mail> onGiveUp() {
    return Behaviors.stopped();
  }

  private void send() {
    long remaining = Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000);
    sent++;
    getContext().getLog().debug("conversation {}: sending message {} again ({})", message.conversationId(), id, sent);
    region.tell(sending(message, id, remaining, getContext().getSelf()));
    timers.startSingleTimer(Resend.INSTANCE, RESEND);
  }
}
