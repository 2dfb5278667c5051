package switchboard.supervision;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import switchboard.channels.http.HttpChannel;
import switchboard.supervision.ops.ProviderCallLogSetup;

/**
 * A running gateway: the actor system with its {@link GatewayRoot}, the metrics registry and the
 * provider call log. {@link #start} returns once the HTTP channel listens; {@link #shutdown} drains
 * (no new messages, the accepted ones answered, bounded by {@code shutdown-timeout}) and then stops.
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
  private boolean stopped;

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
      Optional<InetSocketAddress> httpAddress) {
    this.config = config;
    this.system = system;
    this.registry = registry;
    this.providerLog = providerLog;
    this.children = children;
    this.httpAddress = httpAddress;
  }

  /** Starts a gateway for {@code config}; returns once its HTTP channel (when enabled) is bound. */
  public static Gateway start(GatewayConfig config) throws StartFailure {
    if (config.http().enabled() && config.http().port() != 0) {
      checkPortFree(config.http().host(), config.http().port());
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    AutoCloseable providerLog = ProviderCallLogSetup.attach(config.providerLog());
    ActorSystem<GatewayRoot.Command> system =
        ActorSystem.create(GatewayRoot.create(config, registry), "switchboard", config.config());
    try {
      GatewayRoot.Children children =
          await(AskPattern.ask(system, GatewayRoot.GetChildren::new, BIND_TIMEOUT, system.scheduler()));
      Optional<InetSocketAddress> address = Optional.empty();
      if (children.http().isPresent()) {
        address = Optional.of(await(AskPattern.ask(
            children.http().get(), HttpChannel.GetBinding::new, BIND_TIMEOUT, system.scheduler())));
      }
      return new Gateway(config, system, registry, providerLog, children, address);
    } catch (TimeoutException | RuntimeException e) {
      system.terminate();
      closeQuietly(providerLog);
      throw new StartFailure(
          "the HTTP channel did not listen on " + config.http().host() + ":" + config.http().port()
              + " within " + BIND_TIMEOUT.toSeconds() + "s (see the log above)",
          e);
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

  /** Completes when the actor system has terminated, for whatever reason. */
  public CompletionStage<?> whenTerminated() {
    return system.getWhenTerminated();
  }

  /**
   * Drains and stops: the channels stop accepting, the messages already accepted are answered (for at
   * most {@code shutdown-timeout}), then the actor system terminates. Returns how many accepted
   * messages were still unanswered when the time was up (0 = all answered). Idempotent.
   */
  public synchronized int shutdown() {
    if (stopped) {
      return 0;
    }
    stopped = true;
    Duration timeout = config.shutdownTimeout();
    int unanswered = 0;
    try {
      unanswered = AskPattern.<GatewayRoot.Command, GatewayRoot.Drained>ask(
              system, replyTo -> new GatewayRoot.Drain(timeout, replyTo), timeout.plusSeconds(2), system.scheduler())
          .toCompletableFuture()
          .get(timeout.toMillis() + 3000, TimeUnit.MILLISECONDS)
          .unanswered();
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("drain did not finish: {}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (unanswered > 0) {
      LOG.warn("{} messages were still unanswered after shutdown-timeout {}", unanswered, timeout);
    }
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("actor system did not terminate cleanly: {}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeQuietly(providerLog);
    registry.close();
    return unanswered;
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
