package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real PostgreSQL for the store tests. {@code .ci/run} starts a throwaway server and names it in
 * {@code SWITCHBOARD_TEST_POSTGRES_URL} (with {@code _USER}, {@code _PASSWORD}); without it a test
 * starts its own through {@code .ci/postgres.sh} when Debian's binaries are installed. Tests are
 * skipped when neither is possible, unless {@code SWITCHBOARD_REQUIRE_POSTGRES=1} (CI) fails them.
 */
final class TestPostgres implements AutoCloseable {
  static final String REQUIRE_ENV = "SWITCHBOARD_REQUIRE_POSTGRES";
  private static final Path SCRIPT = Projects.root().resolve(".ci/postgres.sh");
  /**
   * The password {@code .ci/postgres.sh} gives the {@code switchboard} role. Not a word that appears
   * in output: the gateway masks the values of *PASSWORD* variables wherever they appear.
   */
  static final String PASSWORD = "pg-test-7f3k9q";

  final String url;
  final String user;
  final String password;
  private final int port;
  private final Path dataDir;

  private TestPostgres(String url, String user, String password, int port, Path dataDir) {
    this.url = url;
    this.user = user;
    this.password = password;
    this.port = port;
    this.dataDir = dataDir;
  }

  /** The server CI started, or a new one of this test's own. */
  static TestPostgres shared(Path scratch) throws Exception {
    String url = System.getenv("SWITCHBOARD_TEST_POSTGRES_URL");
    if (url != null && !url.isBlank()) {
      return new TestPostgres(url, System.getenv().getOrDefault("SWITCHBOARD_TEST_POSTGRES_USER", "switchboard"),
          System.getenv().getOrDefault("SWITCHBOARD_TEST_POSTGRES_PASSWORD", PASSWORD), -1, null);
    }
    return own(scratch);
  }

  /** A server of this test's own, which it may stop and start again ({@link #stop}, {@link #start}). */
  static TestPostgres own(Path scratch) throws Exception {
    assumeInstalled();
    int port;
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress("127.0.0.1", 0));
      port = socket.getLocalPort();
    }
    // /tmp, not the test's @TempDir: the server runs as the postgres user, who must reach its data dir
    Path dataDir = Files.createTempDirectory("switchboard-pg-").resolve("data");
    TestPostgres server = new TestPostgres(
        "jdbc:postgresql://127.0.0.1:" + port + "/switchboard", "switchboard", PASSWORD, port, dataDir);
    server.start();
    return server;
  }

  private static void assumeInstalled() {
    boolean installed;
    try (var dirs = Files.list(Path.of("/usr/lib/postgresql"))) {
      installed = dirs.anyMatch(d -> Files.isExecutable(d.resolve("bin/initdb")));
    } catch (IOException e) {
      installed = false;
    }
    if (!installed && "1".equals(System.getenv(REQUIRE_ENV))) {
      fail("Debian's postgresql is not installed, and " + REQUIRE_ENV + "=1 requires the store tests to run");
    }
    Assumptions.assumeTrue(installed, "PostgreSQL binaries (Debian's postgresql) are not installed");
  }

  /** The {@code switchboard { }} lines that put the gateway's store on this server. */
  String hocon() {
    return "persistence { store = \"postgres\", postgres { url = \"" + url + "\", user = \"" + user
        + "\", password = \"" + password + "\" } }";
  }

  void start() throws Exception {
    script("start");
  }

  void stop() throws Exception {
    script("stop");
  }

  private void script(String action) throws Exception {
    if (dataDir == null) {
      throw new IllegalStateException("CI's shared server is not this test's to " + action);
    }
    Process process = new ProcessBuilder("bash", SCRIPT.toString(), action, Integer.toString(port), dataDir.toString())
        .redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    process.waitFor(60, TimeUnit.SECONDS);
    assertEquals(0, process.exitValue(), "postgres.sh " + action + ": " + out);
  }

  @Override
  public void close() throws Exception {
    if (dataDir != null) {
      stop();
      try (var files = Files.walk(dataDir.getParent())) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }
}
