package switchboard.router;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import switchboard.providers.ChatMessage;
import switchboard.providers.ChatRequest;
import switchboard.providers.OutcomeKind;

/**
 * One conversation ({@code channel:conversation}): keeps its recent history so every request carries
 * the context, and answers its messages strictly in arrival order, one request in flight at a time.
 * All of its state lives here and is reachable only by messages, so it can become a Cluster Sharding
 * entity (and its history durable) without changing its callers.
 *
 * <p>History: the last {@code history-length} user and assistant messages of answered turns, never
 * starting with an assistant message; a failed turn adds nothing (the user is told what happened and
 * sends again). The system prompt, when set, is sent first and not counted.
 *
 * <p>After {@code idle-timeout} with nothing pending it tells its owner {@link Idle}; the owner stops
 * sending to it and replies {@link Stop} (the same handshake as Cluster Sharding passivation, so no
 * message is sent to a conversation that is already gone). If it crashes, every message in flight or
 * queued is answered {@code unavailable} ("internal error, please send your message again") before it
 * restarts, so nothing is left unanswered.
 */
public final class ConversationActor extends AbstractBehavior<ConversationActor.Command> {

  public sealed interface Command {}

  /** A user's message; exactly one {@link RouteResult} goes to {@code replyTo}, in arrival order. */
  public record Message(String text, ActorRef<RouteResult> replyTo) implements Command {}

  /** Forget the history, after the messages that arrived before it are answered. */
  public record Reset(ActorRef<ConversationsActor.Done> replyTo) implements Command {}

  /** Throw, to exercise supervision (tests and chaos drills). */
  public enum Crash implements Command {
    INSTANCE
  }

  /** The owner's answer to {@link Idle}: nothing more will be sent; stop once nothing is pending. */
  public enum Stop implements Command {
    INSTANCE
  }

  /** Told to the owner when this conversation has been idle for {@code idle-timeout}. */
  public record Idle(String conversationId, ActorRef<Command> conversation) {}

  private record Answered(Message message, RouteResult result) implements Command {}

  /**
   * A queued message or reset with the instant its answer is due: {@code request-timeout} after it
   * arrived, so time spent waiting behind earlier messages counts against it and the channel that
   * waits for the answer is never outlived.
   */
  private record Pending(Command command, Instant deadline) {}

  private enum IdleTimeout implements Command {
    INSTANCE
  }

  private final String conversationId;
  private final ActorRef<RouterActor.Command> router;
  private final ConversationSettings settings;
  private final ActorRef<Idle> owner;
  private final TimerScheduler<Command> timers;
  private final Deque<ChatMessage> history = new ArrayDeque<>();
  private final Deque<Pending> queue = new ArrayDeque<>();
  private Message inFlight;
  private boolean stopRequested;

  public static Behavior<Command> create(
      String conversationId,
      ActorRef<RouterActor.Command> router,
      ConversationSettings settings,
      ActorRef<Idle> owner) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> new ConversationActor(context, timers, conversationId, router, settings, owner)));
  }

  private ConversationActor(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      String conversationId,
      ActorRef<RouterActor.Command> router,
      ConversationSettings settings,
      ActorRef<Idle> owner) {
    super(context);
    this.timers = timers;
    this.conversationId = conversationId;
    this.router = router;
    this.settings = settings;
    this.owner = owner;
    timers.startSingleTimer(IdleTimeout.INSTANCE, settings.idleTimeout());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Message.class, this::enqueue)
        .onMessage(Reset.class, this::enqueue)
        .onMessage(Answered.class, this::onAnswered)
        .onMessageEquals(IdleTimeout.INSTANCE, this::onIdleTimeout)
        .onMessageEquals(Stop.INSTANCE, this::onStop)
        .onMessageEquals(Crash.INSTANCE, this::onCrash)
        .onSignal(PreRestart.class, signal -> answerPendingAfterFailure())
        .onSignal(PostStop.class, signal -> answerPendingAfterFailure())
        .build();
  }

  private Behavior<Command> enqueue(Command command) {
    timers.cancel(IdleTimeout.INSTANCE);
    queue.add(new Pending(command, Instant.now().plus(settings.requestTimeout())));
    return drain();
  }

  private Behavior<Command> onAnswered(Answered answered) {
    if (answered.message() != inFlight) {
      getContext().getLog().debug("conversation {}: ignoring an answer to a message already answered", conversationId);
      return this;
    }
    inFlight = null;
    answered.message().replyTo().tell(answered.result());
    if (answered.result() instanceof RouteResult.Answered reply) {
      remember(answered.message().text(), reply.text());
    }
    return drain();
  }

  private Behavior<Command> onIdleTimeout() {
    if (isIdle()) {
      getContext().getLog().debug("conversation {} idle for {}, stopping", conversationId, settings.idleTimeout());
      owner.tell(new Idle(conversationId, getContext().getSelf()));
    }
    return this;
  }

  private Behavior<Command> onStop() {
    stopRequested = true;
    return isIdle() ? Behaviors.stopped() : this;
  }

  private Behavior<Command> onCrash() {
    throw new IllegalStateException("crash drill in conversation " + conversationId);
  }

  /** Starts the next queued item when nothing is in flight; stops or arms the idle timer when done. */
  private Behavior<Command> drain() {
    while (inFlight == null && !queue.isEmpty()) {
      Pending next = queue.poll();
      if (next.command() instanceof Reset reset) {
        history.clear();
        reset.replyTo().tell(ConversationsActor.Done.INSTANCE);
      } else if (next.deadline().isAfter(Instant.now())) {
        send((Message) next.command(), next.deadline());
      } else {
        ((Message) next.command()).replyTo().tell(waitedTooLong());
      }
    }
    if (!isIdle()) {
      return this;
    }
    if (stopRequested) {
      return Behaviors.stopped();
    }
    timers.startSingleTimer(IdleTimeout.INSTANCE, settings.idleTimeout());
    return this;
  }

  private void send(Message message, Instant deadline) {
    inFlight = message;
    List<ChatMessage> messages = new ArrayList<>(history.size() + 2);
    settings.systemPrompt().ifPresent(prompt -> messages.add(ChatMessage.system(prompt)));
    messages.addAll(history);
    messages.add(ChatMessage.user(message.text()));
    ChatRequest request = ChatRequest.of(conversationId, messages);
    getContext()
        .ask(
            RouteResult.class,
            router,
            Duration.between(Instant.now(), deadline).plus(ConversationSettings.ANSWER_MARGIN),
            replyTo -> new RouterActor.Route(request, Optional.of(deadline), replyTo),
            (result, failure) -> new Answered(message, result != null ? result : noAnswer()));
  }

  private void remember(String userText, String assistantText) {
    history.add(ChatMessage.user(userText));
    history.add(ChatMessage.assistant(assistantText));
    while (history.size() > settings.historyLength()) {
      history.removeFirst();
    }
    while (!history.isEmpty() && history.peekFirst().role().equals("assistant")) {
      history.removeFirst();
    }
  }

  private boolean isIdle() {
    return inFlight == null && queue.isEmpty();
  }

  private RouteResult noAnswer() {
    return new RouteResult.Failed(
        OutcomeKind.UNAVAILABLE,
        "",
        ErrorTexts.timedOut("", settings.answerTimeout()),
        Optional.empty(),
        List.of());
  }

  /** Nothing is left unanswered when this conversation fails: pending messages hear about it. */
  private Behavior<Command> answerPendingAfterFailure() {
    int answered = 0;
    if (inFlight != null) {
      inFlight.replyTo().tell(internalError());
      inFlight = null;
      answered++;
    }
    for (Pending queued : queue) {
      Command pending = queued.command();
      if (pending instanceof Message message) {
        message.replyTo().tell(internalError());
        answered++;
      } else if (pending instanceof Reset reset) {
        reset.replyTo().tell(ConversationsActor.Done.INSTANCE);
      }
    }
    queue.clear();
    if (answered > 0) {
      getContext()
          .getLog()
          .warn("conversation {} failed: answered {} pending message(s) with an internal error", conversationId, answered);
    }
    return this;
  }

  private RouteResult waitedTooLong() {
    return new RouteResult.Failed(
        OutcomeKind.UNAVAILABLE,
        "",
        ErrorTexts.waitedBehindEarlierMessages(settings.requestTimeout()),
        Optional.empty(),
        List.of());
  }

  private static RouteResult internalError() {
    return new RouteResult.Failed(
        OutcomeKind.UNAVAILABLE, "", ErrorTexts.internalError(), Optional.empty(), List.of());
  }
}
