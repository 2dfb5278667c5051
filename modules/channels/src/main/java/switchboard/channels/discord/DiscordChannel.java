package switchboard.channels.discord;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import switchboard.channels.Channel;
import switchboard.channels.DrainWaiters;
import switchboard.channels.ChannelMetrics;
import switchboard.channels.ChannelStatus;
import switchboard.channels.Replies;
import switchboard.providers.wire.Json;
import switchboard.router.ConversationsActor;
import switchboard.router.RouteResult;

/**
 * The Discord channel (CONTRACT.md section 10): one Gateway session over a WebSocket ({@link
 * GatewaySocket}) and replies over REST ({@link DiscordSender}).
 *
 * <p>The session: {@code HELLO} announces the heartbeat interval; the first beat comes after a random
 * part of it (jitter, so reconnecting bots do not beat in step), then one per interval. A beat whose
 * {@code ACK} has not come by the next one means a zombie connection: it is dropped without a normal
 * close and the session RESUMEd at {@code resume_gateway_url} with the last sequence number, so
 * Discord replays what was missed. Any other drop resumes the same way; {@code RECONNECT} (op 7) too.
 * {@code INVALID_SESSION} with {@code d: true} resumes, with {@code d: false} starts a new session
 * with IDENTIFY after 1–5 s. Reconnects back off with {@code retry-backoff-base}..{@code max}.
 *
 * <p>Messages: each {@code MESSAGE_CREATE} from a user (not a bot, not this bot) in an allowed
 * channel is asked of conversation {@code discord:<channel_id>} and gets exactly one reply: the
 * answer, the clear error, or at {@code max-pending-messages} the busy reply at once. A message seen
 * again (a resume replays events) is not answered twice. Replies leave in arrival order per channel,
 * split at 2000 characters. Nothing a provider does reaches the session: answering runs in the
 * conversations, and a failed send is the sender's.
 *
 * <p>Pending is what was accepted and not yet answered (asked, or its reply not yet out); a drain
 * keeps the session (new messages are still answered: Discord would not deliver them again) and
 * says when nothing is pending. Messages that arrive while the gateway is down are not answered:
 * Discord does not redeliver them to a new session. The token goes only into IDENTIFY, RESUME and
 * the {@code Authorization} header; no log line or status shows it.
 */
public final class DiscordChannel extends AbstractBehavior<Channel.Command> {

  /** Longest Discord message. */
  static final int MAX_MESSAGE_LENGTH = 2000;

  /** GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT. */
  static final int INTENTS = (1 << 9) | (1 << 12) | (1 << 15);

  /** How many answered message ids are remembered, so a replayed event is not answered twice. */
  static final int REMEMBERED = 10_000;

  /** The conversation always answers within request-timeout; this guards against one that never does. */
  static final Duration ANSWER_MARGIN = Duration.ofSeconds(30);

  /** What the Discord channel understands beyond the {@link Channel} contract. */
  public sealed interface Command extends Channel.Command {}

  private record GatewayFound(long attempt, String url) implements Command {}

  private record GatewayNotFound(long attempt, String why) implements Command {}

  private record Frame(long connection, String text) implements Command {}

  private record Closed(long connection, String why) implements Command {}

  private record Beat(long connection) implements Command {}

  private enum Reconnect implements Command {
    INSTANCE
  }

  private record Answer(long key, RouteResult result) implements Command {}

  private record Delivered(long key, boolean sent) implements Command {}

  private enum DrainDeadline implements Command {
    INSTANCE
  }

  /** One accepted message (or a busy reply) of a channel, until its reply is handed to the sender. */
  private static final class Slot {
    final long key;
    final String channelId;
    final long startNanos;
    final boolean question;
    List<String> pieces;
    String outcome;

    Slot(long key, String channelId, boolean question) {
      this.key = key;
      this.channelId = channelId;
      this.question = question;
      this.startNanos = System.nanoTime();
    }
  }

  private final DiscordConfig config;
  private final ActorRef<ConversationsActor.Command> conversations;
  private final DiscordRest rest;
  private final ActorRef<DiscordSender.Command> sender;
  private final ActorRef<DiscordSender.Delivered> deliveredAdapter;
  private final TimerScheduler<Channel.Command> timers;
  private final ChannelMetrics metrics;
  private final Duration answerTimeout;
  /** Questions accepted and not yet answered (their reply not yet out); read by the metrics gauge. */
  private final AtomicInteger pending = new AtomicInteger();
  private final Map<String, Deque<Slot>> waiting = new HashMap<>();
  private final Map<Long, Slot> byKey = new HashMap<>();
  private final LinkedHashSet<String> seen = new LinkedHashSet<>();
  private final DrainWaiters draining;

  private Optional<GatewaySocket> socket = Optional.empty();
  private long connection;
  private long attempt;
  private Optional<String> sessionId = Optional.empty();
  private Optional<String> resumeUrl = Optional.empty();
  private Optional<Long> sequence = Optional.empty();
  private Optional<String> botUserId = Optional.empty();
  private Duration heartbeat = Duration.ZERO;
  private boolean acked = true;
  private int failures;
  private long keys;
  private long busyReplies;
  private String state = "connecting";
  private Optional<String> lastError = Optional.empty();

  public static Behavior<Channel.Command> create(
      DiscordConfig config, ActorRef<ConversationsActor.Command> conversations, MeterRegistry registry,
      Duration requestTimeout) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new DiscordChannel(context, timers, config, conversations, registry, requestTimeout)));
  }

  private DiscordChannel(
      ActorContext<Channel.Command> context,
      TimerScheduler<Channel.Command> timers,
      DiscordConfig config,
      ActorRef<ConversationsActor.Command> conversations,
      MeterRegistry registry,
      Duration requestTimeout) {
    super(context);
    this.timers = timers;
    this.config = config;
    this.conversations = conversations;
    this.rest = new DiscordRest(config);
    this.sender = context.spawn(DiscordSender.create(config, rest), "sender");
    this.deliveredAdapter = context.messageAdapter(DiscordSender.Delivered.class, d -> new Delivered(d.key(), d.sent()));
    this.metrics = new ChannelMetrics(registry, DiscordConfig.NAME, pending::get, requestTimeout);
    this.draining = new DrainWaiters(DiscordConfig.NAME, pending::get, timers, DrainDeadline.INSTANCE);
    this.answerTimeout = requestTimeout.plus(ANSWER_MARGIN);
    context.getLog().info("Discord channel starting against {}", config.apiBaseUrl());
    connect();
  }

  @Override
  public Receive<Channel.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(GatewayFound.class, this::onGatewayFound)
        .onMessage(GatewayNotFound.class, this::onGatewayNotFound)
        .onMessage(Frame.class, this::onFrame)
        .onMessage(Closed.class, this::onClosed)
        .onMessage(Beat.class, this::onBeat)
        .onMessageEquals(Reconnect.INSTANCE, this::onReconnect)
        .onMessage(Answer.class, this::onAnswer)
        .onMessage(Delivered.class, this::onDelivered)
        .onMessage(Channel.GetStatus.class, this::onGetStatus)
        .onMessage(Channel.Drain.class, this::onDrain)
        .onMessageEquals(DrainDeadline.INSTANCE, this::onDrainDeadline)
        .onMessage(Channel.AdminNotice.class, notice -> this)
        .onSignal(PreRestart.class, signal -> onPreRestart())
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  // ---- the Gateway session ----

  /** Opens a connection: resuming at the session's own URL, or a fresh one at the Gateway's. */
  private void connect() {
    attempt++;
    if (sessionId.isPresent() && resumeUrl.isPresent()) {
      open(resumeUrl.get());
    } else if (!config.gatewayUrl().isEmpty()) {
      open(config.gatewayUrl());
    } else {
      long call = attempt;
      getContext().pipeToSelf(rest.gatewayBot(), (response, failure) -> {
        if (failure != null) {
          return new GatewayNotFound(call, rest.redact(String.valueOf(failure.getMessage())));
        }
        String url = response.body().map(b -> b.path("url").asText("")).orElse("");
        return response.ok() && !url.isEmpty()
            ? new GatewayFound(call, url)
            : new GatewayNotFound(call, "GET /gateway/bot: " + rest.redact(response.message()));
      });
    }
  }

  private Behavior<Channel.Command> onGatewayFound(GatewayFound found) {
    if (found.attempt() == attempt) {
      open(found.url());
    }
    return this;
  }

  private Behavior<Channel.Command> onGatewayNotFound(GatewayNotFound failed) {
    if (failed.attempt() == attempt) {
      retryLater(failed.why());
    }
    return this;
  }

  private void open(String url) {
    long id = ++connection;
    String withQuery = url + (url.contains("?") ? "&" : "?") + "v=10&encoding=json";
    ActorRef<Channel.Command> self = getContext().getSelf();
    acked = true;
    socket = Optional.of(GatewaySocket.open(getContext().getSystem(), withQuery,
        text -> self.tell(new Frame(id, text)), why -> self.tell(new Closed(id, why))));
  }

  private Behavior<Channel.Command> onFrame(Frame frame) {
    if (frame.connection() != connection) {
      return this;
    }
    Optional<JsonNode> parsed = Json.parse(frame.text());
    if (parsed.isEmpty() || !parsed.get().isObject()) {
      getContext().getLog().warn("Discord Gateway sent a frame that is not a JSON object ({} chars): ignored",
          frame.text().length());
      return this;
    }
    JsonNode event = parsed.get();
    if (event.path("s").isIntegralNumber()) {
      sequence = Optional.of(event.path("s").asLong());
    }
    switch (event.path("op").asInt(-1)) {
      case 10 -> onHello(event.path("d"));
      case 11 -> acked = true;
      case 1 -> sendHeartbeat();
      case 0 -> onDispatch(event.path("t").asText(""), event.path("d"));
      case 7 -> drop("the Gateway asked for a reconnect (op 7)");
      case 9 -> onInvalidSession(event.path("d").asBoolean(false));
      default -> { }
    }
    return this;
  }

  /** HELLO: beat from now on, the first after a random part of the interval; then resume or identify. */
  private void onHello(JsonNode hello) {
    heartbeat = Duration.ofMillis(Math.max(100, hello.path("heartbeat_interval").asLong(41_250)));
    long first = (long) (heartbeat.toMillis() * ThreadLocalRandom.current().nextDouble());
    acked = true;
    timers.startSingleTimer("beat", new Beat(connection), Duration.ofMillis(first));
    ObjectNode payload = Json.MAPPER.createObjectNode();
    if (sessionId.isPresent() && sequence.isPresent()) {
      state = "resuming";
      payload.put("op", 6);
      ObjectNode d = payload.putObject("d");
      d.put("token", config.token());
      d.put("session_id", sessionId.get());
      d.put("seq", sequence.get());
    } else {
      state = "identifying";
      payload.put("op", 2);
      ObjectNode d = payload.putObject("d");
      d.put("token", config.token());
      d.put("intents", INTENTS);
      ObjectNode properties = d.putObject("properties");
      properties.put("os", System.getProperty("os.name", "linux").toLowerCase(java.util.Locale.ROOT));
      properties.put("browser", "switchboard");
      properties.put("device", "switchboard");
    }
    send(payload);
  }

  private Behavior<Channel.Command> onBeat(Beat beat) {
    if (beat.connection() != connection || socket.isEmpty()) {
      return this;
    }
    if (!acked) {
      drop("no heartbeat ACK within " + heartbeat.toMillis() + " ms (a zombie connection)");
      return this;
    }
    sendHeartbeat();
    timers.startSingleTimer("beat", new Beat(connection), heartbeat);
    return this;
  }

  private void sendHeartbeat() {
    ObjectNode payload = Json.MAPPER.createObjectNode();
    payload.put("op", 1);
    sequence.ifPresentOrElse(s -> payload.put("d", s), () -> payload.putNull("d"));
    acked = false;
    send(payload);
  }

  private void onInvalidSession(boolean resumable) {
    if (!resumable) {
      getContext().getLog().warn("Discord invalidated the session: identifying again");
      sessionId = Optional.empty();
      resumeUrl = Optional.empty();
      sequence = Optional.empty();
    }
    closeSocket("the session was invalidated (op 9, resumable " + resumable + ")");
    state = "reconnecting";
    Duration wait = resumable ? config.backoff(1) : Duration.ofMillis(1000 + ThreadLocalRandom.current().nextLong(4000));
    timers.startSingleTimer(Reconnect.INSTANCE, wait);
  }

  private void onDispatch(String type, JsonNode data) {
    switch (type) {
      case "READY" -> {
        sessionId = Optional.of(data.path("session_id").asText("")).filter(s -> !s.isEmpty());
        resumeUrl = Optional.of(data.path("resume_gateway_url").asText("")).filter(s -> !s.isEmpty());
        botUserId = Optional.of(data.path("user").path("id").asText("")).filter(s -> !s.isEmpty());
        connected("session ready");
      }
      case "RESUMED" -> connected("session resumed");
      case "MESSAGE_CREATE" -> onMessage(data);
      default -> { }
    }
  }

  private void connected(String what) {
    if (failures > 0 || !state.equals("connected")) {
      getContext().getLog().info("Discord channel connected: {}", what);
    }
    state = "connected";
    failures = 0;
    lastError = Optional.empty();
  }

  /** Drops the connection without a normal close, so the session can be resumed. */
  private void drop(String why) {
    getContext().getLog().warn("Discord Gateway connection dropped: {}; resuming", why);
    closeSocket(why);
    state = "reconnecting";
    timers.startSingleTimer(Reconnect.INSTANCE, config.backoff(1));
  }

  private void closeSocket(String why) {
    socket.ifPresent(s -> s.abort(why));
    socket = Optional.empty();
    connection++;
    timers.cancel("beat");
  }

  private Behavior<Channel.Command> onClosed(Closed closed) {
    if (closed.connection() == connection) {
      socket = Optional.empty();
      timers.cancel("beat");
      retryLater(closed.why());
    }
    return this;
  }

  private void retryLater(String why) {
    failures++;
    Duration wait = config.backoff(failures);
    lastError = Optional.of(rest.redact(why));
    state = "reconnecting";
    getContext().getLog().warn("Discord Gateway: {}; connecting again in {} ms", lastError.get(), wait.toMillis());
    timers.startSingleTimer(Reconnect.INSTANCE, wait);
  }

  private Behavior<Channel.Command> onReconnect() {
    if (socket.isEmpty()) {
      connect();
    }
    return this;
  }

  private void send(JsonNode payload) {
    if (socket.isPresent() && !socket.get().send(payload.toString())) {
      drop("could not queue a frame to the Gateway");
    }
  }

  // ---- messages and replies ----

  private void onMessage(JsonNode message) {
    JsonNode author = message.path("author");
    String channelId = message.path("channel_id").asText("");
    String id = message.path("id").asText("");
    String content = message.path("content").asText("");
    if (author.path("bot").asBoolean(false) || botUserId.map(author.path("id").asText("")::equals).orElse(false)
        || channelId.isEmpty() || id.isEmpty() || content.isBlank() || !config.allows(channelId)) {
      return;
    }
    if (!remember(id)) {
      getContext().getLog().debug("Discord message {} seen again (a resume replayed it): already answered", id);
      return;
    }
    if (pending.get() >= config.maxPendingMessages()) {
      busyReplies++;
      metrics.busy();
      Slot slot = slot(channelId, false);
      slot.pieces = List.of(config.busyReply());
      slot.outcome = Replies.BUSY_OUTCOME;
      flush(channelId);
      return;
    }
    pending.incrementAndGet();
    Slot slot = slot(channelId, true);
    getContext().ask(RouteResult.class, conversations, answerTimeout,
        replyTo -> new ConversationsActor.UserMessage("discord:" + channelId, content, replyTo),
        (result, failure) -> new Answer(slot.key, result));
  }

  private Slot slot(String channelId, boolean question) {
    Slot slot = new Slot(++keys, channelId, question);
    waiting.computeIfAbsent(channelId, c -> new ArrayDeque<>()).add(slot);
    byKey.put(slot.key, slot);
    return slot;
  }

  /** Whether {@code id} is new; remembers the last {@link #REMEMBERED} ids. */
  private boolean remember(String id) {
    if (!seen.add(id)) {
      return false;
    }
    if (seen.size() > REMEMBERED) {
      var oldest = seen.iterator();
      oldest.next();
      oldest.remove();
    }
    return true;
  }

  private Behavior<Channel.Command> onAnswer(Answer answer) {
    Slot slot = byKey.get(answer.key());
    if (slot != null) {
      slot.pieces = Replies.split(Replies.text(answer.result()), MAX_MESSAGE_LENGTH);
      slot.outcome = Replies.outcome(answer.result());
      flush(slot.channelId);
    }
    return this;
  }

  /** Hands the channel's ready replies to the sender, in arrival order: a reply waits for every earlier one. */
  private void flush(String channelId) {
    Deque<Slot> queue = waiting.get(channelId);
    while (queue != null && !queue.isEmpty() && queue.peek().pieces != null) {
      Slot next = queue.poll();
      sender.tell(new DiscordSender.Send(channelId, next.key, next.pieces, deliveredAdapter));
    }
    if (queue != null && queue.isEmpty()) {
      waiting.remove(channelId);
    }
  }

  private Behavior<Channel.Command> onDelivered(Delivered delivered) {
    Slot slot = byKey.remove(delivered.key());
    if (slot == null) {
      return this;
    }
    metrics.request(slot.outcome, slot.startNanos);
    if (slot.question) {
      pending.decrementAndGet();
      draining.pendingChanged();
    }
    return this;
  }

  // ---- the channel contract ----

  private Behavior<Channel.Command> onGetStatus(Channel.GetStatus get) {
    get.replyTo().tell(new ChannelStatus(
        DiscordConfig.NAME, pending.get(), config.maxPendingMessages(), state, lastError, busyReplies));
    return this;
  }

  private Behavior<Channel.Command> onDrain(Channel.Drain drain) {
    draining.add(drain);
    return this;
  }

  private Behavior<Channel.Command> onDrainDeadline() {
    draining.answer();
    return this;
  }

  /** The next incarnation connects anew (and identifies: the session's sequence is this one's). */
  private Behavior<Channel.Command> onPreRestart() {
    socket.ifPresent(s -> s.abort("the Discord channel restarts"));
    draining.answer();
    return this;
  }

  private Behavior<Channel.Command> onPostStop() {
    socket.ifPresent(s -> s.abort("the Discord channel stopped"));
    draining.answer();
    metrics.close();
    return this;
  }
}
