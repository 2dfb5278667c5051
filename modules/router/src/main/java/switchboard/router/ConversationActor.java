package switchboard.router;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityContext;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.Signal;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.RecoveryFailed;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import scala.Tuple2;
import scala.runtime.AbstractPartialFunction;
import scala.runtime.BoxedUnit;
import switchboard.providers.ChatMessage;
import switchboard.providers.ChatRequest;
import switchboard.providers.CborSerializable;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderResult;
import switchboard.providers.Stages;
import switchboard.providers.Usage;

/**
 * One conversation ({@code channel:conversation}), event-sourced: its history is the events
 * {@link TurnRecorded} (a user message and the answer to it) and {@link Cleared}, kept in the
 * gateway's store, so it survives passivation, a restart and a crash of the process. It answers its
 * messages strictly in arrival order, one request in flight at a time.
 *
 * <p>Exactly once: a message's turn is persisted before its answer is sent; a failed turn adds
 * nothing (the user is told what happened and sends again). The history sent with a message is the
 * last {@code history-length} user and assistant messages, never starting with an assistant
 * message; the system prompt, when set, is sent first and not counted. What is kept is bounded too:
 * a snapshot every {@code history-length / 2} turns (at least one) holds the trimmed history, two
 * snapshots are kept and the events behind the older one are deleted, so a long chat keeps at most
 * {@code 1.5 x history-length} events (3 snapshot intervals) and two snapshots, however long it runs.
 *
 * <p>After {@code idle-timeout} with nothing pending it tells its owner {@link Idle}; the owner stops
 * sending to it and replies {@link Stop} (the same handshake as Cluster Sharding passivation). If it
 * crashes, or the store fails a write, every message in flight or queued is answered
 * {@code unavailable} before it restarts, so nothing is left unanswered.
 */
public final class ConversationActor
    extends EventSourcedBehaviorWithEnforcedReplies<ConversationActor.Command, ConversationActor.Event, ConversationActor.History> {

  /**
   * What a conversation understands. In a cluster its commands and their replies cross nodes, so
   * they go through Pekko's Jackson CBOR serializer (the internal ones never leave the node).
   */
  public sealed interface Command extends CborSerializable {}

  /** The Cluster Sharding entity type of conversations; the entity id is the conversation id. */
  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "conversation");

  /**
   * A user's message; exactly one {@link RouteResult} goes to {@code replyTo}, in arrival order. With
   * an {@link Idempotency} key, a repeat within a day is answered with the first answer (no call, no
   * second turn), a repeat while the first is still being answered waits for that answer, and a
   * repeat with another text is {@link RouteResult.Rejected}.
   */
  public record Message(
      String text, Optional<Idempotency> idempotency, ActorRef<RouteResult> replyTo, Optional<Delivery> delivery)
      implements Command {
    public Message(String text, Optional<Idempotency> idempotency, ActorRef<RouteResult> replyTo) {
      this(text, idempotency, replyTo, Optional.empty());
    }

    public Message(String text, ActorRef<RouteResult> replyTo) {
      this(text, Optional.empty(), replyTo);
    }
  }

  /**
   * How a message sent through Cluster Sharding is tracked by its sender ({@link ShardedDelivery}):
   * the conversation tells {@code ack} it has the message (so the sender can watch it, and send again
   * should its node die), answers a repeat of {@code id} once (waiting for the first, or from the
   * answers it remembers: no second call, no second turn), and gives it at most
   * {@code remainingMillis}, the time the caller still waits (a duration, since the nodes' clocks
   * are not compared).
   */
  public record Delivery(String id, long remainingMillis, ActorRef<Accepted> ack) implements CborSerializable {}

  /** The conversation has message {@code id}: {@code conversation} will answer it. */
  public record Accepted(String id, ActorRef<Command> conversation) implements CborSerializable, ShardedDelivery.Mail {}

  /** Forget the history, after the messages that arrived before it are answered. */
  public record Reset(ActorRef<ConversationsActor.Done> replyTo) implements Command {}

  /** Reply with the stored history (answered turns only), oldest first. */
  public record GetHistory(ActorRef<Turns> replyTo) implements Command {}

  /**
   * The answer to {@link GetHistory}: the stored user and assistant messages, oldest first, and the
   * cluster node the conversation lives on ({@code host:port}; empty for a single gateway).
   */
  public record Turns(List<ChatMessage> messages, String node) implements CborSerializable {
    public Turns {
      messages = List.copyOf(messages);
      node = node == null ? "" : node;
    }
  }

  /** The owner's answer to {@link Idle}: nothing more will be sent; stop once nothing is pending. */
  public enum Stop implements Command {
    INSTANCE
  }

  /** What a conversation tells its owner. */
  public sealed interface ToOwner {
    String conversationId();

    ActorRef<Command> conversation();
  }

  /** Told to the owner when this conversation has been idle for {@code idle-timeout}. */
  public record Idle(String conversationId, ActorRef<Command> conversation) implements ToOwner {}

  /** Its history is read from the store: messages may come. */
  public record Ready(String conversationId, ActorRef<Command> conversation) implements ToOwner {}

  /**
   * The store failed it (its history could not be read, or a turn not written): it restarts with
   * backoff and says {@link Ready} again once the store answers; meanwhile the owner answers new
   * messages itself, since a message handed to a conversation whose recovery then fails is lost.
   */
  public record StoreFailed(String conversationId, ActorRef<Command> conversation) implements ToOwner {}

  private record Answered(Message message, RouteResult result) implements Command {}

  private enum IdleTimeout implements Command {
    INSTANCE
  }

  /** A persist is done: go on with the queue (a persist's callback cannot persist again itself). */
  private enum Continue implements Command {
    INSTANCE
  }

  /** What is stored: a turn answered, or the history cleared. */
  public sealed interface Event extends CborSerializable {}

  /**
   * A user message and the answer it got, from {@code provider}'s {@code model}, at {@code at} (epoch
   * milliseconds); {@code key} and {@code bodyHash} are its {@link Idempotency} (null without one).
   */
  public record TurnRecorded(
      String user, String assistant, String provider, String model, long at, String key, String bodyHash,
      String delivery)
      implements Event {}

  /** The history was cleared ({@code DELETE /api/conversations/{id}}, Telegram's /new). */
  public record Cleared() implements Event {}

  /** An answered turn's idempotency key, remembered for {@link Idempotency#KEPT}. */
  public record Remembered(String bodyHash, String reply, String provider, String model, long at)
      implements CborSerializable {
    RouteResult.Answered answer() {
      return new RouteResult.Answered(new ProviderResult.Success(provider, "", model, reply, Usage.NONE, 0), List.of());
    }
  }

  /**
   * The state and the snapshot: the recent history, trimmed to {@code history-length} messages, and
   * the idempotency keys of the last day's turns (at most {@link #MAX_KEYS}, the oldest dropped first).
   */
  public record History(List<ChatMessage> messages, Map<String, Remembered> keys, Map<String, Remembered> deliveries)
      implements CborSerializable {
    public static final History EMPTY = new History(List.of(), Map.of(), Map.of());

    /** Keys remembered per conversation at the most. */
    static final int MAX_KEYS = 1000;

    /** Delivery ids of the latest turns remembered (a sender sends again only what was in flight). */
    static final int MAX_DELIVERIES = 16;

    public History {
      messages = Transcript.of(messages);
      keys = keys == null ? Map.of() : Map.copyOf(keys);
      deliveries = deliveries == null ? Map.of() : Map.copyOf(deliveries);
    }

    History cleared() {
      return new History(List.of(), keys, deliveries);
    }

    private Map<String, Remembered> deliveriesWith(TurnRecorded turn) {
      if (turn.delivery() == null) {
        return deliveries;
      }
      List<Map.Entry<String, Remembered>> kept = new ArrayList<>(deliveries.entrySet().stream()
          .sorted(Comparator.comparingLong(e -> e.getValue().at())).toList());
      Map<String, Remembered> out = new LinkedHashMap<>();
      kept.subList(Math.max(0, kept.size() - MAX_DELIVERIES + 1), kept.size()).forEach(e -> out.put(e.getKey(), e.getValue()));
      out.put(turn.delivery(), new Remembered("", turn.assistant(), turn.provider(), turn.model(), turn.at()));
      return out;
    }

    History with(TurnRecorded turn, int limit) {
      Deque<ChatMessage> kept = new ArrayDeque<>(messages);
      kept.add(ChatMessage.user(turn.user()));
      kept.add(ChatMessage.assistant(turn.assistant()));
      while (kept.size() > limit) {
        kept.removeFirst();
      }
      while (!kept.isEmpty() && kept.peekFirst().role().equals("assistant")) {
        kept.removeFirst();
      }
      return new History(new ArrayList<>(kept), keysWith(turn), deliveriesWith(turn));
    }

    private Map<String, Remembered> keysWith(TurnRecorded turn) {
      if (turn.key() == null && keys.isEmpty()) {
        return keys;
      }
      long oldest = turn.at() - Idempotency.KEPT.toMillis();
      List<Map.Entry<String, Remembered>> fresh = new ArrayList<>(keys.entrySet().stream()
          .filter(e -> e.getValue().at() >= oldest)
          .sorted(Comparator.comparingLong(e -> e.getValue().at()))
          .toList());
      Map<String, Remembered> out = new LinkedHashMap<>();
      fresh.subList(Math.max(0, fresh.size() - MAX_KEYS + 1), fresh.size()).forEach(e -> out.put(e.getKey(), e.getValue()));
      if (turn.key() != null) {
        out.put(turn.key(), new Remembered(turn.bodyHash(), turn.assistant(), turn.provider(), turn.model(), turn.at()));
      }
      return out;
    }

    /** The answer remembered for {@code key}, if it is younger than a day at {@code now}. */
    Optional<Remembered> remembered(String key, long now) {
      return Optional.ofNullable(keys.get(key)).filter(r -> r.at() >= now - Idempotency.KEPT.toMillis());
    }
  }

  /**
   * A queued message or reset with the instant its answer is due: {@code request-timeout} after it
   * arrived, so time spent waiting behind earlier messages counts against it.
   */
  private record Pending(Command command, Instant deadline) {}

  private final String conversationId;
  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final ActorRef<RouterActor.Command> router;
  private final ConversationSettings settings;
  private final ActorRef<ToOwner> owner;
  /** Sized for the usual one message at a time (it grows when messages queue up). */
  private final Deque<Pending> queue = new ArrayDeque<>(1);
  /** Repeats of an idempotent message still being answered, by key: they get its answer too (made when first needed). */
  private Map<String, List<ActorRef<RouteResult>>> waiters;
  /**
   * When this conversation last became idle ({@link System#nanoTime}). The idle timer is not
   * restarted per message: it fires, and is started again for the rest of {@code idle-timeout} when
   * there was news meanwhile. A restart per message would leave a cancelled task in the scheduler
   * per message (docs/benchmark.md).
   */
  private long idleSince;
  private Message inFlight;
  /** The in-flight message's turn is being written: a failure now is the store's. */
  private boolean storing;
  private boolean stopRequested;

  /** The persistence id of conversation {@code conversationId} in the store. */
  public static PersistenceId persistenceId(String conversationId) {
    return PersistenceId.of("conversation", conversationId);
  }

  public static Behavior<Command> create(
      String conversationId,
      ActorRef<RouterActor.Command> router,
      ConversationSettings settings,
      ActorRef<ToOwner> owner) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> new ConversationActor(context, timers, conversationId, router, settings, owner)));
  }

  /**
   * Starts Cluster Sharding of conversations on this node (the entities of this node ask this node's
   * {@code router}) and returns the region every message for a conversation goes through, whichever
   * node its entity lives on. An idle entity passivates through its shard (which holds messages that
   * arrive meanwhile and starts the entity again for them); a crashing one restarts with backoff.
   */
  public static ActorRef<ShardingEnvelope<Command>> initSharding(
      ActorSystem<?> system, ActorRef<RouterActor.Command> router, ConversationSettings settings) {
    return ClusterSharding.get(system).init(
        Entity.of(ENTITY_KEY, entity -> sharded(entity, router, settings)).withStopMessage(Stop.INSTANCE));
  }

  private static Behavior<Command> sharded(
      EntityContext<Command> entity, ActorRef<RouterActor.Command> router, ConversationSettings settings) {
    Behavior<Command> conversation = Behaviors.setup(context -> {
      ActorRef<ToOwner> owner = context.spawn(passivator(entity.getShard()), "passivator");
      return create(entity.getEntityId(), router, settings, owner);
    });
    return Behaviors.supervise(conversation)
        .onFailure(SupervisorStrategy.restartWithBackoff(
            ConversationsActor.MIN_BACKOFF, ConversationsActor.MAX_BACKOFF, 0.2).withMaxRestarts(ConversationsActor.MAX_RESTARTS));
  }

  /**
   * A sharded conversation's owner: an idle conversation is passivated through its shard; the
   * store's news needs no one (the shard holds messages while the entity recovers).
   */
  private static Behavior<ToOwner> passivator(ActorRef<ClusterSharding.ShardCommand> shard) {
    return Behaviors.receive(ToOwner.class)
        .onMessage(Idle.class, idle -> {
          shard.tell(new ClusterSharding.Passivate<>(idle.conversation()));
          return Behaviors.same();
        })
        .onAnyMessage(news -> Behaviors.same())
        .build();
  }

  private ConversationActor(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      String conversationId,
      ActorRef<RouterActor.Command> router,
      ConversationSettings settings,
      ActorRef<ToOwner> owner) {
    super(persistenceId(conversationId));
    this.context = context;
    this.timers = timers;
    this.conversationId = conversationId;
    this.router = router;
    this.settings = settings;
    this.owner = owner;
    becameIdle();
  }

  @Override
  public History emptyState() {
    return History.EMPTY;
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(Math.max(1, settings.historyLength() / 2), 2).withDeleteEventsOnSnapshot();
  }

  /*
   * The three handlers are one function each rather than Pekko's handler builders: a builder keeps a
   * case object, two lambdas and a chain of partial functions per case in every conversation, about
   * 1 KB each of 100k active conversations (docs/benchmark.md).
   */

  @Override
  public CommandHandlerWithReply<Command, Event, History> commandHandler() {
    return this::onCommand;
  }

  private ReplyEffect<Event, History> onCommand(History history, Command command) {
    if (command instanceof Message message) {
      return enqueue(history, message);
    } else if (command instanceof Reset reset) {
      return enqueue(history, reset);
    } else if (command instanceof GetHistory get) {
      return onGetHistory(history, get);
    } else if (command instanceof Answered answered) {
      return onAnswered(history, answered);
    } else if (command == IdleTimeout.INSTANCE) {
      return onIdleTimeout(history, IdleTimeout.INSTANCE);
    } else if (command == Continue.INSTANCE) {
      return drain(history);
    } else {
      return onStop(history, (Stop) command);
    }
  }

  @Override
  public EventHandler<History, Event> eventHandler() {
    return this::onEvent;
  }

  private History onEvent(History history, Event event) {
    return event instanceof TurnRecorded turn ? history.with(turn, settings.historyLength()) : history.cleared();
  }

  @Override
  public SignalHandler<History> signalHandler() {
    return new SignalHandler<>(new Signals());
  }

  /** The signals a conversation handles, as the partial function Pekko's {@link SignalHandler} takes. */
  private final class Signals extends AbstractPartialFunction<Tuple2<History, Signal>, BoxedUnit> {
    @Override
    public boolean isDefinedAt(Tuple2<History, Signal> signal) {
      Signal s = signal._2();
      return s instanceof RecoveryCompleted || s instanceof RecoveryFailed || s instanceof PreRestart || s instanceof PostStop;
    }

    @Override
    public BoxedUnit apply(Tuple2<History, Signal> signal) {
      onSignal(signal._2());
      return BoxedUnit.UNIT;
    }
  }

  private void onSignal(Signal signal) {
    if (signal instanceof RecoveryCompleted) {
      owner.tell(new Ready(conversationId, context.getSelf()));
    } else if (signal instanceof RecoveryFailed failed) {
      storeFailed(failed.getFailure());
    } else {
      answerPendingAfterFailure();
    }
  }

  // ---- handlers --------------------------------------------------------------------------------

  private ReplyEffect<Event, History> enqueue(History history, Message message) {
    if (message.delivery().isPresent() && answeredAsDelivered(history, message, message.delivery().get())) {
      return Effect().noReply();
    }
    Optional<Idempotency> idempotency = message.idempotency();
    if (idempotency.isPresent() && answeredAsRepeat(history, message, idempotency.get())) {
      return Effect().noReply();
    }
    return enqueue(history, (Command) message);
  }

  /**
   * Answers a repeat of an idempotent message: from the remembered answer, by waiting for the first
   * one still being answered, or as a mismatch; false when the key is new.
   */
  private boolean answeredAsRepeat(History history, Message message, Idempotency idempotency) {
    Optional<Remembered> remembered = history.remembered(idempotency.key(), System.currentTimeMillis());
    Optional<Message> first = remembered.isPresent() ? Optional.empty() : pendingWith(idempotency.key());
    if (remembered.isEmpty() && first.isEmpty()) {
      return false;
    }
    String firstHash = remembered.map(Remembered::bodyHash).orElseGet(() -> first.get().idempotency().get().bodyHash());
    if (!firstHash.equals(idempotency.bodyHash())) {
      message.replyTo().tell(idempotency.mismatch());
    } else if (remembered.isPresent()) {
      message.replyTo().tell(remembered.get().answer());
    } else {
      waitFor(idempotency.key(), message.replyTo());
    }
    return true;
  }

  /**
   * Acknowledges a tracked message, and answers it here when it is a repeat: from the answer
   * remembered for its delivery id, or by waiting for the same message already in flight or queued.
   */
  private boolean answeredAsDelivered(History history, Message message, Delivery delivery) {
    delivery.ack().tell(new Accepted(delivery.id(), context.getSelf()));
    Remembered remembered = history.deliveries().get(delivery.id());
    if (remembered != null) {
      message.replyTo().tell(remembered.answer());
      return true;
    }
    boolean pending = pendingMessages()
        .anyMatch(m -> m.delivery().map(d -> d.id().equals(delivery.id())).orElse(false));
    if (pending) {
      waitFor(DELIVERY + delivery.id(), message.replyTo());
    }
    return pending;
  }

  /** Where repeats of a tracked message wait in {@link #waiters} (apart from idempotency keys). */
  private static final String DELIVERY = "delivery\u0000";

  /** The message in flight or queued with idempotency key {@code key}. */
  private Optional<Message> pendingWith(String key) {
    return pendingMessages().filter(m -> m.idempotency().map(i -> i.key().equals(key)).orElse(false)).findFirst();
  }

  /** The message in flight, then the queued ones, in order. */
  private java.util.stream.Stream<Message> pendingMessages() {
    return java.util.stream.Stream.concat(
            java.util.stream.Stream.ofNullable(inFlight), queue.stream().map(Pending::command))
        .filter(Message.class::isInstance)
        .map(Message.class::cast);
  }

  private void waitFor(String key, ActorRef<RouteResult> repeat) {
    if (waiters == null) {
      waiters = new HashMap<>();
    }
    waiters.computeIfAbsent(key, k -> new ArrayList<>()).add(repeat);
  }

  /** Tells {@code result} to the message's caller and to every repeat that waited for it. */
  private void answer(Message message, RouteResult result) {
    message.replyTo().tell(result);
    if (waiters != null) {
      message.idempotency().map(i -> waiters.remove(i.key())).ifPresent(list -> list.forEach(w -> w.tell(result)));
      message.delivery().map(d -> waiters.remove(DELIVERY + d.id())).ifPresent(list -> list.forEach(w -> w.tell(result)));
      if (waiters.isEmpty()) {
        waiters = null;
      }
    }
  }

  private ReplyEffect<Event, History> enqueue(History history, Command command) {
    Duration within = settings.requestTimeout();
    if (command instanceof Message m && m.delivery().isPresent()) {
      Duration remaining = Duration.ofMillis(Math.max(0, m.delivery().get().remainingMillis()));
      within = remaining.compareTo(within) < 0 ? remaining : within;
    }
    queue.add(new Pending(command, Instant.now().plus(within)));
    return drain(history);
  }

  private ReplyEffect<Event, History> onGetHistory(History history, GetHistory get) {
    return Effect().reply(get.replyTo(), new Turns(history.messages(), node()));
  }

  private ReplyEffect<Event, History> onAnswered(History history, Answered answered) {
    if (answered.message() != inFlight) {
      context.getLog().debug("conversation {}: ignoring an answer to a message already answered", conversationId);
      return Effect().noReply();
    }
    if (!(answered.result() instanceof RouteResult.Answered reply)) {
      inFlight = null;
      answer(answered.message(), answered.result());
      return drain(history);
    }
    storing = true;
    Optional<Idempotency> idempotency = answered.message().idempotency();
    TurnRecorded turn = new TurnRecorded(answered.message().text(), reply.text(), reply.provider(),
        reply.success().model(), System.currentTimeMillis(),
        idempotency.map(Idempotency::key).orElse(null), idempotency.map(Idempotency::bodyHash).orElse(null),
        answered.message().delivery().map(Delivery::id).orElse(null));
    return Effect()
        .persist(turn)
        .thenRun(after -> {
          storing = false;
          inFlight = null;
          answer(answered.message(), answered.result());
          context.getSelf().tell(Continue.INSTANCE);
        })
        .thenNoReply();
  }

  private ReplyEffect<Event, History> onIdleTimeout(History history, IdleTimeout timeout) {
    if (!isIdle()) {
      return Effect().noReply(); // started again when the queue is done
    }
    long left = settings.idleTimeout().toNanos() - (System.nanoTime() - idleSince);
    if (left > 0) {
      timers.startSingleTimer(IdleTimeout.INSTANCE, Duration.ofNanos(left));
      return Effect().noReply();
    }
    context.getLog().debug("conversation {} idle for {}, stopping", conversationId, settings.idleTimeout());
    owner.tell(new Idle(conversationId, context.getSelf()));
    return Effect().noReply();
  }

  /** Nothing is pending from now: the idle time counts from here. */
  private void becameIdle() {
    idleSince = System.nanoTime();
    if (!timers.isTimerActive(IdleTimeout.INSTANCE)) {
      timers.startSingleTimer(IdleTimeout.INSTANCE, settings.idleTimeout());
    }
  }

  private ReplyEffect<Event, History> onStop(History history, Stop stop) {
    stopRequested = true;
    return isIdle() ? Effect().stop().thenNoReply() : Effect().noReply();
  }

  // ---- the queue -------------------------------------------------------------------------------

  /**
   * Starts the next queued item when nothing is in flight: a message is sent to the router, a reset
   * persists {@link Cleared} (and the queue goes on after it); stops or arms the idle timer when done.
   */
  private ReplyEffect<Event, History> drain(History history) {
    while (inFlight == null && !queue.isEmpty()) {
      Pending next = queue.poll();
      if (next.command() instanceof Reset reset) {
        return Effect()
            .persist(new Cleared())
            .thenRun(after -> context.getSelf().tell(Continue.INSTANCE))
            .thenReply(reset.replyTo(), after -> ConversationsActor.Done.INSTANCE);
      }
      Message message = (Message) next.command();
      if (next.deadline().isAfter(Instant.now())) {
        send(message, next.deadline(), history);
      } else {
        answer(message, waitedTooLong());
      }
    }
    if (!isIdle()) {
      return Effect().noReply();
    }
    if (stopRequested) {
      return Effect().stop().thenNoReply();
    }
    becameIdle();
    return Effect().noReply();
  }

  private void send(Message message, Instant deadline, History history) {
    inFlight = message;
    List<ChatMessage> messages = new ArrayList<>(history.messages().size() + 2);
    settings.systemPrompt().ifPresent(prompt -> messages.add(ChatMessage.system(prompt)));
    messages.addAll(history.messages());
    messages.add(ChatMessage.user(message.text()));
    ChatRequest request = ChatRequest.of(conversationId, messages);
    Stages.<RouterActor.Command, RouteResult, Command>ask(
        context,
        router,
        Duration.between(Instant.now(), deadline).plus(ConversationSettings.ANSWER_MARGIN),
        replyTo -> new RouterActor.Route(request, Optional.of(deadline), replyTo),
        (result, failure) -> new Answered(message, result != null ? result : noAnswer()));
  }

  /** This node's {@code host:port} in a cluster, empty for a single gateway. */
  private String node() {
    org.apache.pekko.actor.Address address = context.getSystem().address();
    return address.host().isDefined() ? address.host().get() + ":" + address.port().get() : "";
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

  private void storeFailed(Throwable failure) {
    context.getLog().warn("conversation {}: the store failed: {}", conversationId, failure.toString());
    owner.tell(new StoreFailed(conversationId, context.getSelf()));
  }

  /** Nothing is left unanswered when this conversation fails: pending messages hear about it. */
  private void answerPendingAfterFailure() {
    int answered = 0;
    if (storing) {
      owner.tell(new StoreFailed(conversationId, context.getSelf()));
    }
    if (inFlight != null) {
      answer(inFlight, storing ? failed(ErrorTexts.storeUnavailable()) : internalError());
      inFlight = null;
      answered++;
    }
    for (Pending queued : queue) {
      Command pending = queued.command();
      if (pending instanceof Message message) {
        answer(message, internalError());
        answered++;
      } else if (pending instanceof Reset reset) {
        reset.replyTo().tell(ConversationsActor.Done.INSTANCE);
      }
    }
    queue.clear();
    if (answered > 0) {
      context.getLog()
          .warn("conversation {} failed: answered {} pending message(s) with an internal error", conversationId, answered);
    }
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
    return failed(ErrorTexts.internalError());
  }

  private static RouteResult failed(String text) {
    return new RouteResult.Failed(OutcomeKind.UNAVAILABLE, "", text, Optional.empty(), List.of());
  }
}
