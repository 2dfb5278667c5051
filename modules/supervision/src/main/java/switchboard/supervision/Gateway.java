package switchboard.supervision;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.Http;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import switchboard.channels.Channel;
import switchboard.channels.http.HttpChannel;
import switchboard.supervision.ops.ProviderCallLogSetup;
import switchboard.supervision.ops.ShutdownRecord;
import switchboard.supervision.store.StoreSchema;

/**
 * A running gateway: the actor system with its {@link GatewayRoot}, the metrics registry and the
 * provider call log. {@link #start} returns once the HTTP channel listens; {@link #shutdown} drains
 * (no new messages, the accepted ones answered, bounded by {@code shutdown-timeout}) and then stops.
 * Why it stopped is kept in {@code <data-dir>/last-shutdown.json} ({@link ShutdownRecord}) and shown
 * by the next run: a requested stop, a start failure, or the actor system ending by itself.
 */
public final class Gateway implements AutoCloseable {

  /** How long {@link #start} waits for the HTTP channel to bind. */
  static final Duration BIND_TIMEOUT = Duration.ofSeconds(20);

  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

  private final GatewayConfig config;
  private final ActorSystem<GatewayRoot.Command> system;
  private final PrometheusMeterRegistry registry;
  private final AutoCloseable providerLog;
  private final GatewayRoot.Children children;
  private final Optional<InetSocketAddress> httpAddress;
  private final Instant started;
  private final Optional<ShutdownRecord> lastShutdown;
  /** Set once by whoever ends this run first: {@link #shutdown} or the system terminating by itself. */
  private final AtomicBoolean ending = new AtomicBoolean();
  private boolean stopped;
  /** The drain's unanswered count, once the shutdown's drain is over. */
  private final CompletableFuture<Integer> unanswered = new CompletableFuture<>();

  /** Why {@link CoordinatedShutdown} ran: a stop asked for with {@code reason} (e.g. SIGTERM). */
  private record Requested(String reason) implements CoordinatedShutdown.Reason {}

  /** Why a gateway could not start (e.g. its HTTP port is taken): one line for the operator. */
  public static final class StartFailure extends Exception {
    public StartFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private Gateway(
      GatewayConfig config,
      ActorSystem<GatewayRoot.Command> system,
      PrometheusMeterRegistry registry,
      AutoCloseable providerLog,
      GatewayRoot.Children children,
      Optional<InetSocketAddress> httpAddress,
      Instant started,
      Optional<ShutdownRecord> lastShutdown) {
    this.config = config;
    this.system = system;
    this.registry = registry;
    this.providerLog = providerLog;
    this.children = children;
    this.httpAddress = httpAddress;
    this.started = started;
    this.lastShutdown = lastShutdown;
  }

  /**
   * Starts a gateway for {@code config}; returns once its HTTP channel (when enabled) is bound. Logs
   * how the previous run stopped; a failure to start is recorded as this run's stop.
   */
  public static Gateway start(GatewayConfig config) throws StartFailure {
    Instant started = Instant.now();
    Optional<ShutdownRecord> previous = ShutdownRecord.previous(config.dataDir());
    previous.ifPresentOrElse(
        p -> LOG.info("previous run {}", p.describe()),
        () -> LOG.info("no previous run recorded in {}", config.dataDir()));
    try {
      return startSystem(config, started, previous);
    } catch (StartFailure failure) {
      ShutdownRecord.now(ShutdownRecord.START_FAILURE, 0, Optional.of(started), Optional.of(failure.getMessage()))
          .write(config.dataDir());
      throw failure;
    }
  }

  private static Gateway startSystem(GatewayConfig config, Instant started, Optional<ShutdownRecord> previous)
      throws StartFailure {
    if (config.http().enabled() && config.http().port() != 0) {
      checkPortFree(config.http().host(), config.http().port());
    }
    if (config.cluster().enabled()) {
      checkPortFree(config.cluster().host(), config.cluster().port());
    }
    try {
      StoreSchema.ensure(config.store());
    } catch (StoreSchema.Unavailable e) {
      throw new StartFailure(e.getMessage(), e);
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    if (config.cluster().enabled()) {
      registry.config().commonTags("node", config.cluster().self());
    }
    AutoCloseable providerLog = ProviderCallLogSetup.attach(config.providerLog());
    ActorSystem<GatewayRoot.Command> system = ActorSystem.create(
        GatewayRoot.create(config, registry, previous), "switchboard",
        shutdownPhases(config).withFallback(config.cluster().pekkoConfig())
            .withFallback(config.store().pekkoConfig()).withFallback(config.config()));
    try {
      GatewayRoot.Children children =
          await(AskPattern.ask(system, GatewayRoot.GetChildren::new, BIND_TIMEOUT, system.scheduler()));
      Optional<InetSocketAddress> address = Optional.empty();
      if (children.http().isPresent()) {
        address = Optional.of(await(AskPattern.<Channel.Command, InetSocketAddress>ask(
            children.http().get(), HttpChannel.GetBinding::new, BIND_TIMEOUT, system.scheduler())));
      }
      Gateway gateway = new Gateway(config, system, registry, providerLog, children, address, started, previous);
      gateway.addShutdownTasks();
      ShutdownRecord.markRunning(config.dataDir(), started);
      system.getWhenTerminated().thenRunAsync(gateway::onTerminatedByItself);
      return gateway;
    } catch (TimeoutException | RuntimeException e) {
      system.terminate();
      closeQuietly(providerLog);
      throw new StartFailure(
          "the HTTP channel did not listen on " + config.http().host() + ":" + config.http().port()
              + " within " + BIND_TIMEOUT.toSeconds() + "s (see the log above)",
          e);
    }
  }

  /**
   * The phases of Pekko's {@link CoordinatedShutdown} that stop a gateway, with timeouts that fit
   * {@code shutdown-timeout}: the drain's wait runs in {@code service-requests-done}.
   */
  private static Config shutdownPhases(GatewayConfig config) {
    long drain = config.shutdownTimeout().plus(GatewayRoot.DRAIN_SLACK).plusSeconds(5).toMillis();
    return ConfigFactory.parseString(
        "pekko.coordinated-shutdown.phases.service-requests-done.timeout = " + drain + "ms\n"
            + "pekko.coordinated-shutdown.phases.service-unbind.timeout = 5s\n"
            + "pekko.coordinated-shutdown.phases.service-stop.timeout = 10s");
  }

  /**
   * How this gateway stops, as {@link CoordinatedShutdown} tasks, whoever starts the shutdown (a
   * SIGTERM through {@link #shutdown}, a cluster downing this node, the JVM exiting): in {@code
   * service-unbind} every channel is told to drain (the HTTP channel refuses new messages at once);
   * in {@code service-requests-done} the accepted messages are answered, for at most {@code
   * shutdown-timeout}, and the unanswered count is kept for {@code last-shutdown.json}; in {@code
   * service-stop} the pooled connections to the providers close. Pekko's later phases leave the
   * cluster and terminate the actor system.
   */
  private void addShutdownTasks() {
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    Duration timeout = config.shutdownTimeout();
    shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "switchboard-drain-channels", () -> {
      AskPattern.<GatewayRoot.Command, GatewayRoot.Drained>ask(
              system, replyTo -> new GatewayRoot.Drain(timeout, replyTo),
              timeout.plus(GatewayRoot.DRAIN_SLACK).plusSeconds(2), system.scheduler())
          .whenComplete((done, failure) -> {
            if (failure != null) {
              LOG.warn("drain did not finish: {}", failure.toString());
            }
            unanswered.complete(done == null ? 0 : done.unanswered());
          });
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "switchboard-answer-accepted",
        () -> unanswered.thenApply(count -> Done.getInstance()));
    shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), "switchboard-close-provider-connections",
        () -> Http.get(system).shutdownAllConnectionPools().thenApply(done -> Done.getInstance()));
  }

  /** The actor system ended without {@link #shutdown}: Pekko gave up after a fatal error. Recorded. */
  private void onTerminatedByItself() {
    if (ending.compareAndSet(false, true)) {
      LOG.error("the actor system terminated by itself (see the errors above); the gateway has stopped");
      new ShutdownRecord(Optional.of(Instant.now()), ShutdownRecord.FATAL_ERROR, Optional.empty(), Optional.of(started),
              Optional.of("the actor system terminated without a shutdown request"))
          .write(config.dataDir());
      closeQuietly(providerLog);
    }
  }

  /** A taken port is the usual start-up failure: say so at once instead of retrying a bind. */
  private static void checkPortFree(String host, int port) throws StartFailure {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getByName(host), port));
    } catch (IOException e) {
      throw new StartFailure("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
    }
  }

  private static <T> T await(CompletionStage<T> stage) throws TimeoutException {
    try {
      return stage.toCompletableFuture().get(BIND_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | CompletionException e) {
      if (e.getCause() instanceof TimeoutException timeout) {
        throw timeout;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Where the HTTP channel listens (the real port when the config says 0); empty when it is disabled. */
  public Optional<InetSocketAddress> httpAddress() {
    return httpAddress;
  }

  /** The HTTP port, for tests that bind port 0. */
  public int httpPort() {
    return httpAddress.orElseThrow(() -> new IllegalStateException("the HTTP channel is disabled")).getPort();
  }

  public GatewayRoot.Children children() {
    return children;
  }

  public ActorSystem<GatewayRoot.Command> system() {
    return system;
  }

  public PrometheusMeterRegistry metrics() {
    return registry;
  }

  public GatewayConfig config() {
    return config;
  }

  /** How the previous run stopped, as read at start; empty when nothing was recorded. */
  public Optional<ShutdownRecord> lastShutdown() {
    return lastShutdown;
  }

  /** Completes when the actor system has terminated, for whatever reason. */
  public CompletionStage<?> whenTerminated() {
    return system.getWhenTerminated();
  }

  /** {@link #shutdown(String)} for a stop requested by code ({@link ShutdownRecord#REQUESTED}). */
  public int shutdown() {
    return shutdown(ShutdownRecord.REQUESTED);
  }

  /**
   * Drains and stops: the channels stop accepting, the messages already accepted are answered (for at
   * most {@code shutdown-timeout}), then the actor system terminates and {@code reason} (e.g.
   * {@link ShutdownRecord#SIGTERM}) is recorded with the unanswered count. Returns how many accepted
   * messages were still unanswered when the time was up (0 = all answered). Idempotent; does nothing
   * after the system ended by itself (that is recorded as a fatal error).
   */
  public synchronized int shutdown(String reason) {
    if (stopped) {
      return 0;
    }
    if (endedByItself()) {
      stopped = true;
      return 0;
    }
    stopped = true;
    if (!ending.compareAndSet(false, true)) {
      return 0;
    }
    LOG.info("stopping ({}): answering the accepted messages, for at most {}", reason, config.shutdownTimeout());
    Duration timeout = config.shutdownTimeout();
    try {
      CoordinatedShutdown.get(system).runAll(new Requested(reason)).toCompletableFuture()
          .get(timeout.toSeconds() + 60, TimeUnit.SECONDS);
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("actor system did not terminate cleanly: {}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    int unanswered = this.unanswered.getNow(0);
    if (unanswered > 0) {
      LOG.warn("{} messages were still unanswered after shutdown-timeout {}", unanswered, timeout);
    }
    ShutdownRecord record = ShutdownRecord.now(reason, unanswered, Optional.of(started), Optional.empty());
    record.write(config.dataDir());
    LOG.info("gateway {}", record.describe());
    closeQuietly(providerLog);
    registry.close();
    return unanswered;
  }

  /**
   * True when the actor system ended without {@link #shutdown} (a fatal error); that is then recorded
   * (once) as this run's stop, even if the termination callback has not run yet.
   */
  public synchronized boolean endedByItself() {
    if (!stopped && system.getWhenTerminated().toCompletableFuture().isDone()) {
      onTerminatedByItself();
      return true;
    }
    return false;
  }

  @Override
  public void close() {
    shutdown();
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception e) {
      LOG.debug("closing the provider log failed", e);
    }
  }
}
