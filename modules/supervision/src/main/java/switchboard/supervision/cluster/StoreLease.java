package switchboard.supervision.cluster;

import com.typesafe.config.Config;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.coordination.lease.LeaseSettings;
import org.apache.pekko.coordination.lease.javadsl.Lease;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Pekko Coordination {@link Lease} held in the gateway's PostgreSQL store, so the split-brain
 * resolver's {@code lease-majority} strategy has a referee that every node already depends on.
 * Pekko ships no lease for a plain database (its only one is for Kubernetes), hence this class.
 *
 * <p>The lease is one row of {@code switchboard_lease}: its owner and when it expires, by the
 * database's clock ({@code now()}), so no two machines' clocks are ever compared. Acquiring (and
 * renewing, every {@code heartbeat-interval} while held) is one statement that succeeds only when
 * the row is free, expired, or already this owner's; a lease not renewed for
 * {@code heartbeat-timeout} is lost (the callback hears it) and free for others. Database work runs
 * on the lease's own thread, never on an actor's.
 */
public final class StoreLease extends Lease {

  private static final Logger LOG = LoggerFactory.getLogger(StoreLease.class);

  static final String CREATE = "CREATE TABLE IF NOT EXISTS switchboard_lease ("
      + "name VARCHAR(255) PRIMARY KEY, owner VARCHAR(255) NOT NULL, expires_at TIMESTAMP WITH TIME ZONE NOT NULL)";

  static final String ACQUIRE = "INSERT INTO switchboard_lease (name, owner, expires_at) "
      + "VALUES (?, ?, now() + make_interval(secs => ?)) "
      + "ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at "
      + "WHERE switchboard_lease.owner = EXCLUDED.owner OR switchboard_lease.expires_at < now()";

  static final String RELEASE = "DELETE FROM switchboard_lease WHERE name = ? AND owner = ?";

  private final LeaseSettings settings;
  private final String url;
  private final Properties credentials = new Properties();
  private final Duration ttl;
  private final Duration every;
  private final ScheduledExecutorService thread;
  private volatile boolean held;
  private volatile long renewedAtNanos;
  private ScheduledFuture<?> heartbeat;
  private Consumer<Optional<Throwable>> onLost = lost -> {};

  public StoreLease(LeaseSettings settings, ExtendedActorSystem system) {
    this.settings = settings;
    Config postgres = system.settings().config().getConfig("switchboard.persistence.postgres");
    this.url = postgres.getString("url");
    credentials.setProperty("user", postgres.getString("user"));
    credentials.setProperty("password", postgres.getString("password"));
    credentials.setProperty("connectTimeout", "3");
    credentials.setProperty("socketTimeout", "5");
    this.ttl = settings.timeoutSettings().getHeartbeatTimeout();
    this.every = settings.timeoutSettings().getHeartbeatInterval();
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "switchboard-lease");
      t.setDaemon(true);
      return t;
    });
  }

  @Override
  public LeaseSettings getSettings() {
    return settings;
  }

  @Override
  public CompletionStage<Boolean> acquire() {
    return acquire(lost -> {});
  }

  @Override
  public CompletionStage<Boolean> acquire(Consumer<Optional<Throwable>> leaseLostCallback) {
    return onThread(() -> {
      boolean got = tryAcquire();
      if (got) {
        synchronized (this) {
          onLost = leaseLostCallback;
          if (heartbeat == null) {
            heartbeat = thread.scheduleWithFixedDelay(this::renew, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
          }
        }
        LOG.info("cluster lease {} taken by {}", settings.leaseName(), settings.ownerName());
      } else {
        LOG.warn("cluster lease {} is held by another node; {} did not get it", settings.leaseName(), settings.ownerName());
      }
      return got;
    });
  }

  @Override
  public CompletionStage<Boolean> release() {
    return onThread(() -> {
      stopHeartbeat();
      held = false;
      try (Connection c = connect(); PreparedStatement release = c.prepareStatement(RELEASE)) {
        release.setString(1, settings.leaseName());
        release.setString(2, settings.ownerName());
        release.executeUpdate();
      }
      LOG.info("cluster lease {} released by {}", settings.leaseName(), settings.ownerName());
      return true;
    });
  }

  @Override
  public boolean checkLease() {
    return held && System.nanoTime() - renewedAtNanos < ttl.toNanos();
  }

  private boolean tryAcquire() throws SQLException {
    try (Connection c = connect()) {
      try (Statement create = c.createStatement()) {
        create.execute(CREATE);
      }
      try (PreparedStatement acquire = c.prepareStatement(ACQUIRE)) {
        acquire.setString(1, settings.leaseName());
        acquire.setString(2, settings.ownerName());
        acquire.setDouble(3, ttl.toMillis() / 1000.0);
        boolean got = acquire.executeUpdate() == 1;
        if (got) {
          held = true;
          renewedAtNanos = System.nanoTime();
        }
        return got;
      }
    }
  }

  /** The heartbeat: renew while held; a lease that cannot be renewed in time is lost. */
  private void renew() {
    if (!held) {
      return;
    }
    boolean renewed;
    Optional<Throwable> why = Optional.empty();
    try {
      renewed = tryAcquire();
    } catch (SQLException e) {
      renewed = false;
      why = Optional.of(e);
    }
    if (!renewed && (why.isEmpty() || !checkLease())) {
      held = false;
      stopHeartbeat();
      LOG.warn("cluster lease {} lost by {}{}", settings.leaseName(), settings.ownerName(),
          why.map(e -> ": " + e.getMessage()).orElse(" (another node holds it)"));
      Consumer<Optional<Throwable>> callback;
      synchronized (this) {
        callback = onLost;
      }
      callback.accept(why);
    }
  }

  private synchronized void stopHeartbeat() {
    if (heartbeat != null) {
      heartbeat.cancel(false);
      heartbeat = null;
    }
  }

  private Connection connect() throws SQLException {
    return DriverManager.getConnection(url, credentials);
  }

  @FunctionalInterface
  private interface Work<T> {
    T run() throws Exception;
  }

  private <T> CompletionStage<T> onThread(Work<T> work) {
    CompletableFuture<T> result = new CompletableFuture<>();
    thread.execute(() -> {
      try {
        result.complete(work.run());
      } catch (Exception e) {
        LOG.warn("cluster lease {}: the store did not answer: {}", settings.leaseName(), e.getMessage());
        result.completeExceptionally(e);
      }
    });
    return result;
  }
}
