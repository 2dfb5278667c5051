package switchboard.channels.discord;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Sends the Discord channel's replies with {@code POST /channels/{id}/messages}, in order per
 * channel and one call at a time per channel, within Discord's rate limits: a 429 is waited out for
 * at least its {@code retry_after} (every channel waits when it is {@code global}), an exhausted
 * bucket ({@code X-RateLimit-Remaining: 0}) for its {@code X-RateLimit-Reset-After}, so the gateway
 * never becomes the client that retries too fast. 5xx and network failures are retried with the
 * channel's backoff, up to {@link #MAX_ATTEMPTS} calls per piece; a reply that cannot be sent (a 4xx
 * other than 429, or out of attempts) is given up and logged. Each reply is reported to the parent
 * once, when its last piece is out or it was given up.
 */
final class DiscordSender extends AbstractBehavior<DiscordSender.Command> {

  static final int MAX_ATTEMPTS = 8;

  sealed interface Command {}

  /** Send {@code pieces} to {@code channelId}, after what was handed over for it before; report {@code key}. */
  record Send(String channelId, long key, List<String> pieces, ActorRef<Delivered> replyTo) implements Command {}

  /** Reply {@code key} is out ({@code sent}) or was given up. */
  record Delivered(long key, boolean sent) {}

  private record Posted(String channelId, DiscordRest.Response response, String failure) implements Command {}

  private record Wake(String channelId) implements Command {}

  /** One piece of a reply, with the calls made for it so far. */
  private static final class Piece {
    final Send reply;
    final String text;
    final boolean last;
    int attempts;

    Piece(Send reply, String text, boolean last) {
      this.reply = reply;
      this.text = text;
      this.last = last;
    }
  }

  private final DiscordConfig config;
  private final DiscordRest rest;
  private final TimerScheduler<Command> timers;
  private final Map<String, Deque<Piece>> queues = new HashMap<>();
  private final Set<String> inFlight = new HashSet<>();
  /** When each channel's bucket lets the next call through ({@link System#nanoTime()}). */
  private final Map<String, Long> readyAt = new HashMap<>();
  private long globalReadyAt = System.nanoTime();

  static Behavior<Command> create(DiscordConfig config, DiscordRest rest) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> new DiscordSender(context, timers, config, rest)));
  }

  private DiscordSender(ActorContext<Command> context, TimerScheduler<Command> timers, DiscordConfig config,
      DiscordRest rest) {
    super(context);
    this.timers = timers;
    this.config = config;
    this.rest = rest;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Send.class, this::onSend)
        .onMessage(Posted.class, this::onPosted)
        .onMessage(Wake.class, wake -> pump(wake.channelId()))
        .build();
  }

  private Behavior<Command> onSend(Send send) {
    Deque<Piece> queue = queues.computeIfAbsent(send.channelId(), id -> new ArrayDeque<>());
    for (int i = 0; i < send.pieces().size(); i++) {
      queue.add(new Piece(send, send.pieces().get(i), i == send.pieces().size() - 1));
    }
    return pump(send.channelId());
  }

  /** Starts the channel's next call when none is running and its bucket, and the global one, allow it. */
  private Behavior<Command> pump(String channelId) {
    Deque<Piece> queue = queues.get(channelId);
    if (queue == null || queue.isEmpty() || inFlight.contains(channelId)) {
      return this;
    }
    long now = System.nanoTime();
    long ready = Math.max(readyAt.getOrDefault(channelId, now), globalReadyAt);
    if (ready - now > 0) {
      timers.startSingleTimer(channelId, new Wake(channelId), Duration.ofNanos(ready - now));
      return this;
    }
    Piece piece = queue.peek();
    piece.attempts++;
    inFlight.add(channelId);
    getContext().pipeToSelf(rest.createMessage(channelId, piece.text), (response, failure) ->
        new Posted(channelId, response, failure == null ? null : rest.redact(describe(failure))));
    return this;
  }

  private Behavior<Command> onPosted(Posted posted) {
    String channelId = posted.channelId();
    inFlight.remove(channelId);
    Deque<Piece> queue = queues.get(channelId);
    Piece piece = queue.peek();
    DiscordRest.Response response = posted.response();
    if (response != null && !response.retryAfter().isZero()) {
      long until = System.nanoTime() + response.retryAfter().toNanos();
      if (response.global()) {
        globalReadyAt = Math.max(globalReadyAt, until);
      } else {
        readyAt.merge(channelId, until, Math::max);
      }
    }
    if (response != null && response.ok()) {
      queue.poll();
      if (piece.last) {
        piece.reply.replyTo().tell(new Delivered(piece.reply.key(), true));
      }
    } else if (response != null && response.status() == 429) {
      getContext().getLog().warn("Discord rate-limited a reply to channel {}: waiting {} ms{} before sending it again",
          channelId, response.retryAfter().toMillis(), response.global() ? " (global limit: every channel waits)" : "");
      if (piece.attempts >= MAX_ATTEMPTS) {
        giveUp(queue, piece, "still rate-limited after " + piece.attempts + " calls");
      }
    } else if (response != null && response.status() / 100 == 4) {
      giveUp(queue, piece, "HTTP " + response.status() + ": " + rest.redact(response.message()));
    } else {
      String why = response != null ? "HTTP " + response.status() + ": " + rest.redact(response.message()) : posted.failure();
      if (piece.attempts >= MAX_ATTEMPTS) {
        giveUp(queue, piece, why);
      } else {
        Duration wait = config.backoff(piece.attempts);
        getContext().getLog().warn("Discord did not take a reply to channel {} ({}): trying again in {} ms",
            channelId, why, wait.toMillis());
        readyAt.merge(channelId, System.nanoTime() + wait.toNanos(), Math::max);
      }
    }
    if (queue.isEmpty()) {
      queues.remove(channelId);
      readyAt.computeIfPresent(channelId, (id, at) -> at - System.nanoTime() > 0 ? at : null);
    }
    return pump(channelId);
  }

  /** Drops what is left of {@code piece}'s reply and reports it given up. */
  private void giveUp(Deque<Piece> queue, Piece piece, String why) {
    getContext().getLog().error("Discord reply to channel {} given up: {}", piece.reply.channelId(), why);
    queue.removeIf(p -> p.reply == piece.reply);
    piece.reply.replyTo().tell(new Delivered(piece.reply.key(), false));
  }

  private static String describe(Throwable failure) {
    Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
    return cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
  }
}
