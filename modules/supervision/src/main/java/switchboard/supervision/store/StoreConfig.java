package switchboard.supervision.store;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import switchboard.providers.config.ConfigReader;

/**
 * {@code switchboard.persistence}: the one store that holds what must outlive a process. Both kinds
 * run Pekko Persistence on the {@code pekko-persistence-jdbc} plugin, journal and snapshots in one
 * shared connection pool:
 *
 * <ul>
 *   <li>{@code embedded} (the default): H2 in file mode at {@code <data-dir>/store/switchboard.mv.db},
 *       nothing to install;
 *   <li>{@code postgres}: a PostgreSQL server at {@code postgres.url} (required for a cluster).
 * </ul>
 *
 * The password is a secret: it is never part of {@link #toString()}, a log line or an error.
 */
public record StoreConfig(Kind kind, String url, String user, String password) {

  /** Which database holds the store. */
  public enum Kind {
    EMBEDDED("embedded"),
    POSTGRES("postgres");

    private final String wire;

    Kind(String wire) {
      this.wire = wire;
    }

    public String wire() {
      return wire;
    }
  }

  /** The largest pool a gateway opens: Slick's threads and the JDBC connections (a small machine's size). */
  static final int POOL_SIZE = 4;

  /** How long a store operation waits for a connection before it fails (instead of Hikari's 3 minutes). */
  static final int CONNECTION_TIMEOUT_MS = 3000;

  /** Reads {@code persistence.*} of the {@code switchboard} section; the embedded file lives under {@code dataDir}. */
  public static StoreConfig read(ConfigReader switchboard, Path dataDir) {
    ConfigReader persistence = switchboard.section("persistence");
    String store = persistence.oneOf("store", "embedded", List.of("embedded", "postgres"));
    if (store.equals("postgres")) {
      ConfigReader postgres = persistence.section("postgres");
      String url = postgres.string("url", "jdbc:postgresql://127.0.0.1:5432/switchboard");
      if (!url.startsWith("jdbc:postgresql://")) {
        postgres.problem("url", "\"" + url + "\" is not a PostgreSQL JDBC URL (expected jdbc:postgresql://host:port/database)");
      }
      return new StoreConfig(Kind.POSTGRES, url, postgres.string("user", "switchboard"), postgres.string("password", ""));
    }
    return embedded(dataDir);
  }

  /**
   * The embedded store under {@code dataDir}. {@code WRITE_DELAY=0}: H2 otherwise writes committed
   * changes up to a second later, and a {@code kill -9} loses the last answered turns.
   */
  public static StoreConfig embedded(Path dataDir) {
    Path file = dataDir.toAbsolutePath().resolve("store").resolve("switchboard");
    return new StoreConfig(Kind.EMBEDDED, "jdbc:h2:file:" + file + ";DATABASE_TO_UPPER=false;TRACE_LEVEL_FILE=0;WRITE_DELAY=0", "sa", "");
  }

  /** What the operator reads in a log line or an error: the kind and where, never the password. */
  public String describe() {
    String where = kind == Kind.EMBEDDED ? embeddedFile().toString() : url.replaceAll("[?].*$", "") + " as " + user;
    return kind.wire() + " store " + where;
  }

  /** The embedded store's database file. */
  public Path embeddedFile() {
    return Path.of(url.substring("jdbc:h2:file:".length(), url.indexOf(';')) + ".mv.db");
  }

  @Override
  public String toString() {
    return describe();
  }

  /**
   * The actor system's persistence settings: the JDBC journal and snapshot store, started with the
   * system, on one shared pool sized for {@link #POOL_SIZE} connections that fails a call after
   * {@link #CONNECTION_TIMEOUT_MS} when the database is down and keeps trying to reconnect.
   */
  public Config pekkoConfig() {
    Config values = ConfigFactory.parseMap(Map.of(
        "pekko-persistence-jdbc.shared-databases.slick.profile",
        kind == Kind.EMBEDDED ? "slick.jdbc.H2Profile$" : "slick.jdbc.PostgresProfile$",
        "pekko-persistence-jdbc.shared-databases.slick.db.driver",
        kind == Kind.EMBEDDED ? "org.h2.Driver" : "org.postgresql.Driver",
        "pekko-persistence-jdbc.shared-databases.slick.db.url", jdbcUrl(),
        "pekko-persistence-jdbc.shared-databases.slick.db.user", user,
        "pekko-persistence-jdbc.shared-databases.slick.db.password", password));
    return values.withFallback(ConfigFactory.parseString("""
        pekko.persistence {
          journal.plugin = "jdbc-journal"
          snapshot-store.plugin = "jdbc-snapshot-store"
          state.plugin = "jdbc-durable-state-store"
          journal.auto-start-journals = ["jdbc-journal"]
          snapshot-store.auto-start-snapshot-stores = ["jdbc-snapshot-store"]
        }
        jdbc-journal.use-shared-db = "slick"
        jdbc-snapshot-store.use-shared-db = "slick"
        jdbc-read-journal.use-shared-db = "slick"
        jdbc-durable-state-store.use-shared-db = "slick"
        pekko-persistence-jdbc.shared-databases.slick.db {
          numThreads = %d
          maxConnections = %d
          minConnections = 1
          queueSize = 1000
          connectionTimeout = %d
          validationTimeout = 2000
          initializationFailTimeout = -1
        }
        """.formatted(POOL_SIZE, POOL_SIZE, CONNECTION_TIMEOUT_MS)));
  }

  /** The URL the pool connects with: PostgreSQL's gets connect and socket timeouts unless it has its own. */
  String jdbcUrl() {
    if (kind == Kind.EMBEDDED || url.contains("connectTimeout=")) {
      return url;
    }
    return url + (url.contains("?") ? "&" : "?") + "connectTimeout=3&socketTimeout=30";
  }
}
