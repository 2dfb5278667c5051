package switchboard.supervision;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import switchboard.channels.Channel;
import switchboard.channels.ChannelStatus;
import switchboard.channels.GatewayStatus;
import switchboard.providers.ProviderStatus;
import switchboard.router.RouterActor;
import switchboard.supervision.cluster.ClusterView;
import switchboard.supervision.ops.Alert;
import switchboard.supervision.ops.AlertsActor;
import switchboard.supervision.ops.ShutdownRecord;

/**
 * The gateway's status in one place: on {@link GatewayStatus.Get} it asks the router for the
 * providers, every channel for its {@link ChannelStatus} and the alerts actor for the recent alerts,
 * adds how the last run stopped and (in a cluster) the members, and answers one {@link
 * GatewayStatus.Snapshot}. Each part has {@link #PART_TIMEOUT}; what does not answer in time is
 * shown as missing (providers), {@code unresponsive} (a channel) or left out (alerts), so the status
 * page loads even while a part of the gateway is stuck. The asks run as futures piped back to this
 * actor, which never waits.
 */
public final class StatusActor extends AbstractBehavior<GatewayStatus.Command> {

  /** How long one part of the status may take. */
  static final Duration PART_TIMEOUT = Duration.ofSeconds(2);

  /** What the status actor understands beyond {@link GatewayStatus.Get}. */
  public sealed interface Command extends GatewayStatus.Command {}

  /** Channel {@code name} runs as {@code ref}: list it, in the order told. */
  public record ChannelStarted(String name, ActorRef<Channel.Command> ref) implements Command {}

  private record Gathered(GatewayStatus.Snapshot snapshot, ActorRef<GatewayStatus.Snapshot> replyTo) implements Command {}

  private record Named(String name, ActorRef<Channel.Command> ref) {}

  private final ActorRef<RouterActor.Command> router;
  private final ActorRef<AlertsActor.Command> alerts;
  private final Optional<ShutdownRecord> lastShutdown;
  private final boolean clustered;
  private final org.apache.pekko.actor.typed.ActorSystem<?> system;
  private final List<Named> channels = new ArrayList<>();

  public static Behavior<GatewayStatus.Command> create(
      ActorRef<RouterActor.Command> router,
      ActorRef<AlertsActor.Command> alerts,
      Optional<ShutdownRecord> lastShutdown,
      boolean clustered) {
    return Behaviors.setup(context -> new StatusActor(context, router, alerts, lastShutdown, clustered));
  }

  private StatusActor(
      ActorContext<GatewayStatus.Command> context,
      ActorRef<RouterActor.Command> router,
      ActorRef<AlertsActor.Command> alerts,
      Optional<ShutdownRecord> lastShutdown,
      boolean clustered) {
    super(context);
    this.router = router;
    this.alerts = alerts;
    this.lastShutdown = lastShutdown;
    this.clustered = clustered;
    this.system = context.getSystem();
  }

  @Override
  public Receive<GatewayStatus.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ChannelStarted.class, this::onChannelStarted)
        .onMessage(GatewayStatus.Get.class, this::onGet)
        .onMessage(Gathered.class, this::onGathered)
        .build();
  }

  private Behavior<GatewayStatus.Command> onChannelStarted(ChannelStarted started) {
    channels.add(new Named(started.name(), started.ref()));
    return this;
  }

  private Behavior<GatewayStatus.Command> onGet(GatewayStatus.Get get) {
    CompletableFuture<Optional<List<ProviderStatus>>> providers = optional(
        AskPattern.ask(router, RouterActor.GetStatus::new, PART_TIMEOUT, system.scheduler()));
    List<CompletableFuture<ChannelStatus>> statuses = channels.stream().map(this::status).toList();
    CompletableFuture<Optional<List<Alert>>> recent = optional(
        AskPattern.ask(alerts, AlertsActor.GetRecent::new, PART_TIMEOUT, system.scheduler()));
    CompletableFuture<GatewayStatus.Snapshot> snapshot = CompletableFuture
        .allOf(statuses.toArray(CompletableFuture[]::new))
        .thenCombine(providers, (ignored, ps) -> ps)
        .thenCombine(recent, (ps, alertList) -> new GatewayStatus.Snapshot(
            ps, statuses.stream().map(CompletableFuture::join).toList(), extras(alertList)));
    getContext().pipeToSelf(snapshot, (done, failure) -> new Gathered(
        done != null ? done : new GatewayStatus.Snapshot(Optional.empty(), List.of(), extras(Optional.empty())),
        get.replyTo()));
    return this;
  }

  private Behavior<GatewayStatus.Command> onGathered(Gathered gathered) {
    gathered.replyTo().tell(gathered.snapshot());
    return this;
  }

  /** A channel's status, or {@code unresponsive} with why when it does not answer in time. */
  private CompletableFuture<ChannelStatus> status(Named channel) {
    return AskPattern.<Channel.Command, ChannelStatus>ask(
            channel.ref(), Channel.GetStatus::new, PART_TIMEOUT, system.scheduler())
        .toCompletableFuture()
        .exceptionally(failure -> new ChannelStatus(channel.name(), 0, 0, "unresponsive",
            Optional.of("the channel did not report its status within " + PART_TIMEOUT.toSeconds() + "s"), 0));
  }

  /** {@code alerts} (newest first) when the alerts actor answered, {@code last_shutdown}, {@code cluster}. */
  private Map<String, Object> extras(Optional<List<Alert>> recent) {
    Map<String, Object> fields = new LinkedHashMap<>();
    recent.ifPresent(list -> fields.put("alerts", list.stream().map(Alert::toJson).toList()));
    lastShutdown.ifPresent(record -> fields.put("last_shutdown", record.toJson()));
    if (clustered) {
      fields.put("cluster", ClusterView.json(system));
    }
    return fields;
  }

  private static <T> CompletableFuture<Optional<T>> optional(CompletionStage<T> stage) {
    return stage.toCompletableFuture().thenApply(Optional::of).exceptionally(failure -> Optional.empty());
  }
}
