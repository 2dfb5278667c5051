package switchboard.supervision;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URLEncoder;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.ChildFailed;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import switchboard.channels.Channel;
import switchboard.channels.ChannelContext;
import switchboard.channels.ChannelSettings;
import switchboard.channels.GatewayStatus;
import switchboard.channels.http.HttpChannel;
import switchboard.providers.Decorator;
import switchboard.providers.FileProviderState;
import switchboard.providers.OutcomeKind;
import switchboard.providers.PekkoProviderState;
import switchboard.providers.ProviderActor;
import switchboard.providers.ProviderEvents;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.observe.CompositeEvents;
import switchboard.providers.observe.ProviderCallLog;
import switchboard.providers.observe.ProviderHistory;
import switchboard.providers.observe.ProviderMetrics;
import switchboard.router.ConversationsActor;
import switchboard.router.FallbackPlan;
import switchboard.router.ProviderHandle;
import switchboard.router.RouteResult;
import switchboard.router.RouterActor;
import switchboard.router.RouterEvents;
import switchboard.router.ShardedConversations;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;
import switchboard.supervision.cluster.ClusterView;
import switchboard.supervision.ops.AlertsActor;
import switchboard.supervision.ops.ShutdownRecord;

/**
 * The gateway's guardian. It spawns the provider actors, the router, the conversations and the
 * channels, wiring them by reference, each under a restart-with-backoff supervisor: a failure in any
 * of them (an exception while parsing a provider response, a crashed conversation, a channel that
 * lost its binding) restarts that child only, so the root itself is never restarted by a child.
 * Restarts never give up (the backoff is bounded instead, at most {@link #MAX_BACKOFF} between
 * tries): a child let go would leave the others holding a dead reference, and the messages sent to
 * it would only be answered by the request timeout.
 */
public final class GatewayRoot extends AbstractBehavior<GatewayRoot.Command> {

  /** Backoff of a failing child: 200 ms, doubling up to 10 s, with 20% jitter. */
  static final Duration MIN_BACKOFF = Duration.ofMillis(200);

  static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

  static final Duration RESET_AFTER = Duration.ofSeconds(30);

  /** How long past the drain's deadline the root still waits for a channel's own (timed) answer. */
  static final Duration DRAIN_SLACK = Duration.ofSeconds(1);

  public sealed interface Command {}

  /** Reply with the running children, for the {@link Gateway} and for tests. */
  public record GetChildren(ActorRef<Children> replyTo) implements Command {}

  /**
   * Stop accepting messages on every channel and reply once the messages already accepted are
   * answered, or {@code timeout} has passed.
   */
  public record Drain(Duration timeout, ActorRef<Drained> replyTo) implements Command {}

  /** The answer to {@link Drain}: how many accepted messages were still unanswered (0 = all answered). */
  public record Drained(int unanswered) {}

  /**
   * The children as the root spawned them; a restarted child keeps its reference. {@code channels}
   * are the enabled ones by name, in start order (in a cluster, a one-per-cluster channel is the
   * proxy to its singleton).
   */
  public record Children(
      Map<String, ActorRef<ProviderActor.Command>> providers,
      ActorRef<RouterActor.Command> router,
      ActorRef<ConversationsActor.Command> conversations,
      Map<String, ActorRef<Channel.Command>> channels,
      ActorRef<AlertsActor.Command> alerts,
      ActorRef<GatewayStatus.Command> status) {

    /** The channel called {@code name}, when it runs. */
    public Optional<ActorRef<Channel.Command>> channel(String name) {
      return Optional.ofNullable(channels.get(name));
    }

    /** The HTTP channel, when it runs. */
    public Optional<ActorRef<Channel.Command>> http() {
      return channel(HttpChannel.NAME);
    }
  }

  private enum DrainDeadline implements Command {
    INSTANCE
  }

  /** A channel's answer to its {@link Channel.Drain}. */
  private record ChannelDrained(Channel.Drained drained) implements Command {}

  /** An alert for whichever channel has an admin destination: handed to every channel. */
  private record NotifyAdmin(String text) implements Command {}

  private final TimerScheduler<Command> timers;
  private final Children children;
  /** The channels a drain waits for: those running on this node (not a singleton that lives on another). */
  private final List<String> drainable = new ArrayList<>();
  private final Map<ActorRef<?>, String> names = new HashMap<>();
  private final List<ActorRef<Drained>> drainWaiters = new ArrayList<>();
  private final Map<String, Integer> drainedChannels = new LinkedHashMap<>();
  private boolean draining;
  private Optional<Drained> drained = Optional.empty();

  /** The root of a gateway running {@code config}; channel and provider meters go to {@code registry}. */
  public static Behavior<Command> create(GatewayConfig config, PrometheusMeterRegistry registry) {
    return create(config, registry, Optional.empty());
  }

  /** Like {@link #create(GatewayConfig, PrometheusMeterRegistry)}; {@code /api/status} also shows {@code lastShutdown}. */
  public static Behavior<Command> create(
      GatewayConfig config, PrometheusMeterRegistry registry, Optional<ShutdownRecord> lastShutdown) {
    return Behaviors.setup(
        context -> Behaviors.withTimers(timers -> new GatewayRoot(context, timers, config, registry, lastShutdown)));
  }

  private GatewayRoot(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      GatewayConfig config,
      PrometheusMeterRegistry registry,
      Optional<ShutdownRecord> lastShutdown) {
    super(context);
    this.timers = timers;

    ActorRef<Command> self = context.getSelf();
    ActorRef<AlertsActor.Command> alerts = spawn(
        AlertsActor.create(config.alerts(), fallbackPlan(config), Optional.of(text -> self.tell(new NotifyAdmin(text)))),
        "alerts");
    ProviderMetrics providerMetrics = new ProviderMetrics(registry);
    ProviderHistory providerHistory = new ProviderHistory();
    ProviderEvents events =
        CompositeEvents.of(new ProviderCallLog(), providerMetrics, AlertsActor.asProviderEvents(alerts), providerHistory);

    Map<String, ActorRef<ProviderActor.Command>> providers = new LinkedHashMap<>();
    List<ProviderHandle> handles = new ArrayList<>();
    for (ProviderConfig provider : config.usableProviders()) {
      providerMetrics.register(provider.name(), provider.keyAliases());
      ActorRef<ProviderActor.Command> ref =
          spawn(
              ProviderActor.create(provider, config.retry(), config.breaker(), events, providerState(config),
                  config.cluster().enabled()),
              "provider-" + URLEncoder.encode(provider.name(), StandardCharsets.UTF_8));
      providers.put(provider.name(), ref);
      handles.add(new ProviderHandle(provider.name(), provider.priority(), provider.fallbackOnly(), ref, provider.model()));
    }
    for (String warning : config.warnings()) {
      context.getLog().warn(warning);
    }

    ActorRef<RouterActor.Command> router =
        spawn(
            RouterActor.create(handles, config.router(), routerEvents(providerMetrics, alerts, handles.size(), config),
                config.routes()),
            "router");
    ActorRef<ConversationsActor.Command> conversations =
        spawn(config.cluster().enabled()
                ? ShardedConversations.create(router, config.conversations())
                : ConversationsActor.create(router, config.conversations()),
            "conversations");
    ActorRef<GatewayStatus.Command> status =
        spawn(StatusActor.create(router, alerts, lastShutdown, config.cluster().enabled()), "status");
    var system = context.getSystem();
    ChannelContext channelContext = new ChannelContext(
        router, conversations, registry, config.router().requestTimeout(), config.dataDir(), status, providerHistory,
        config.cluster().enabled() ? () -> ClusterView.notServing(system) : Optional::empty);
    Map<String, ActorRef<Channel.Command>> channels = new LinkedHashMap<>();
    for (ChannelSettings channel : config.enabledChannels()) {
      boolean singleton = channel.onePerCluster() && config.cluster().enabled();
      ActorRef<Channel.Command> ref = singleton
          ? ClusterSingleton.get(system).init(SingletonActor.of(supervised(Decorator.decorate(system, channel.behavior(channelContext))), channel.name()))
          : spawn(channel.behavior(channelContext), channel.name());
      if (!singleton) {
        drainable.add(channel.name());
      }
      channels.put(channel.name(), ref);
      status.tell(new StatusActor.ChannelStarted(channel.name(), ref));
    }
    this.children = new Children(Map.copyOf(providers), router, conversations, channels, alerts, status);
    context.getLog().info(
        "gateway started: providers {} by priority, channels {}",
        handles.stream().map(ProviderHandle::name).toList(), List.copyOf(channels.keySet()));
  }

  /**
   * Providers keep their breakers and spend in the gateway's store (files of an earlier version under
   * {@code data-dir} are moved into it once); an actor system without a store keeps them in files.
   */
  private static ProviderActor.StateStores providerState(GatewayConfig config) {
    Optional<Path> dataDir = Optional.of(config.dataDir());
    Optional<String> node = config.cluster().enabled() ? Optional.of(config.cluster().self()) : Optional.empty();
    return (system, provider) -> PekkoProviderState.available(system)
        ? new PekkoProviderState(system, provider, dataDir, node)
        : new FileProviderState(config.dataDir(), provider, system.dispatchers().lookup(DispatcherSelector.blocking()));
  }

  /** Where messages go when a provider fails, for the alerts' texts (no actors needed to know it). */
  private static FallbackPlan fallbackPlan(GatewayConfig config) {
    List<ProviderHandle> order = config.usableProviders().stream()
        .map(p -> new ProviderHandle(p.name(), p.priority(), p.fallbackOnly(), null))
        .toList();
    Map<String, Integer> keys = new HashMap<>();
    config.usableProviders().forEach(p -> keys.put(p.name(), Math.max(1, p.apiKeys().size())));
    return FallbackPlan.of(order, config.router(), keys);
  }

  /** Fallbacks become metrics; a message that no provider could answer becomes an alert. */
  private static RouterEvents routerEvents(
      ProviderMetrics metrics, ActorRef<AlertsActor.Command> alerts, int providerCount, GatewayConfig config) {
    return new RouterEvents() {
      @Override
      public void fallback(String from, String to, OutcomeKind kind) {
        metrics.fallback(from, to, kind);
      }

      @Override
      public void routed(RouteResult result, Duration elapsed) {
        if (result instanceof RouteResult.Failed failed
            && config.router().fallbackOn().contains(failed.kind())
            && failed.attempts().size() >= providerCount) {
          alerts.tell(new AlertsActor.AllProvidersDown(failed.message()));
        }
      }
    };
  }

  /** Spawns {@code behavior} under the gateway's bounded restart-with-backoff and watches it. */
  private <T> ActorRef<T> spawn(Behavior<T> behavior, String name) {
    ActorRef<T> ref = getContext().spawn(supervised(Decorator.decorate(getContext().getSystem(), behavior)), name);
    getContext().watch(ref);
    names.put(ref, name);
    return ref;
  }

  static <T> Behavior<T> supervised(Behavior<T> behavior) {
    return Behaviors.supervise(behavior)
        .onFailure(
            SupervisorStrategy.restartWithBackoff(MIN_BACKOFF, MAX_BACKOFF, 0.2)
                .withResetBackoffAfter(RESET_AFTER));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(GetChildren.class, get -> onGetChildren(get.replyTo()))
        .onMessage(Drain.class, this::onDrain)
        .onMessage(ChannelDrained.class, this::onChannelDrained)
        .onMessageEquals(DrainDeadline.INSTANCE, this::onDrainDeadline)
        .onMessage(NotifyAdmin.class, this::onNotifyAdmin)
        .onSignal(ChildFailed.class, this::onChildFailed)
        .onSignal(Terminated.class, this::onTerminated)
        .build();
  }

  private Behavior<Command> onGetChildren(ActorRef<Children> replyTo) {
    replyTo.tell(children);
    return this;
  }

  /**
   * Asks every channel running on this node to drain ({@link Channel.Drain}: no new messages, or kept
   * for after the restart, and an answer once the accepted ones are answered) and replies once all
   * have answered, or a little after {@code timeout}. A one-per-cluster channel on another node is
   * not waited for: it keeps running there, and moves with its bookkeeping when its node stops.
   */
  private Behavior<Command> onDrain(Drain drain) {
    if (drained.isPresent()) {
      drain.replyTo().tell(drained.get());
      return this;
    }
    drainWaiters.add(drain.replyTo());
    if (!draining) {
      draining = true;
      ActorRef<Channel.Drained> answers = getContext().messageAdapter(Channel.Drained.class, ChannelDrained::new);
      drainable.forEach(name -> children.channels().get(name).tell(new Channel.Drain(drain.timeout(), answers)));
      timers.startSingleTimer(DrainDeadline.INSTANCE, drain.timeout().plus(DRAIN_SLACK));
      finishDrainWhenDone();
    }
    return this;
  }

  private Behavior<Command> onChannelDrained(ChannelDrained answer) {
    drainedChannels.put(answer.drained().channel(), answer.drained().unanswered());
    finishDrainWhenDone();
    return this;
  }

  private Behavior<Command> onDrainDeadline() {
    drainable.stream().filter(name -> !drainedChannels.containsKey(name)).forEach(name ->
        getContext().getLog().warn("the {} channel did not report its drain; its pending count is unknown", name));
    finish();
    return this;
  }

  private void finishDrainWhenDone() {
    if (drainedChannels.keySet().containsAll(drainable)) {
      finish();
    }
  }

  private void finish() {
    if (drained.isPresent()) {
      return;
    }
    timers.cancel(DrainDeadline.INSTANCE);
    drained = Optional.of(new Drained(drainedChannels.values().stream().mapToInt(Integer::intValue).sum()));
    drainWaiters.forEach(waiting -> waiting.tell(drained.get()));
    drainWaiters.clear();
  }

  private Behavior<Command> onNotifyAdmin(NotifyAdmin notify) {
    children.channels().values().forEach(channel -> channel.tell(new Channel.AdminNotice(notify.text())));
    return this;
  }

  /**
   * A child that stopped because of a failure its supervisor did not restart (it should always
   * restart): said once, loudly, so an operator restarts the gateway; the root carries on.
   */
  private Behavior<Command> onChildFailed(ChildFailed failed) {
    getContext().getLog().error(
        "{} failed and is no longer running: {}",
        names.getOrDefault(failed.getRef(), failed.getRef().path().name()),
        failed.getCause().toString(),
        failed.getCause());
    return this;
  }

  private Behavior<Command> onTerminated(Terminated terminated) {
    String name = names.getOrDefault(terminated.getRef(), terminated.getRef().path().name());
    if (!draining) {
      getContext().getLog().warn("{} stopped", name);
    }
    return this;
  }
}
