package switchboard.supervision;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URLEncoder;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
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
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import switchboard.channels.ChannelStatusProbe;
import switchboard.channels.ChannelStatus;
import switchboard.channels.http.HttpChannel;
import switchboard.channels.http.StatusExtras;
import switchboard.channels.telegram.TelegramChannel;
import switchboard.channels.telegram.TelegramLedger;
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
import switchboard.supervision.ops.Alert;
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

  /** How often a drain asks the Telegram channel for its pending count (it has no drain protocol). */
  static final Duration DRAIN_POLL = Duration.ofMillis(50);

  /** How long past the drain's deadline the root still waits for the HTTP channel's own (timed) answer. */
  static final Duration HTTP_DRAIN_SLACK = Duration.ofSeconds(1);

  /** How long a status probe of another channel, or the alerts actor, may take. */
  static final Duration STATUS_TIMEOUT = Duration.ofSeconds(2);

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

  /** The children as the root spawned them; a restarted child keeps its reference. */
  public record Children(
      Map<String, ActorRef<ProviderActor.Command>> providers,
      ActorRef<RouterActor.Command> router,
      ActorRef<ConversationsActor.Command> conversations,
      Optional<ActorRef<HttpChannel.Command>> http,
      Optional<ActorRef<TelegramChannel.Command>> telegram,
      ActorRef<AlertsActor.Command> alerts) {}

  private enum DrainTick implements Command {
    INSTANCE
  }

  /** The HTTP channel's answer to its {@link HttpChannel.Drain}. */
  private record HttpDrained(int unanswered) implements Command {}

  /** The Telegram channel's pending count, asked for during a drain. */
  private record TelegramPending(int pending) implements Command {}

  /** An alert for the admin chat ({@code alerts.telegram-chat-id}), passed on to the Telegram channel. */
  private record NotifyAdmin(long chatId, String text) implements Command {}

  private record Draining(Instant deadline, List<ActorRef<Drained>> replyTo) {}

  private final TimerScheduler<Command> timers;
  private final Children children;
  private final boolean clustered;
  private final Map<ActorRef<?>, String> names = new HashMap<>();
  private Optional<Draining> draining = Optional.empty();
  /** The HTTP channel's unanswered count once it has drained; empty while it drains. */
  private Optional<Integer> httpUnanswered = Optional.empty();
  private int telegramPending;
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
    this.clustered = config.cluster().enabled();

    ActorRef<Command> self = context.getSelf();
    Optional<java.util.function.Consumer<String>> adminChat =
        config.telegram().enabled()
            ? config.alerts().telegramChatId().map(chatId -> text -> self.tell(new NotifyAdmin(chatId, text)))
            : Optional.empty();
    ActorRef<AlertsActor.Command> alerts =
        spawn(AlertsActor.create(config.alerts(), fallbackPlan(config), adminChat), "alerts");
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
    Optional<ActorRef<TelegramChannel.Command>> telegram =
        !config.telegram().enabled() ? Optional.empty()
            : config.cluster().enabled() ? Optional.of(telegramSingleton(config, conversations, registry))
            : Optional.of(
                spawn(
                    TelegramChannel.create(
                        config.telegram(), conversations, config.dataDir(), registry, config.router().requestTimeout(),
                        Optional.of(spawn(TelegramLedger.create(), "telegram-ledger"))),
                    TelegramChannel.NAME));
    List<ChannelStatusProbe> otherChannels = telegram.map(t -> List.of(probe(t))).orElse(List.of());
    Optional<ActorRef<HttpChannel.Command>> http =
        config.http().enabled()
            ? Optional.of(
                spawn(
                    HttpChannel.create(
                        config.http(), router, conversations, otherChannels, registry,
                        config.router().requestTimeout(), statusExtras(alerts, lastShutdown, config), providerHistory),
                    HttpChannel.NAME))
            : Optional.empty();
    this.children = new Children(Map.copyOf(providers), router, conversations, http, telegram, alerts);
    List<String> channels = new ArrayList<>();
    http.ifPresent(h -> channels.add(HttpChannel.NAME));
    telegram.ifPresent(t -> channels.add("telegram"));
    context.getLog().info(
        "gateway started: providers {} by priority, channels {}",
        handles.stream().map(ProviderHandle::name).toList(), channels);
  }

  /**
   * In a cluster exactly one node polls Telegram: the channel (with its ledger, whose bookkeeping is in
   * the shared store) is a Cluster Singleton on the oldest node, and every node talks to it through
   * the returned proxy. When that node goes, the next oldest starts it and reads the ledger.
   */
  private ActorRef<TelegramChannel.Command> telegramSingleton(
      GatewayConfig config, ActorRef<ConversationsActor.Command> conversations, PrometheusMeterRegistry registry) {
    Behavior<TelegramChannel.Command> channel = Behaviors.setup(context -> {
      ActorRef<TelegramLedger.Command> ledger = context.spawn(supervised(TelegramLedger.create()), "telegram-ledger");
      return Behaviors.supervise(TelegramChannel.create(
              config.telegram(), conversations, config.dataDir(), registry, config.router().requestTimeout(), Optional.of(ledger)))
          .onFailure(SupervisorStrategy.restartWithBackoff(MIN_BACKOFF, MAX_BACKOFF, 0.2)
              .withResetBackoffAfter(RESET_AFTER).withStopChildren(false));
    });
    return ClusterSingleton.get(getContext().getSystem()).init(SingletonActor.of(channel, TelegramChannel.NAME));
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

  private ChannelStatusProbe probe(ActorRef<TelegramChannel.Command> telegram) {
    var system = getContext().getSystem();
    return () -> AskPattern.ask(telegram, TelegramChannel.GetStatus::new, STATUS_TIMEOUT, system.scheduler());
  }

  /**
   * What {@code /api/status} shows beyond the channels' view: {@code alerts} (the recent ones, newest
   * first; left out when the alerts actor does not answer) and {@code last_shutdown} (when known).
   */
  private StatusExtras statusExtras(
      ActorRef<AlertsActor.Command> alerts, Optional<ShutdownRecord> lastShutdown, GatewayConfig config) {
    var system = getContext().getSystem();
    StatusExtras extras = () -> AskPattern.<AlertsActor.Command, List<Alert>>ask(
            alerts, AlertsActor.GetRecent::new, STATUS_TIMEOUT, system.scheduler())
        .toCompletableFuture()
        .thenApply(Optional::of)
        .exceptionally(failure -> Optional.empty())
        .thenApply(recent -> {
          Map<String, Object> fields = new LinkedHashMap<>();
          recent.ifPresent(list -> fields.put("alerts", list.stream().map(Alert::toJson).toList()));
          lastShutdown.ifPresent(record -> fields.put("last_shutdown", record.toJson()));
          if (config.cluster().enabled()) {
            fields.put("cluster", ClusterView.json(system));
          }
          return fields;
        });
    if (!config.cluster().enabled()) {
      return extras;
    }
    return new StatusExtras() {
      @Override
      public java.util.concurrent.CompletionStage<Map<String, Object>> fields() {
        return extras.fields();
      }

      @Override
      public Optional<String> notServing() {
        return ClusterView.notServing(system);
      }
    };
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
    ActorRef<T> ref = getContext().spawn(supervised(behavior), name);
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
        .onMessageEquals(DrainTick.INSTANCE, this::onDrainTick)
        .onMessage(HttpDrained.class, this::onHttpDrained)
        .onMessage(TelegramPending.class, this::onTelegramPending)
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
   * Asks the HTTP channel to drain (it refuses new messages and says when the accepted ones are
   * answered, then unbinds) and polls the Telegram channel's pending count, which keeps polling: what it
   * accepts is journaled and answered after a restart anyway. Replies once both are done or the time is up.
   */
  private Behavior<Command> onDrain(Drain drain) {
    if (drained.isPresent()) {
      drain.replyTo().tell(drained.get());
      return this;
    }
    if (draining.isPresent()) {
      draining.get().replyTo().add(drain.replyTo());
      return this;
    }
    draining = Optional.of(new Draining(Instant.now().plus(drain.timeout()), new ArrayList<>(List.of(drain.replyTo()))));
    httpUnanswered = children.http().isPresent() ? Optional.empty() : Optional.of(0);
    children.http().ifPresent(http -> http.tell(new HttpChannel.Drain(
        drain.timeout(), getContext().messageAdapter(HttpChannel.Drained.class, d -> new HttpDrained(d.unanswered())))));
    telegramPending = drainsTelegram() ? 1 : 0;
    timers.startTimerAtFixedRate(DrainTick.INSTANCE, DRAIN_POLL);
    return onDrainTick();
  }

  /**
   * Whether a drain waits for Telegram: not in a cluster, where the channel is a singleton that may
   * live on another node, and moves with its ledger when this one stops.
   */
  private boolean drainsTelegram() {
    return children.telegram().isPresent() && !clustered;
  }

  private Behavior<Command> onHttpDrained(HttpDrained done) {
    httpUnanswered = Optional.of(done.unanswered());
    return onDrainTick();
  }

  private Behavior<Command> onNotifyAdmin(NotifyAdmin notify) {
    children.telegram().ifPresent(t -> t.tell(new TelegramChannel.Notify(notify.chatId(), notify.text())));
    return this;
  }

  private Behavior<Command> onTelegramPending(TelegramPending pending) {
    telegramPending = pending.pending();
    return this;
  }

  /**
   * Done when the HTTP channel has drained (it answers by the deadline itself, with its unanswered
   * count) and Telegram has nothing pending, or Telegram's time is up.
   */
  private Behavior<Command> onDrainTick() {
    if (drainsTelegram()) {
      children.telegram().ifPresent(t ->
          getContext().ask(ChannelStatus.class, t, STATUS_TIMEOUT, TelegramChannel.GetStatus::new,
              (status, failure) -> new TelegramPending(status == null ? 0 : status.pending())));
    }
    draining.ifPresent(
        d -> {
          Instant now = Instant.now();
          boolean httpDone = httpUnanswered.isPresent() || !now.isBefore(d.deadline().plus(HTTP_DRAIN_SLACK));
          boolean telegramDone = telegramPending == 0 || !now.isBefore(d.deadline());
          if (httpDone && telegramDone) {
            if (httpUnanswered.isEmpty()) {
              getContext().getLog().warn("the HTTP channel did not report its drain; its pending count is unknown");
            }
            timers.cancel(DrainTick.INSTANCE);
            Drained result = new Drained(httpUnanswered.orElse(0) + telegramPending);
            drained = Optional.of(result);
            d.replyTo().forEach(r -> r.tell(result));
            draining = Optional.empty();
          }
        });
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
    if (draining.isEmpty() && drained.isEmpty()) {
      getContext().getLog().warn("{} stopped", name);
    }
    return this;
  }
}
