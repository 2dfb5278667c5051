package switchboard.channels.telegram;

import switchboard.channels.Channel;
import switchboard.channels.DrainWaiters;
import switchboard.channels.Redactor;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import switchboard.channels.ChannelMetrics;
import switchboard.channels.ChannelStatus;
import switchboard.channels.telegram.TelegramJournal.Action;
import switchboard.channels.telegram.TelegramJournal.Entry;
import switchboard.router.ConversationsActor;
import switchboard.router.RouterSettings;

/**
 * The Telegram channel: our own long-polling loop against the Bot API ({@code deleteWebhook} once,
 * then {@code getUpdates} with {@code offset} and {@code timeout}), one child actor per chat that
 * asks the conversation and sends the answer.
 *
 * <p>Why our own poller: the library's long-polling application confirms offsets before updates
 * are handled (a crash loses them) and stops polling after a consumer exception. Here every
 * accepted update is first written to a journal under {@code <dataDir>/telegram/} and only then is
 * its offset confirmed by the next getUpdates; it is marked done once its answer was sent. After a
 * restart the journal's unanswered updates are answered, and updates Telegram delivers again are
 * recognised (pending or recently answered) and not answered twice.
 *
 * <p>Never deaf: every Bot API failure (409, 5xx, network, timeouts, garbage) is logged with the
 * token redacted and retried with exponential backoff; answering runs in the chat actors, so no
 * provider failure touches the polling loop. Any failure of this actor is met by its parent's
 * supervision with a restart, which reloads the journal and goes on polling.
 *
 * <p>Metrics: the same {@link ChannelMetrics} as the HTTP channel, tagged {@code channel="telegram"}.
 * {@code switchboard_pending_messages} is the number of questions asked and not yet answered with the
 * answer recorded in the bookkeeping (the count {@code max-pending-messages} limits and a drain waits for, read from an {@link AtomicInteger} so a scrape never
 * touches actor state); {@code switchboard_busy_replies_total} counts busy replies. A request is one
 * question, counted once its answer's sendMessage is done (or given up) with outcome {@code ok}, the
 * failure's kind ({@code out_of_credits}, ...) or {@code unavailable} when no answer came, and timed
 * from the update's arrival; a busy reply is a request with outcome {@code busy}, as in the HTTP
 * channel. Updates answered after a restart are timed from the restart (the journal keeps no arrival
 * time). {@code /start}, {@code /new} and non-text messages are not counted at all: they ask no
 * provider, and counting them under made-up outcomes would skew every "share of requests that
 * failed" query.
 */
public final class TelegramChannel extends AbstractBehavior<Channel.Command> {
  /** The channel's name in {@code /api/status}, metrics and conversation ids ({@code telegram:<chat>}). */
  public static final String NAME = "telegram";

  static final String GREETING =
      "Hello! Send me a message and I will answer it. /new starts a new conversation.";
  static final String NON_TEXT_REPLY = "Only text messages are supported.";

  /** Journal lines written before the journal is compacted again. */
  private static final int COMPACT_EVERY = 1000;

  /** Distinguishes the calls of this and of earlier incarnations of the actor (after a restart). */
  private static final AtomicLong CALLS = new AtomicLong();

  /**
   * What the channel understands beyond the {@link Channel} contract; in a cluster it is a singleton,
   * asked from every node. Its status is named {@code telegram}; an {@link Channel.AdminNotice} goes to
   * {@code alerts.telegram-chat-id} when that is set; a {@link Channel.Drain} stops polling (what
   * Telegram still holds, and what a poll in flight brings, stays unconfirmed there and is answered
   * after the restart) and answers once nothing accepted is pending.
   */
  public sealed interface Command extends Channel.Command {}

  /** Send {@code text} to chat {@code chatId}; retried like any answer. */
  public record Notify(long chatId, String text) implements Command {}

  /**
   * From a chat actor: update {@code updateId} got its answer (or was given up on); {@code outcome} is
   * the metrics outcome of a question or busy reply, empty for what is not counted.
   */
  record Answered(long updateId, Optional<String> outcome) implements Command {}

  /**
   * Chat {@code chatId} has had nothing to answer for {@code chat-idle-timeout}, having received
   * {@code received} commands: it is stopped when that is every command sent to it (else it has work
   * again, and stays).
   */
  record ChatIdle(long chatId, long received, ActorRef<TelegramChat.Command> chat) implements Command {}

  /** Reply how many chat actors are alive (chats with something to answer, or not idle long enough yet). */
  public record CountChats(ActorRef<Integer> replyTo) implements Command {}

  private record Loaded(TelegramJournal.Snapshot snapshot) implements Command {}

  private record LoadFailed(String error) implements Command {}

  private record WebhookDeleted(long call) implements Command {}

  private record Polled(long call, List<TelegramUpdate> updates) implements Command {}

  private record CallFailed(long call, BotApiException error) implements Command {}

  private record Journaled(long call, List<Entry> entries, Optional<String> error) implements Command {}

  private record JournalWritten(Optional<String> error) implements Command {}

  /** An answer's bookkeeping is written (or failed): only now is its question no longer pending. */
  private record AnswerRecorded(boolean ask, Optional<String> error) implements Command {}

  private record Retry(long call) implements Command {}

  /** A drain's time is up: answer its waiters with what is still pending. */
  private enum DrainDeadline implements Command {
    INSTANCE
  }

  private enum Phase {
    LOADING,
    DELETING_WEBHOOK,
    POLLING
  }

  private final TelegramConfig config;
  private final ActorRef<ConversationsActor.Command> conversations;
  private final TelegramJournal journal;
  private final TelegramBook book;
  private final BotApiClient api;
  private final Redactor redactor;
  private final Executor io;
  private final TimerScheduler<Channel.Command> timers;
  private final Map<Long, ActorRef<TelegramChat.Command>> chats = new HashMap<>();
  /** Commands sent to each live chat actor, for the idle handshake ({@link ChatIdle}). */
  private final Map<Long, Long> sentToChat = new HashMap<>();
  /** Numbers the chat actors, so a chat's next actor never waits for the old name to be free. */
  private long chatActors;
  private final Map<Long, Entry> pending = new LinkedHashMap<>();
  /** When each pending update arrived ({@link System#nanoTime()}), to time its answer. */
  private final Map<Long, Long> receivedAt = new HashMap<>();
  private final LinkedHashSet<Long> answered = new LinkedHashSet<>();
  private final Set<Long> answeredWhileLoading = new HashSet<>();
  private Phase phase = Phase.LOADING;
  private String state = "starting";
  private Optional<String> lastError = Optional.empty();
  /** Questions asked and not yet answered with the answer recorded; written only by this actor, read by the metrics gauge. */
  private final AtomicInteger pendingAsks = new AtomicInteger();
  private final ChannelMetrics metrics;
  private long busyReplies;
  private long offset;
  private long call;
  private int failures;
  private int journalLines;
  private final DrainWaiters draining;
  /** A drain has begun: no more polls, and what a poll in flight brings is left with Telegram. */
  private boolean stopping;

  /** A channel whose metrics go nowhere (a private registry). */
  public static Behavior<Channel.Command> create(
      TelegramConfig config, ActorRef<ConversationsActor.Command> conversations, Path dataDir) {
    return create(config, conversations, dataDir, new SimpleMeterRegistry(), RouterSettings.DEFAULT.requestTimeout());
  }

  /**
   * A channel whose metrics go to {@code metrics}; {@code requestTimeout} (the router's) sizes the
   * latency histogram like the HTTP channel's, so both have the same buckets.
   */
  public static Behavior<Channel.Command> create(
      TelegramConfig config,
      ActorRef<ConversationsActor.Command> conversations,
      Path dataDir,
      MeterRegistry metrics,
      Duration requestTimeout) {
    return create(config, conversations, dataDir, metrics, requestTimeout, Optional.empty());
  }

  /**
   * A channel that keeps its bookkeeping in the gateway's store through {@code ledger} (spawned by
   * the caller, so it outlives this channel's restarts), or in {@code <dataDir>/telegram/} without one.
   */
  public static Behavior<Channel.Command> create(
      TelegramConfig config,
      ActorRef<ConversationsActor.Command> conversations,
      Path dataDir,
      MeterRegistry metrics,
      Duration requestTimeout,
      Optional<ActorRef<TelegramLedger.Command>> ledger) {
    TelegramJournal journal = new TelegramJournal(dataDir);
    BotApiClient api = new BotApiClient(config);
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers ->
                    new TelegramChannel(
                        context, timers, config, conversations, journal, ledger, api, metrics, requestTimeout)));
  }

  private TelegramChannel(
      ActorContext<Channel.Command> context,
      TimerScheduler<Channel.Command> timers,
      TelegramConfig config,
      ActorRef<ConversationsActor.Command> conversations,
      TelegramJournal journal,
      Optional<ActorRef<TelegramLedger.Command>> ledger,
      BotApiClient api,
      MeterRegistry registry,
      Duration requestTimeout) {
    super(context);
    this.timers = timers;
    this.config = config;
    this.conversations = conversations;
    this.journal = journal;
    this.api = api;
    this.redactor = api.redactor();
    this.io = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    this.book = ledger.map(l -> TelegramLedger.book(l, context.getSystem(), journal, io)).orElseGet(() -> journal.asBook(io));
    this.metrics = new ChannelMetrics(registry, NAME, pendingAsks::get, requestTimeout);
    this.draining = new DrainWaiters(NAME, pendingAsks::get, timers, DrainDeadline.INSTANCE);
    journal.flushOnShutdown(context.getSystem());
    context.getLog().info("Telegram channel starting against {}", config.baseUrl());
    context.pipeToSelf(
        book.load(),
        (snapshot, error) -> error == null ? new Loaded(snapshot) : new LoadFailed(describe(error)));
  }

  @Override
  public Receive<Channel.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Loaded.class, this::onLoaded)
        .onMessage(LoadFailed.class, this::onLoadFailed)
        .onMessage(WebhookDeleted.class, this::onWebhookDeleted)
        .onMessage(Polled.class, this::onPolled)
        .onMessage(CallFailed.class, this::onCallFailed)
        .onMessage(Retry.class, this::onRetry)
        .onMessage(Journaled.class, this::onJournaled)
        .onMessage(JournalWritten.class, this::onJournalWritten)
        .onMessage(AnswerRecorded.class, this::onAnswerRecorded)
        .onMessage(Answered.class, this::onAnswered)
        .onMessage(ChatIdle.class, this::onChatIdle)
        .onMessage(CountChats.class, this::onCountChats)
        .onMessage(Channel.GetStatus.class, this::onGetStatus)
        .onMessage(Notify.class, this::onNotify)
        .onMessage(Channel.AdminNotice.class, this::onAdminNotice)
        .onMessage(Channel.Drain.class, this::onDrain)
        .onMessageEquals(DrainDeadline.INSTANCE, this::onDrainDeadline)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  private Behavior<Channel.Command> onLoaded(Loaded loaded) {
    restore(loaded.snapshot());
    return this;
  }

  private Behavior<Channel.Command> onLoadFailed(LoadFailed failed) {
    getContext().getLog().error("Could not read {}: {}", book.describe(), failed.error());
    restore(new TelegramJournal.Snapshot(List.of(), List.of(), 0));
    return this;
  }

  private Behavior<Channel.Command> onWebhookDeleted(WebhookDeleted deleted) {
    if (deleted.call() == call) {
      phase = Phase.POLLING;
      callNext();
    }
    return this;
  }

  private Behavior<Channel.Command> onPolled(Polled polled) {
    if (polled.call() == call) {
      acceptUnlessStopping(polled.updates());
    }
    return this;
  }

  /**
   * Once a drain has begun, new updates are not taken: answering them would race the shutdown (a
   * conversation stopped mid-answer, an answer sent but not yet recorded, so sent again after the
   * restart). Their offset is never confirmed, so Telegram hands them over again after the restart.
   */
  private void acceptUnlessStopping(List<TelegramUpdate> updates) {
    if (!stopping) {
      accept(updates);
    } else if (!updates.isEmpty()) {
      getContext().getLog().info("Draining: {} new update(s) left with Telegram for after the restart", updates.size());
    }
  }

  private Behavior<Channel.Command> onCallFailed(CallFailed failed) {
    if (failed.call() == call) {
      retryLater(failed.error());
    }
    return this;
  }

  private Behavior<Channel.Command> onRetry(Retry retry) {
    if (retry.call() == call) {
      callNext();
    }
    return this;
  }

  private Behavior<Channel.Command> onJournaled(Journaled journaled) {
    if (journaled.call() == call) {
      dispatchJournaled(journaled.entries(), journaled.error());
    }
    return this;
  }

  private Behavior<Channel.Command> onJournalWritten(JournalWritten written) {
    written.error().ifPresent(e -> getContext().getLog().error("Could not write the Telegram journal: {}", e));
    return this;
  }

  private Behavior<Channel.Command> onAnswerRecorded(AnswerRecorded recorded) {
    if (recorded.ask()) {
      pendingAsks.decrementAndGet();
      draining.pendingChanged();
    }
    return onJournalWritten(new JournalWritten(recorded.error()));
  }

  private Behavior<Channel.Command> onAnswered(Answered done) {
    markAnswered(done.updateId(), done.outcome());
    return this;
  }

  private Behavior<Channel.Command> onGetStatus(Channel.GetStatus get) {
    get.replyTo().tell(new ChannelStatus(NAME, pendingAsks.get(), config.maxPendingMessages(), state, lastError, busyReplies));
    return this;
  }

  private Behavior<Channel.Command> onNotify(Notify notify) {
    tellChat(notify.chatId(), new TelegramChat.Notify(notify.text()));
    return this;
  }

  private Behavior<Channel.Command> onAdminNotice(Channel.AdminNotice notice) {
    config.adminChatId().ifPresent(chat -> tellChat(chat, new TelegramChat.Notify(notice.text())));
    return this;
  }

  private Behavior<Channel.Command> onDrain(Channel.Drain drain) {
    if (!stopping) {
      stopping = true;
      state = "draining";
      getContext().getLog().info("Telegram channel draining: no new updates, {} accepted one(s) still to answer", pendingAsks.get());
    }
    draining.add(drain);
    return this;
  }

  private Behavior<Channel.Command> onDrainDeadline() {
    draining.answer();
    return this;
  }

  /** Stopped for good (a restart keeps the gauge for the next incarnation to replace). */
  private Behavior<Channel.Command> onPostStop() {
    metrics.close();
    return this;
  }

  /** Takes over the journal's state, answers what was left unanswered, and starts talking to Telegram. */
  private void restore(TelegramJournal.Snapshot snapshot) {
    if (snapshot.unreadableLines() > 0) {
      getContext().getLog().warn("Skipped {} unreadable line(s) of the Telegram journal", snapshot.unreadableLines());
    }
    snapshot.answered().forEach(id -> TelegramJournal.remember(answered, id));
    List<Entry> replay = new ArrayList<>();
    for (Entry entry : snapshot.pending()) {
      if (!answeredWhileLoading.contains(entry.updateId())) {
        track(entry);
        replay.add(entry);
      }
    }
    answeredWhileLoading.clear();
    if (!replay.isEmpty()) {
      getContext().getLog().info("Answering {} update(s) received before the last stop", replay.size());
      replay.forEach(this::dispatch);
    }
    phase = Phase.DELETING_WEBHOOK;
    callNext();
  }

  private void callNext() {
    if (stopping) {
      return;
    }
    if (phase == Phase.DELETING_WEBHOOK) {
      deleteWebhook();
    } else {
      poll();
    }
  }

  private void deleteWebhook() {
    long thisCall = call = CALLS.incrementAndGet();
    getContext()
        .pipeToSelf(
            api.deleteWebhook(),
            (ok, error) -> error == null ? new WebhookDeleted(thisCall) : new CallFailed(thisCall, apiError(error)));
  }

  private void poll() {
    long thisCall = call = CALLS.incrementAndGet();
    getContext()
        .pipeToSelf(
            api.getUpdates(offset, config.pollTimeout()),
            (updates, error) -> error == null ? new Polled(thisCall, updates) : new CallFailed(thisCall, apiError(error)));
  }

  private void retryLater(BotApiException error) {
    failures++;
    Duration delay = config.backoff(failures);
    if (error.retryAfter().isPresent() && error.retryAfter().get().compareTo(delay) > 0) {
      delay = error.retryAfter().get();
    }
    String what = phase == Phase.DELETING_WEBHOOK ? "deleteWebhook" : "getUpdates";
    state = "retrying";
    lastError = Optional.of(error.getMessage());
    getContext().getLog().warn("Telegram {} failed ({}); retry {} in {} ms", what, error.getMessage(), failures, delay.toMillis());
    timers.startSingleTimer(new Retry(call), delay);
  }

  /** Decides what each new update gets, journals the decisions, and only then polls again. */
  private void accept(List<TelegramUpdate> updates) {
    if (failures > 0) {
      getContext().getLog().info("Telegram polling works again after {} failure(s)", failures);
    }
    failures = 0;
    state = "polling";
    lastError = Optional.empty();
    List<Entry> accepted = new ArrayList<>();
    for (TelegramUpdate update : updates) {
      offset = Math.max(offset, update.updateId() + 1);
      decide(update).ifPresent(entry -> {
        track(entry);
        accepted.add(entry);
      });
    }
    if (accepted.isEmpty()) {
      callNext();
      return;
    }
    long thisCall = call = CALLS.incrementAndGet();
    getContext()
        .pipeToSelf(
            book.accepted(accepted),
            (ok, error) -> new Journaled(thisCall, accepted, Optional.ofNullable(error).map(this::describe)));
  }

  private Optional<Entry> decide(TelegramUpdate update) {
    long id = update.updateId();
    if (pending.containsKey(id) || answered.contains(id)) {
      getContext().getLog().info("Update {} was delivered again; it is already handled", id);
      return Optional.empty();
    }
    if (update.kind() == TelegramUpdate.Kind.IGNORED) {
      getContext().getLog().debug("Ignoring update {}: not a new message", id);
      return Optional.empty();
    }
    if (!config.allows(update.chatId())) {
      getContext().getLog().info("Ignoring update {} from chat {}: not in allowed-chat-ids", id, update.chatId());
      return Optional.empty();
    }
    return Optional.of(entryFor(update));
  }

  private Entry entryFor(TelegramUpdate u) {
    if (u.kind() == TelegramUpdate.Kind.NON_TEXT) {
      return new Entry(u.updateId(), u.chatId(), u.messageId(), Action.REPLY, NON_TEXT_REPLY);
    }
    switch (u.command()) {
      case "/start":
        return new Entry(u.updateId(), u.chatId(), u.messageId(), Action.REPLY, GREETING);
      case "/new":
        return new Entry(u.updateId(), u.chatId(), u.messageId(), Action.RESET, "");
      default:
        break;
    }
    if (pendingAsks.get() >= config.maxPendingMessages()) {
      busyReplies++;
      metrics.busy();
      getContext()
          .getLog()
          .warn(
              "Busy: {} message(s) pending (max-pending-messages {}); update {} in chat {} gets the busy reply",
              pendingAsks.get(), config.maxPendingMessages(), u.updateId(), u.chatId());
      return new Entry(u.updateId(), u.chatId(), u.messageId(), Action.BUSY, config.busyReply());
    }
    return new Entry(u.updateId(), u.chatId(), u.messageId(), Action.ASK, u.text());
  }

  private void dispatchJournaled(List<Entry> entries, Optional<String> error) {
    error.ifPresent(
        e -> getContext().getLog().error("Could not journal {} update(s), answering them anyway: {}", entries.size(), e));
    journalLines += entries.size();
    entries.forEach(this::dispatch);
    callNext();
  }

  private void track(Entry entry) {
    pending.put(entry.updateId(), entry);
    receivedAt.put(entry.updateId(), System.nanoTime());
    if (entry.action() == Action.ASK) {
      pendingAsks.incrementAndGet();
    }
  }

  private void dispatch(Entry entry) {
    tellChat(entry.chatId(), new TelegramChat.Handle(entry));
  }

  private void markAnswered(long updateId, Optional<String> outcome) {
    if (phase == Phase.LOADING) {
      answeredWhileLoading.add(updateId);
    }
    Entry entry = pending.remove(updateId);
    Long received = receivedAt.remove(updateId);
    if (outcome.isPresent()) {
      countRequest(outcome.get(), received);
    }
    boolean ask = entry != null && entry.action() == Action.ASK;
    TelegramJournal.remember(answered, updateId);
    getContext()
        .pipeToSelf(
            book.answered(updateId),
            (ok, error) -> new AnswerRecorded(ask, Optional.ofNullable(error).map(this::describe)));
    if (++journalLines >= COMPACT_EVERY) {
      journalLines = 0;
      getContext()
          .pipeToSelf(
              book.compact(List.copyOf(pending.values()), List.copyOf(answered)),
              (ok, error) -> new JournalWritten(Optional.ofNullable(error).map(this::describe)));
    }
  }

  /** Timed from the update's arrival; just counted if this incarnation never saw it arrive. */
  private void countRequest(String outcome, Long receivedNanos) {
    if (receivedNanos != null) {
      metrics.request(outcome, receivedNanos);
    } else {
      metrics.count(outcome);
    }
  }

  private void tellChat(long chatId, TelegramChat.Command command) {
    chat(chatId).tell(command);
    sentToChat.merge(chatId, 1L, Long::sum);
  }

  private ActorRef<TelegramChat.Command> chat(long chatId) {
    return chats.computeIfAbsent(
        chatId,
        id ->
            getContext()
                .spawn(
                    Behaviors.supervise(TelegramChat.create(id, config, api, conversations, getContext().getSelf().narrow()))
                        .onFailure(SupervisorStrategy.resume()),
                    "chat" + id + "-" + (++chatActors)));
  }

  private Behavior<Channel.Command> onChatIdle(ChatIdle idle) {
    passivate(idle);
    return this;
  }

  private Behavior<Channel.Command> onCountChats(CountChats count) {
    count.replyTo().tell(chats.size());
    return this;
  }

  /** Stops an idle chat's actor unless something was sent to it after it went idle. */
  private void passivate(ChatIdle idle) {
    if (idle.chat().equals(chats.get(idle.chatId()))
        && sentToChat.getOrDefault(idle.chatId(), 0L) == idle.received()) {
      chats.remove(idle.chatId());
      sentToChat.remove(idle.chatId());
      getContext().stop(idle.chat());
    }
  }

  private BotApiException apiError(Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    return cause instanceof BotApiException api
        ? api
        : new BotApiException(0, describe(cause), Optional.empty());
  }

  private String describe(Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    return redactor.redact(BotApiClient.describe(cause));
  }
}
