package switchboard.router;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Optional;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import switchboard.providers.Decorator;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BackoffSupervisorStrategy;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import switchboard.providers.OutcomeKind;

/**
 * Spawns one {@link ConversationActor} per conversation id ({@code channel:conversation}, e.g.
 * {@code telegram:12345} or {@code http:abc}) on demand and forwards each message to it; the
 * conversation keeps its recent history (durably, in the gateway's store) and answers its messages
 * in arrival order.
 *
 * <p>A crashing conversation is restarted with backoff (a bounded number of times in a row) without
 * touching the others. An idle conversation asks to be stopped; messages for it that arrive while it
 * stops are held and handed to its successor, so none is lost at the idle edge. This is the part that
 * Cluster Sharding will replace when conversations are spread over nodes.
 */
public final class ConversationsActor extends AbstractBehavior<ConversationsActor.Command> {

  static final Duration MIN_BACKOFF = Duration.ofMillis(100);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(2);
  static final int MAX_RESTARTS = 10;
  /** One strategy for every conversation, not one per child (it is immutable; each child's count is its own). */
  private static final BackoffSupervisorStrategy RESTART =
      SupervisorStrategy.restartWithBackoff(MIN_BACKOFF, MAX_BACKOFF, 0.2).withMaxRestarts(MAX_RESTARTS);

  public sealed interface Command {}

  /** A user's message in conversation {@code conversationId}; exactly one {@link RouteResult} goes back. */
  public record UserMessage(
      String conversationId, String text, Optional<Idempotency> idempotency, ActorRef<RouteResult> replyTo)
      implements Command {
    /** A message without an {@code Idempotency-Key}. */
    public UserMessage(String conversationId, String text, ActorRef<RouteResult> replyTo) {
      this(conversationId, text, Optional.empty(), replyTo);
    }
  }

  /**
   * Forget the history of {@code conversationId} (Telegram's /new, {@code DELETE /api/conversations/{id}})
   * in the store, after the messages that arrived before it; {@code replyTo} hears when done.
   */
  public record Reset(String conversationId, ActorRef<Done> replyTo) implements Command {}

  /**
   * Reply with the stored history of {@code conversationId} (no messages when it has none), oldest
   * first, and the node its conversation lives on (in a cluster).
   */
  public record GetHistory(String conversationId, ActorRef<ConversationActor.Turns> replyTo) implements Command {}

  /** Reply with the ids of the conversations currently alive (for status, metrics and tests). */
  public record GetActive(ActorRef<Set<String>> replyTo) implements Command {}

  /** The acknowledgement of a {@link Reset}. */
  public enum Done implements switchboard.providers.CborSerializable {
    INSTANCE
  }

  private record FromConversation(ConversationActor.ToOwner news) implements Command {}

  private record ConversationStopped(String conversationId, ActorRef<ConversationActor.Command> ref)
      implements Command {}

  private final ActorRef<RouterActor.Command> router;
  private final ConversationSettings settings;
  private final ActorRef<ConversationActor.ToOwner> ownerAdapter;
  private final Map<String, ActorRef<ConversationActor.Command>> live = new HashMap<>();
  /** Messages for conversations that are stopping, handed to a fresh one once the old one is gone. */
  private final Map<String, List<ConversationActor.Command>> held = new HashMap<>();
  /** Messages for conversations that are still reading their history from the store. */
  private final Map<String, List<ConversationActor.Command>> recovering = new HashMap<>();
  /** Conversations the store failed and that are not ready again: their messages are answered here. */
  private final Set<String> unavailable = new HashSet<>();

  public static Behavior<Command> create(ActorRef<RouterActor.Command> router, ConversationSettings settings) {
    return Behaviors.setup(context -> new ConversationsActor(context, router, settings));
  }

  private ConversationsActor(
      ActorContext<Command> context, ActorRef<RouterActor.Command> router, ConversationSettings settings) {
    super(context);
    this.router = router;
    this.settings = settings;
    this.ownerAdapter = context.messageAdapter(ConversationActor.ToOwner.class, FromConversation::new);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(UserMessage.class, this::onUserMessage)
        .onMessage(Reset.class, this::onReset)
        .onMessage(GetHistory.class, this::onGetHistory)
        .onMessage(GetActive.class, this::onGetActive)
        .onMessage(FromConversation.class, this::onFromConversation)
        .onMessage(ConversationStopped.class, this::onConversationStopped)
        .build();
  }

  private Behavior<Command> onUserMessage(UserMessage message) {
    deliver(message.conversationId(), new ConversationActor.Message(message.text(), message.idempotency(), message.replyTo()));
    return this;
  }

  private Behavior<Command> onReset(Reset reset) {
    deliver(reset.conversationId(), new ConversationActor.Reset(reset.replyTo()));
    return this;
  }

  private Behavior<Command> onGetHistory(GetHistory get) {
    deliver(get.conversationId(), new ConversationActor.GetHistory(get.replyTo()));
    return this;
  }

  private Behavior<Command> onGetActive(GetActive request) {
    request.replyTo().tell(Set.copyOf(live.keySet()));
    return this;
  }

  private Behavior<Command> onFromConversation(FromConversation from) {
    ConversationActor.ToOwner news = from.news();
    if (live.get(news.conversationId()) == null || !live.get(news.conversationId()).equals(news.conversation())) {
      return this;
    }
    if (news instanceof ConversationActor.Idle idle) {
      passivate(idle);
    } else if (news instanceof ConversationActor.Ready ready) {
      ready(ready.conversationId(), ready.conversation());
    } else {
      storeFailed(news.conversationId());
    }
    return this;
  }

  private void passivate(ConversationActor.Idle idle) {
    live.remove(idle.conversationId());
    recovering.remove(idle.conversationId());
    held.put(idle.conversationId(), new ArrayList<>());
    idle.conversation().tell(ConversationActor.Stop.INSTANCE);
  }

  /** The conversation has its history: what waited for it goes to it, in order. */
  private void ready(String id, ActorRef<ConversationActor.Command> conversation) {
    unavailable.remove(id);
    List<ConversationActor.Command> waiting = recovering.remove(id);
    if (waiting != null) {
      waiting.forEach(conversation::tell);
    }
  }

  /**
   * The store failed the conversation: until it is ready again, its messages are answered here with
   * the store's error (those already waiting too), not handed to an actor whose recovery may fail.
   */
  private void storeFailed(String id) {
    List<ConversationActor.Command> waiting = recovering.put(id, new ArrayList<>());
    if (waiting != null) {
      waiting.forEach(ConversationsActor::answerStoreUnavailable);
    }
    unavailable.add(id);
  }

  private static void answerStoreUnavailable(ConversationActor.Command command) {
    if (command instanceof ConversationActor.Message message) {
      message.replyTo().tell(new RouteResult.Failed(
          OutcomeKind.UNAVAILABLE, "", ErrorTexts.storeUnavailable(), Optional.empty(), List.of()));
    }
  }

  private Behavior<Command> onConversationStopped(ConversationStopped stopped) {
    String id = stopped.conversationId();
    if (stopped.ref().equals(live.get(id))) {
      live.remove(id);
      unavailable.remove(id);
      List<ConversationActor.Command> recovery = recovering.remove(id);
      if (recovery != null) {
        recovery.forEach(ConversationsActor::answerStoreUnavailable);
      }
      getContext().getLog().warn("conversation {} stopped after repeated failures", id);
    }
    List<ConversationActor.Command> waiting = held.remove(id);
    if (waiting != null && !waiting.isEmpty()) {
      ActorRef<ConversationActor.Command> successor = conversation(id);
      waiting.forEach(successor::tell);
    }
    return this;
  }

  private void deliver(String id, ConversationActor.Command command) {
    List<ConversationActor.Command> waiting = held.get(id);
    if (waiting != null) {
      waiting.add(command);
      return;
    }
    ActorRef<ConversationActor.Command> conversation = conversation(id);
    List<ConversationActor.Command> recovery = recovering.get(id);
    if (recovery == null) {
      conversation.tell(command);
    } else if (unavailable.contains(id)) {
      answerStoreUnavailable(command);
    } else {
      recovery.add(command);
    }
  }

  private ActorRef<ConversationActor.Command> conversation(String id) {
    return live.computeIfAbsent(id, this::spawn);
  }

  private ActorRef<ConversationActor.Command> spawn(String id) {
    recovering.put(id, new ArrayList<>());
    unavailable.remove(id);
    Behavior<ConversationActor.Command> supervised =
        Behaviors.supervise(Decorator.decorate(getContext().getSystem(), ConversationActor.create(id, router, settings, ownerAdapter)))
            .onFailure(RESTART);
    ActorRef<ConversationActor.Command> ref = getContext().spawn(supervised, childName(id));
    getContext().watchWith(ref, new ConversationStopped(id, ref));
    return ref;
  }

  /** A URL-safe, valid actor name for any conversation id. */
  static String childName(String conversationId) {
    return "conversation-" + URLEncoder.encode(conversationId, StandardCharsets.UTF_8);
  }
}
