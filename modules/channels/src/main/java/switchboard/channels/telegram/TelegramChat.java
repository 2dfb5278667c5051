package switchboard.channels.telegram;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import switchboard.channels.telegram.TelegramJournal.Entry;
import switchboard.router.ConversationsActor;
import switchboard.channels.Replies;
import switchboard.router.RouteResult;

/**
 * One Telegram chat: asks the conversation for each accepted message and sends the one answer back
 * with {@code sendMessage}, one send at a time, in the order the messages arrived: each accepted
 * update takes the next sequence number, and an answer that comes back early (answers travel back
 * through separate asks, and immediate notes such as the non-text reply need no ask at all) waits
 * in {@code early} until every earlier message of the chat has its answer queued. A failed send is retried with backoff (or
 * Telegram's {@code retry_after}) up to {@link #MAX_SEND_ATTEMPTS} times; a permanent refusal (400
 * chat not found, 403 bot blocked) is logged and given up. Either way the channel then hears
 * {@link TelegramChannel.Answered}, so pending counts and the journal stay right; for a question
 * or a busy reply it carries the outcome the channel counts in its metrics.
 */
final class TelegramChat extends AbstractBehavior<TelegramChat.Command> {
  /** Telegram's limit on one message's text, in UTF-16 units. */
  static final int MAX_MESSAGE_LENGTH = 4096;

  static final int MAX_SEND_ATTEMPTS = 10;

  /** The conversation guarantees one answer; this only guards against one that never comes. */
  static final Duration ANSWER_TIMEOUT = Duration.ofMinutes(15);

  static final String RESET_REPLY = "Started a new conversation: the earlier messages are forgotten.";
  static final String RESET_FAILED_REPLY = "Could not start a new conversation just now. Please try again.";
  static final String BUSY_OUTCOME = Replies.BUSY_OUTCOME;

  sealed interface Command {}

  /** Answer the accepted update {@code entry} as it says. */
  record Handle(Entry entry) implements Command {}

  /** Send {@code text} to this chat, not as a reply (admin alerts). */
  record Notify(String text) implements Command {}

  /** An answer to queue; {@code asked}: it came from the conversation (a question, not a note). */
  private record Reply(long seq, Entry entry, String text, Optional<String> outcome, boolean asked) implements Command {}

  private record Sent(long attempt) implements Command {}

  private record SendFailed(long attempt, BotApiException error) implements Command {}

  private record Resend(long attempt) implements Command {}

  /** The chat has had nothing to answer for {@code chat-idle-timeout}. */
  private enum IdleTimeout implements Command {
    INSTANCE
  }

  /** Keeps Telegram's "typing..." showing while an answer is being produced. */
  private enum Typing implements Command {
    INSTANCE
  }

  private static final String IDLE_TIMER = "idle";
  private static final String TYPING_TIMER = "typing";

  /** Telegram shows a chat action for 5 s: it is sent again this often while an answer is awaited. */
  static final Duration TYPING_EVERY = Duration.ofSeconds(4);

  /**
   * One answer: its parts go out in order; {@code updateId} 0 for a notification. {@code outcome} is
   * what the channel's metrics count it as, empty when it is not counted.
   */
  private record Outgoing(long updateId, long replyTo, List<String> parts, Optional<String> outcome) {}

  private final long chatId;
  private final String conversationId;
  private final TelegramConfig config;
  private final BotApiClient api;
  private final ActorRef<ConversationsActor.Command> conversations;
  private final ActorRef<TelegramChannel.Command> channel;
  private final TimerScheduler<Command> timers;
  private final Deque<Outgoing> outbox = new ArrayDeque<>();
  /** Answers that are ready before an earlier message's answer, by sequence number. */
  private final Map<Long, Outgoing> early = new HashMap<>();
  /** The sequence number the next accepted update takes. */
  private long nextSeq;
  /** The sequence number whose answer goes into the outbox next. */
  private long nextOut;
  private int part;
  private int failures;
  private long attempt;
  private boolean sending;
  /** Commands received from the channel ({@link Handle}, {@link Notify}), for the idle handshake. */
  private long received;
  /** Questions asked of the conversation and not answered yet (typing shows meanwhile). */
  private int asking;

  static Behavior<Command> create(
      long chatId,
      TelegramConfig config,
      BotApiClient api,
      ActorRef<ConversationsActor.Command> conversations,
      ActorRef<TelegramChannel.Command> channel) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> new TelegramChat(context, timers, chatId, config, api, conversations, channel)));
  }

  private TelegramChat(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      long chatId,
      TelegramConfig config,
      BotApiClient api,
      ActorRef<ConversationsActor.Command> conversations,
      ActorRef<TelegramChannel.Command> channel) {
    super(context);
    this.timers = timers;
    this.chatId = chatId;
    this.conversationId = TelegramChannel.NAME + ":" + chatId;
    this.config = config;
    this.api = api;
    this.conversations = conversations;
    this.channel = channel;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Handle.class, this::onHandle)
        .onMessage(Notify.class, this::onNotify)
        .onMessage(Reply.class, this::onReply)
        .onMessage(Sent.class, this::onSent)
        .onMessage(SendFailed.class, this::onSendFailed)
        .onMessage(Resend.class, this::onResend)
        .onMessageEquals(IdleTimeout.INSTANCE, this::onIdleTimeout)
        .onMessageEquals(Typing.INSTANCE, this::onTyping)
        .build();
  }

  /**
   * Run after every message: when nothing is left to answer or send, the idle timer runs, and when it
   * fires the channel is told, which stops this actor if it sent nothing since (a handshake, so no
   * message can be lost in between).
   */
  private Behavior<Command> idleCheck(Behavior<Command> next) {
    if (nextOut == nextSeq && early.isEmpty() && outbox.isEmpty() && !sending) {
      if (!timers.isTimerActive(IDLE_TIMER)) {
        timers.startSingleTimer(IDLE_TIMER, IdleTimeout.INSTANCE, config.chatIdleTimeout());
      }
    } else {
      timers.cancel(IDLE_TIMER);
    }
    return next;
  }

  private Behavior<Command> onIdleTimeout() {
    channel.tell(new TelegramChannel.ChatIdle(chatId, received, getContext().getSelf()));
    return this;
  }

  private Behavior<Command> onTyping() {
    typing();
    return this;
  }

  /** "typing..." in the chat while a question is with the conversation; its failures do not matter. */
  private void typing() {
    if (asking > 0) {
      api.sendChatAction(chatId, "typing");
      timers.startSingleTimer(TYPING_TIMER, Typing.INSTANCE, TYPING_EVERY);
    } else {
      timers.cancel(TYPING_TIMER);
    }
  }

  private Behavior<Command> onHandle(Handle handle) {
    received++;
    timers.cancel(IDLE_TIMER);
    Entry entry = handle.entry();
    long seq = nextSeq++;
    switch (entry.action()) {
      case ASK -> ask(seq, entry);
      case RESET -> reset(seq, entry);
      case REPLY -> answerInOrder(seq, entry, entry.text(), Optional.empty());
      case BUSY -> answerInOrder(seq, entry, entry.text(), Optional.of(BUSY_OUTCOME));
    }
    return idleCheck(this);
  }

  private Behavior<Command> onNotify(Notify notify) {
    received++;
    enqueue(new Outgoing(0, 0, Replies.split(notify.text(), MAX_MESSAGE_LENGTH), Optional.empty()));
    return idleCheck(this);
  }

  private Behavior<Command> onReply(Reply reply) {
    if (reply.asked()) {
      asking--;
      typing();
    }
    answerInOrder(reply.seq(), reply.entry(), reply.text(), reply.outcome());
    return idleCheck(this);
  }

  private Behavior<Command> onSent(Sent sent) {
    if (sent.attempt() == attempt) {
      sentPart();
    }
    return idleCheck(this);
  }

  private Behavior<Command> onSendFailed(SendFailed failed) {
    if (failed.attempt() == attempt) {
      sendFailed(failed.error());
    }
    return idleCheck(this);
  }

  private Behavior<Command> onResend(Resend resend) {
    if (resend.attempt() == attempt) {
      sendNext();
    }
    return this;
  }

  private void ask(long seq, Entry entry) {
    asking++;
    if (asking == 1) {
      typing();
    }
    getContext()
        .ask(
            RouteResult.class,
            conversations,
            ANSWER_TIMEOUT,
            replyTo -> new ConversationsActor.UserMessage(conversationId, entry.text(), replyTo),
            (result, error) -> new Reply(seq, entry, Replies.text(result), Optional.of(Replies.outcome(result)), true));
  }

  private void reset(long seq, Entry entry) {
    getContext()
        .ask(
            ConversationsActor.Done.class,
            conversations,
            Duration.ofSeconds(30),
            replyTo -> new ConversationsActor.Reset(conversationId, replyTo),
            (done, error) -> new Reply(seq, entry, done != null ? RESET_REPLY : RESET_FAILED_REPLY, Optional.empty(), false));
  }

  /** Queues the answer to message {@code seq} once every earlier message's answer is queued. */
  private void answerInOrder(long seq, Entry entry, String text, Optional<String> outcome) {
    early.put(seq, new Outgoing(entry.updateId(), entry.messageId(), Replies.split(text, MAX_MESSAGE_LENGTH), outcome));
    for (Outgoing next = early.remove(nextOut); next != null; next = early.remove(nextOut)) {
      nextOut++;
      enqueue(next);
    }
  }

  private void enqueue(Outgoing out) {
    outbox.addLast(out);
    if (!sending) {
      startNext();
    }
  }

  private void startNext() {
    if (outbox.isEmpty()) {
      sending = false;
      return;
    }
    sending = true;
    part = 0;
    failures = 0;
    sendNext();
  }

  private void sendNext() {
    Outgoing out = outbox.peekFirst();
    long thisAttempt = ++attempt;
    getContext()
        .pipeToSelf(
            api.sendMessage(chatId, out.parts().get(part), out.replyTo()),
            (ok, error) -> error == null ? new Sent(thisAttempt) : new SendFailed(thisAttempt, apiError(error)));
  }

  private void sentPart() {
    Outgoing out = outbox.peekFirst();
    part++;
    failures = 0;
    if (part < out.parts().size()) {
      sendNext();
    } else {
      finish(out);
    }
  }

  private void sendFailed(BotApiException error) {
    Outgoing out = outbox.peekFirst();
    failures++;
    if (error.permanent() || failures >= MAX_SEND_ATTEMPTS) {
      getContext()
          .getLog()
          .error(
              "Gave up answering update {} in chat {} after {} attempt(s): {}",
              out.updateId(), chatId, failures, error.getMessage());
      finish(out);
      return;
    }
    Duration delay = error.retryAfter().orElse(config.backoff(failures));
    getContext()
        .getLog()
        .warn(
            "sendMessage to chat {} failed ({}); retry {} in {} ms",
            chatId, error.getMessage(), failures, delay.toMillis());
    timers.startSingleTimer(new Resend(attempt), delay);
  }

  private void finish(Outgoing out) {
    outbox.removeFirst();
    if (out.updateId() != 0) {
      channel.tell(new TelegramChannel.Answered(out.updateId(), out.outcome()));
    }
    startNext();
  }

  private static BotApiException apiError(Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    return cause instanceof BotApiException api
        ? api
        : new BotApiException(0, cause.getClass().getSimpleName(), Optional.empty());
  }
}
