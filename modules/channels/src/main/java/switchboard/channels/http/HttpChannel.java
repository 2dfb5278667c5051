package switchboard.channels.http;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import switchboard.channels.ChannelMetrics;
import switchboard.channels.ChannelStatus;
import switchboard.channels.Channel;
import switchboard.channels.ChannelContext;

/**
 * The HTTP channel: binds the Pekko HTTP server of the API (OpenAI-compatible chat completions,
 * conversations, status, health, metrics) when it starts and unbinds it when it stops or restarts.
 * A bind failure throws, so the parent's restart-with-backoff retries binding; any failure restarts
 * it the same way: the old server is unbound before the new one binds. The routes themselves live in {@link HttpApi}; this actor owns the binding,
 * the pending count and the meters of one incarnation. For a shutdown it {@link Channel.Drain drains}: new
 * messages are refused at once, and it says when the ones it accepted are all answered.
 */
public final class HttpChannel extends AbstractBehavior<Channel.Command> {

  /** The channel's name in {@code /api/status}, metrics and conversation ids ({@code http:<id>}). */
  public static final String NAME = "http";

  /** Added to the request timeout for asks to the router and conversations: delivery and scheduling slack. */
  static final Duration ASK_MARGIN = Duration.ofSeconds(2);

  /**
   * What the HTTP channel understands beyond the {@link Channel} contract: its {@link Channel.GetStatus
   * status} has state {@code binding}, {@code serving}, {@code draining} or {@code stopped}; a {@link
   * Channel.Drain drain} answers every new message {@code 503 unavailable} at once (health, status and
   * metrics still answer) and, once the accepted ones are answered or the time is up, unbinds and
   * closes the connections after their last responses; admin notices are ignored.
   */
  public sealed interface Command extends Channel.Command {}

  /** Reply with the bound address once the server is bound (at once if it already is). */
  public record GetBinding(ActorRef<InetSocketAddress> replyTo) implements Command {}

  private record Bound(ServerBinding binding) implements Command {}

  private record BindFailed(Throwable cause) implements Command {}

  /** The drain's gate released its last permit. */
  private enum GateEmpty implements Command {
    INSTANCE
  }

  private enum DrainDeadline implements Command {
    INSTANCE
  }

  /** The server is unbound and its connections closed, the last responses written: the drain is over. */
  private record ConnectionsClosed(int unanswered) implements Command {}

  /** The last answer's response has had time to leave: close the connections now. */
  private enum ResponsesFlushed implements Command {
    INSTANCE
  }

  /**
   * How long the connections stay open after the last accepted message got its answer. Pekko's
   * graceful terminate waits for requests still in a route, but aborts a connection whose response
   * was handed over a moment ago and is not yet written; this gives such a response time to leave.
   */
  static final Duration FLUSH_GRACE = Duration.ofMillis(300);

  /** How long requests still in a route may take once the connections are being closed. */
  static final Duration RESPONSE_GRACE = Duration.ofSeconds(3);

  private final HttpChannelConfig config;
  private final TimerScheduler<Channel.Command> timers;
  private final PendingGate gate;
  private final ChannelMetrics metrics;
  private final CompletionStage<ServerBinding> bindFuture;
  private final List<ActorRef<InetSocketAddress>> waitingForBinding = new ArrayList<>();
  private ServerBinding binding;
  private final List<ActorRef<Channel.Drained>> waitingForDrain = new ArrayList<>();
  private Optional<Instant> drainDeadline = Optional.empty();
  private Optional<Channel.Drained> drained = Optional.empty();
  private boolean closing;
  /** Read by the routes on Pekko HTTP's threads for {@code /api/status}. */
  private volatile String state = "binding";

  /**
   * The channel, as the gateway starts it: asks to the router and the conversations wait {@code
   * request-timeout} plus a small margin before answering {@code 503 unavailable}; {@code /api/status}
   * renders what the context's status actor gathers.
   */
  public static Behavior<Channel.Command> create(HttpChannelConfig config, ChannelContext context) {
    return Behaviors.setup(actor -> Behaviors.withTimers(timers -> new HttpChannel(actor, timers, config, context)));
  }

  private HttpChannel(
      ActorContext<Channel.Command> context,
      TimerScheduler<Channel.Command> timers,
      HttpChannelConfig config,
      ChannelContext channel) {
    super(context);
    Duration requestTimeout = channel.requestTimeout();
    this.config = config;
    this.timers = timers;
    this.gate = new PendingGate(config.maxPendingMessages());
    this.metrics = new ChannelMetrics(channel.registry(), NAME, gate::pending, requestTimeout);
    Duration askTimeout = requestTimeout.plus(ASK_MARGIN);
    HttpApi api = new HttpApi(
        config, askTimeout, channel.router(), channel.conversations(), channel.status(), channel.registry(),
        context.getSystem(), gate, metrics, channel.notServing(), channel.providerHistory(), idempotencyStore(context));
    this.bindFuture =
        Http.get(context.getSystem())
            .newServerAt(config.host(), config.port())
            .withSettings(serverSettings(context.getSystem(), askTimeout))
            .bind(api.route());
    context.pipeToSelf(bindFuture, (bound, failure) -> failure == null ? new Bound(bound) : new BindFailed(failure));
  }

  /**
   * The keeper of {@code /v1} idempotency keys, when the actor system has a store (the gateway always
   * has; a channel started without one ignores the header).
   */
  private static Optional<ActorRef<IdempotencyStore.Command>> idempotencyStore(ActorContext<Channel.Command> context) {
    if (context.getSystem().settings().config().getString("pekko.persistence.journal.plugin").isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(context.spawn(
        Behaviors.supervise(IdempotencyStore.create())
            .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2)),
        "idempotency"));
  }

  /**
   * Pekko HTTP's own request timeout (default 20s) would answer a slow message with its plain-text 503
   * before the router does; the channel's ask timeout decides instead, with the server's as a backstop.
   */
  private static ServerSettings serverSettings(ActorSystem<?> system, Duration askTimeout) {
    ServerSettings defaults = ServerSettings.create(system.classicSystem());
    long backstopMillis = askTimeout.plus(HttpApi.BODY_TIMEOUT).toMillis();
    scala.concurrent.duration.Duration backstop =
        scala.concurrent.duration.Duration.create(backstopMillis, TimeUnit.MILLISECONDS);
    scala.concurrent.duration.Duration idle = defaults.getTimeouts().idleTimeout();
    if (idle.isFinite() && idle.toMillis() < backstopMillis) {
      idle = backstop;
    }
    return defaults.withTimeouts(defaults.getTimeouts().withRequestTimeout(backstop).withIdleTimeout(idle));
  }

  @Override
  public Receive<Channel.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Channel.GetStatus.class, this::onGetStatus)
        .onMessage(GetBinding.class, this::onGetBinding)
        .onMessage(Bound.class, this::onBound)
        .onMessage(BindFailed.class, this::onBindFailed)
        .onMessage(Channel.Drain.class, this::onDrain)
        .onMessage(Channel.AdminNotice.class, notice -> this)
        .onMessageEquals(GateEmpty.INSTANCE, this::onGateEmpty)
        .onMessageEquals(ResponsesFlushed.INSTANCE, () -> finishDrain(0))
        .onMessageEquals(DrainDeadline.INSTANCE, () -> finishDrain(gate.pending()))
        .onMessage(ConnectionsClosed.class, this::onConnectionsClosed)
        .onSignal(PreRestart.class, signal -> onPreRestart())
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  private Behavior<Channel.Command> onGetStatus(Channel.GetStatus get) {
    get.replyTo().tell(new ChannelStatus(NAME, gate.pending(), gate.max(), state, Optional.empty(), gate.busyReplies()));
    return this;
  }

  private Behavior<Channel.Command> onGetBinding(GetBinding get) {
    if (binding != null) {
      get.replyTo().tell(binding.localAddress());
    } else {
      waitingForBinding.add(get.replyTo());
    }
    return this;
  }

  private Behavior<Channel.Command> onBound(Bound bound) {
    binding = bound.binding();
    if (drainDeadline.isEmpty()) {
      state = "serving";
    }
    getContext().getLog().info("HTTP channel serving on {}", binding.localAddress());
    waitingForBinding.forEach(waiting -> waiting.tell(binding.localAddress()));
    waitingForBinding.clear();
    return this;
  }

  private Behavior<Channel.Command> onBindFailed(BindFailed failed) {
    handWaitersToNextIncarnation();
    throw new IllegalStateException(
        "HTTP channel could not bind " + config.host() + ":" + config.port() + ": " + failed.cause().getMessage(),
        failed.cause());
  }

  private Behavior<Channel.Command> onDrain(Channel.Drain drain) {
    if (drained.isPresent()) {
      drain.replyTo().tell(drained.get());
      return this;
    }
    waitingForDrain.add(drain.replyTo());
    if (drainDeadline.isEmpty()) {
      drainDeadline = Optional.of(Instant.now().plus(drain.timeout()));
      state = "draining";
      getContext().getLog().info(
          "HTTP channel draining: no new messages, {} accepted ones still to answer", gate.pending());
      timers.startSingleTimer(DrainDeadline.INSTANCE, drain.timeout());
      ActorRef<Channel.Command> self = getContext().getSelf();
      gate.close(() -> self.tell(GateEmpty.INSTANCE));
    }
    return this;
  }

  /** Every accepted message answered: close the connections once the last responses are out. */
  private Behavior<Channel.Command> onGateEmpty() {
    timers.startSingleTimer(ResponsesFlushed.INSTANCE, FLUSH_GRACE);
    return this;
  }

  /**
   * Every accepted message answered (or the time is up): unbind and close the connections once
   * their last responses are written (Pekko's graceful terminate), so an answer is never cut off
   * by the actor system stopping right after the drain.
   */
  private Behavior<Channel.Command> finishDrain(int unanswered) {
    if (drained.isEmpty() && !closing) {
      closing = true;
      timers.cancel(DrainDeadline.INSTANCE);
      state = "stopped";
      getContext().pipeToSelf(
          bindFuture.thenCompose(binding -> binding.terminate(RESPONSE_GRACE)),
          (terminated, failure) -> new ConnectionsClosed(unanswered));
    }
    return this;
  }

  private Behavior<Channel.Command> onConnectionsClosed(ConnectionsClosed closed) {
    drained = Optional.of(new Channel.Drained(NAME, closed.unanswered()));
    getContext().getLog().info("HTTP channel drained: {} accepted messages unanswered", closed.unanswered());
    waitingForDrain.forEach(waiting -> waiting.tell(drained.get()));
    waitingForDrain.clear();
    return this;
  }

  /** The mailbox survives a restart: re-queued, the waiters are answered once the new server is bound. */
  private void handWaitersToNextIncarnation() {
    waitingForBinding.forEach(waiting -> getContext().getSelf().tell(new GetBinding(waiting)));
    waitingForBinding.clear();
  }

  /** A drain in progress carries on in the next incarnation, with the time it has left. */
  private void handDrainToNextIncarnation() {
    Duration left = drainDeadline.map(d -> Duration.between(Instant.now(), d)).filter(d -> !d.isNegative())
        .orElse(Duration.ZERO);
    waitingForDrain.forEach(waiting -> getContext().getSelf().tell(new Channel.Drain(left, waiting)));
    waitingForDrain.clear();
  }

  private Behavior<Channel.Command> onPreRestart() {
    handDrainToNextIncarnation();
    unbind();
    return this;
  }

  private Behavior<Channel.Command> onPostStop() {
    waitingForDrain.forEach(waiting -> waiting.tell(new Channel.Drained(NAME, gate.pending())));
    waitingForDrain.clear();
    unbind();
    metrics.close();
    return this;
  }

  /** Stops accepting connections; a bind still in flight is undone when it completes. */
  private void unbind() {
    state = "stopped";
    bindFuture.thenAccept(ServerBinding::unbind);
  }
}
