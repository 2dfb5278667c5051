package switchboard.channels.telegram;

import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import switchboard.channels.telegram.TelegramJournal.Entry;
import switchboard.channels.telegram.TelegramJournal.Snapshot;
import switchboard.providers.CborSerializable;

/**
 * The Telegram channel's bookkeeping in the gateway's store, event-sourced: {@link Accepted} when
 * updates are accepted (before their offset is confirmed to Telegram), {@link Answered} once an
 * answer was sent. Its state is what the file journal held: the unanswered entries in arrival order
 * and the last {@link TelegramJournal#KEEP_ANSWERED} answered ids; a snapshot every
 * {@link #SNAPSHOT_EVERY} events with the events behind it deleted keeps it small. It outlives the
 * channel's restarts (the gateway root spawns it), so a restarted channel finds what its predecessor
 * wrote, and in a cluster the node that takes over polling will find it too.
 */
public final class TelegramLedger
    extends EventSourcedBehaviorWithEnforcedReplies<TelegramLedger.Command, TelegramLedger.Event, TelegramLedger.Book> {
  private static final Logger LOG = LoggerFactory.getLogger(TelegramLedger.class);

  static final int SNAPSHOT_EVERY = 200;
  static final Duration ASK_TIMEOUT = Duration.ofSeconds(10);

  public sealed interface Command {}

  record Accept(List<Entry> entries, ActorRef<Done> replyTo) implements Command {}

  record Answer(long updateId, ActorRef<Done> replyTo) implements Command {}

  record Get(ActorRef<Book> replyTo) implements Command {}

  public sealed interface Event extends CborSerializable {}

  /** Updates accepted, with what was decided for each. */
  public record Accepted(List<Entry> entries) implements Event {}

  /** Update {@code updateId}'s answer was sent (or given up). */
  public record Answered(long updateId) implements Event {}

  /** Unanswered entries by update id in arrival order, and the recently answered ids, oldest first. */
  public record Book(Map<Long, Entry> pending, List<Long> answered) implements CborSerializable {
    static final Book EMPTY = new Book(Map.of(), List.of());

    public Book {
      pending = pending == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(pending));
      answered = answered == null ? List.of() : List.copyOf(answered);
    }

    Book with(Accepted accepted) {
      Map<Long, Entry> next = new LinkedHashMap<>(pending);
      accepted.entries().forEach(e -> next.put(e.updateId(), e));
      return new Book(next, answered);
    }

    Book with(Answered done) {
      Map<Long, Entry> next = new LinkedHashMap<>(pending);
      next.remove(done.updateId());
      LinkedHashSet<Long> ids = new LinkedHashSet<>(answered);
      TelegramJournal.remember(ids, done.updateId());
      return new Book(next, new ArrayList<>(ids));
    }

    boolean isEmpty() {
      return pending.isEmpty() && answered.isEmpty();
    }

    Snapshot snapshot() {
      return new Snapshot(List.copyOf(pending.values()), answered, 0);
    }
  }

  public static Behavior<Command> create() {
    return new TelegramLedger();
  }

  private TelegramLedger() {
    super(PersistenceId.ofUniqueId("telegram|bookkeeping"));
  }

  @Override
  public Book emptyState() {
    return Book.EMPTY;
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(SNAPSHOT_EVERY, 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, Book> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Accept.class, (book, accept) ->
            Effect().persist(new Accepted(accept.entries())).thenReply(accept.replyTo(), after -> Done.getInstance()))
        .onCommand(Answer.class, this::onAnswer)
        .onCommand(Get.class, (book, get) -> Effect().reply(get.replyTo(), book))
        .build();
  }

  private ReplyEffect<Event, Book> onAnswer(Book book, Answer answer) {
    return Effect().persist(new Answered(answer.updateId())).thenReply(answer.replyTo(), after -> Done.getInstance());
  }

  @Override
  public EventHandler<Book, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(Accepted.class, Book::with)
        .onEvent(Answered.class, Book::with)
        .build();
  }

  /**
   * The ledger {@code ledger} as the channel's book. When the store holds nothing yet and the file
   * journal of an earlier version ({@code legacy}) exists, its content is moved into the store once
   * and the file renamed {@code journal.jsonl.migrated}.
   */
  static TelegramBook book(ActorRef<Command> ledger, ActorSystem<?> system, TelegramJournal legacy, Executor io) {
    return new TelegramBook() {
      @Override
      public CompletionStage<Snapshot> load() {
        return AskPattern.<Command, Book>ask(ledger, Get::new, ASK_TIMEOUT, system.scheduler())
            .thenCompose(book -> book.isEmpty() && Files.exists(legacy.file()) ? migrate() : done(book.snapshot()));
      }

      private CompletionStage<Snapshot> migrate() {
        return legacy.load(io).thenCompose(old -> {
          CompletionStage<Void> pending = accepted(old.pending());
          CompletionStage<Void> all = pending;
          for (long id : old.answered()) {
            all = all.thenCompose(x -> answeredOnly(id));
          }
          return all.thenApply(x -> {
            try {
              Files.move(legacy.file(), legacy.file().resolveSibling(legacy.file().getFileName() + ".migrated"),
                  StandardCopyOption.REPLACE_EXISTING);
            } catch (java.io.IOException e) {
              LOG.warn("moved {} into the store but could not rename it: {}", legacy.file(), e.getMessage());
            }
            LOG.info("moved the Telegram journal {} into the store", legacy.file());
            return old;
          });
        });
      }

      private CompletionStage<Void> answeredOnly(long id) {
        return AskPattern.<Command, Done>ask(ledger, replyTo -> new Answer(id, replyTo), ASK_TIMEOUT, system.scheduler())
            .thenApply(d -> null);
      }

      @Override
      public CompletionStage<Void> accepted(List<Entry> entries) {
        if (entries.isEmpty()) {
          return done(null);
        }
        return AskPattern.<Command, Done>ask(
                ledger, replyTo -> new Accept(List.copyOf(entries), replyTo), ASK_TIMEOUT, system.scheduler())
            .thenApply(d -> null);
      }

      @Override
      public CompletionStage<Void> answered(long updateId) {
        return answeredOnly(updateId);
      }

      @Override
      public CompletionStage<Void> compact(List<Entry> pending, List<Long> answered) {
        return done(null);
      }

      @Override
      public String describe() {
        return "the Telegram bookkeeping in the store";
      }
    };
  }

  private static <T> CompletionStage<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }
}
