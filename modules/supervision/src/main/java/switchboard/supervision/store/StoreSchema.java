package switchboard.supervision.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the store once before the gateway starts: a store that cannot be opened stops the start with
 * one line naming it, instead of a gateway whose conversations fail one by one. In an empty database
 * it creates the tables of {@code pekko-persistence-jdbc} from the DDL the plugin ships
 * ({@code schema/h2/h2-create-schema.sql}, {@code schema/postgres/postgres-create-schema.sql}).
 *
 * <p>Why not the plugin's {@code SchemaUtils.createIfNotExists}: it needs a running actor system (a
 * message could reach a conversation before the tables exist), lives in the plugin's testkit
 * package, and swallows every failing statement at DEBUG. Here the tables are created, or found,
 * before the actor system starts, and a failure is an error.
 */
public final class StoreSchema {
  private static final Logger LOG = LoggerFactory.getLogger(StoreSchema.class);

  /** The plugin's journal table: when it exists the schema is there. */
  static final String JOURNAL_TABLE = "event_journal";

  /** Why the store could not be opened, in one line (no password, no stack trace). */
  public static final class Unavailable extends Exception {
    public Unavailable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private StoreSchema() {}

  /**
   * For {@code config check}: a PostgreSQL store must answer a connection; the embedded one is not
   * opened (a running gateway holds its file, and a check creates nothing), only its directory checked.
   */
  public static void reach(StoreConfig store) throws Unavailable {
    if (store.kind() == StoreConfig.Kind.EMBEDDED) {
      Path dir = store.embeddedFile().getParent();
      Path existing = dir;
      while (existing != null && !Files.exists(existing)) {
        existing = existing.getParent();
      }
      if (existing == null || !Files.isDirectory(existing) || !Files.isWritable(existing)) {
        throw new Unavailable("cannot open the " + store.describe() + ": " + dir + " cannot be created", null);
      }
      return;
    }
    try (Connection connection = connect(store)) {
      connection.isValid(StoreConfig.CONNECTION_TIMEOUT_MS / 1000);
    } catch (SQLException e) {
      throw new Unavailable("cannot open the " + store.describe() + ": " + oneLine(e), e);
    }
  }

  private static Connection connect(StoreConfig store) throws SQLException {
    Properties login = new Properties();
    login.setProperty("user", store.user());
    login.setProperty("password", store.password());
    DriverManager.setLoginTimeout(StoreConfig.CONNECTION_TIMEOUT_MS / 1000);
    return DriverManager.getConnection(store.jdbcUrl(), login);
  }

  /** Connects to {@code store} and creates its tables when they are missing. */
  public static void ensure(StoreConfig store) throws Unavailable {
    try (Connection connection = connect(store)) {
      if (hasJournal(connection.getMetaData())) {
        LOG.info("opened the {}", store.describe());
        return;
      }
      createSchema(connection, store);
      LOG.info("created the tables of the {}", store.describe());
    } catch (SQLException e) {
      throw new Unavailable("cannot open the " + store.describe() + ": " + oneLine(e), e);
    }
  }

  private static boolean hasJournal(DatabaseMetaData meta) throws SQLException {
    for (String name : new String[] {JOURNAL_TABLE, JOURNAL_TABLE.toUpperCase()}) {
      try (ResultSet tables = meta.getTables(null, null, name, new String[] {"TABLE"})) {
        if (tables.next()) {
          return true;
        }
      }
    }
    return false;
  }

  private static void createSchema(Connection connection, StoreConfig store) throws SQLException {
    String dialect = store.kind() == StoreConfig.Kind.EMBEDDED ? "h2" : "postgres";
    String ddl = resource("/schema/" + dialect + "/" + dialect + "-create-schema.sql");
    connection.setAutoCommit(true);
    try (Statement statement = connection.createStatement()) {
      for (String sql : ddl.split(";")) {
        if (!sql.isBlank()) {
          statement.execute(sql);
        }
      }
    }
  }

  private static String resource(String name) throws SQLException {
    try (InputStream in = StoreSchema.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new SQLException(name + " is missing from the classpath (pekko-persistence-jdbc)");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new SQLException("cannot read " + name + ": " + e.getMessage(), e);
    }
  }

  private static String oneLine(SQLException e) {
    Throwable cause = e;
    while (cause.getCause() != null && cause.getCause() != cause && cause.getMessage() == null) {
      cause = cause.getCause();
    }
    String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    return message.lines().findFirst().orElse(message).trim();
  }
}
