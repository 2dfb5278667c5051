package switchboard.channels.http;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import switchboard.providers.CborSerializable;
import switchboard.router.Idempotency;

/**
 * The answers of {@code POST /v1/chat/completions} requests that carried an {@code Idempotency-Key},
 * kept a day in the store, so a client that retries after a dropped connection gets the first answer
 * back, byte for byte, with no second provider call. (Conversation messages keep their keys in their
 * own conversation, in the same event as the turn, so a turn and its key are stored together.)
 *
 * <p>One event-sourced actor for the whole channel: keys are few next to messages, and one actor
 * needs no passivation handshake. {@link Begin} says {@link Proceed} for a new key (and remembers it
 * in memory as in flight), {@link Replay} for a key already answered with the same body,
 * {@link Mismatch} for another body; a repeat while the first is in flight waits for its
 * {@link Complete}. Only 200 answers are stored: a failed request changed nothing, so its repeat is
 * tried again (repeats that waited for it get the same failure). At most {@link #MAX_KEYS} keys are
 * kept, the oldest dropped first; a snapshot every {@link #SNAPSHOT_EVERY} answers with the events
 * behind it deleted keeps the store bounded.
 */
final class IdempotencyStore
    extends EventSourcedBehaviorWithEnforcedReplies<IdempotencyStore.Command, IdempotencyStore.Answered, IdempotencyStore.Keys> {

  static final int MAX_KEYS = 5000;
  static final int SNAPSHOT_EVERY = 100;

  sealed interface Command {}

  /** A request with {@code idempotency} arrived: reply what to do with it. */
  record Begin(Idempotency idempotency, ActorRef<Decision> replyTo) implements Command {}

  /** The request that got {@link Proceed} for {@code key} was answered with {@code response}. */
  record Complete(String key, StoredResponse response) implements Command {}

  /** What to do with a request. */
  sealed interface Decision {}

  /** A new key: answer the request, then {@link Complete} it. */
  enum Proceed implements Decision {
    INSTANCE
  }

  /** The key was answered before: send this again. */
  record Replay(StoredResponse response) implements Decision {}

  /** The key was used with another body. */
  enum Mismatch implements Decision {
    INSTANCE
  }

  /** An HTTP answer as it went out: status, content type, body, the provider header (may be empty). */
  record StoredResponse(int status, String contentType, byte[] body, String provider) implements CborSerializable {}

  /** A key's answer, stored. */
  record Answered(String key, String bodyHash, StoredResponse response, long at) implements CborSerializable {}

  /** The keys answered in the last day, oldest first. */
  record Keys(Map<String, Answered> answered) implements CborSerializable {
    static final Keys EMPTY = new Keys(Map.of());

    Keys {
      answered = answered == null ? Map.of() : Map.copyOf(answered);
    }

    Keys with(Answered answer) {
      long oldest = answer.at() - Idempotency.KEPT.toMillis();
      List<Answered> fresh = new ArrayList<>(answered.values().stream()
          .filter(a -> a.at() >= oldest && !a.key().equals(answer.key()))
          .sorted(Comparator.comparingLong(Answered::at))
          .toList());
      Map<String, Answered> out = new LinkedHashMap<>();
      fresh.subList(Math.max(0, fresh.size() - MAX_KEYS + 1), fresh.size()).forEach(a -> out.put(a.key(), a));
      out.put(answer.key(), answer);
      return new Keys(out);
    }

    Optional<Answered> of(String key, long now) {
      return Optional.ofNullable(answered.get(key)).filter(a -> a.at() >= now - Idempotency.KEPT.toMillis());
    }
  }

  /** A key being answered now: its body's hash and the repeats waiting for its answer. */
  private record InFlight(String bodyHash, List<ActorRef<Decision>> waiting) {}

  private final Map<String, InFlight> inFlight = new HashMap<>();

  static Behavior<Command> create() {
    return Behaviors.setup(IdempotencyStore::new);
  }

  private IdempotencyStore(ActorContext<Command> context) {
    super(PersistenceId.ofUniqueId("idempotency|http-v1"));
  }

  @Override
  public Keys emptyState() {
    return Keys.EMPTY;
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(SNAPSHOT_EVERY, 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public CommandHandlerWithReply<Command, Answered, Keys> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Begin.class, this::onBegin)
        .onCommand(Complete.class, this::onComplete)
        .build();
  }

  @Override
  public EventHandler<Keys, Answered> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onEvent(Answered.class, Keys::with).build();
  }

  private ReplyEffect<Answered, Keys> onBegin(Keys keys, Begin begin) {
    Idempotency asked = begin.idempotency();
    Optional<Answered> answered = keys.of(asked.key(), System.currentTimeMillis());
    if (answered.isPresent()) {
      return Effect().reply(begin.replyTo(), answered.get().bodyHash().equals(asked.bodyHash())
          ? new Replay(answered.get().response()) : Mismatch.INSTANCE);
    }
    InFlight first = inFlight.get(asked.key());
    if (first == null) {
      inFlight.put(asked.key(), new InFlight(asked.bodyHash(), new ArrayList<>()));
      return Effect().reply(begin.replyTo(), Proceed.INSTANCE);
    }
    if (!first.bodyHash().equals(asked.bodyHash())) {
      return Effect().reply(begin.replyTo(), Mismatch.INSTANCE);
    }
    first.waiting().add(begin.replyTo());
    return Effect().noReply();
  }

  private ReplyEffect<Answered, Keys> onComplete(Keys keys, Complete complete) {
    InFlight first = inFlight.remove(complete.key());
    if (first == null) {
      return Effect().noReply();
    }
    Replay replay = new Replay(complete.response());
    if (complete.response().status() != 200) {
      first.waiting().forEach(w -> w.tell(replay));
      return Effect().noReply();
    }
    return Effect()
        .persist(new Answered(complete.key(), first.bodyHash(), complete.response(), System.currentTimeMillis()))
        .thenRun(after -> first.waiting().forEach(w -> w.tell(replay)))
        .thenNoReply();
  }

  /** How long an HTTP request waits for the store's decision. */
  static final Duration DECISION_TIMEOUT = Duration.ofSeconds(10);
}
