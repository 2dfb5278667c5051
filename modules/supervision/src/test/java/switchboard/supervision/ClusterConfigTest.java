package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code switchboard.cluster} as {@code config check} and {@code gateway run} read it. */
class ClusterConfigTest {

  @TempDir Path dir;

  static final String PROVIDER = "providers = [{ name = \"sim\", kind = \"simulated\" }]\n";
  static final String POSTGRES =
      "persistence { store = \"postgres\", postgres.url = \"jdbc:postgresql://127.0.0.1:5432/switchboard\" }\n";

  private Path write(String body) throws Exception {
    Path file = dir.resolve("gateway.conf");
    Files.writeString(file, "switchboard {\n" + PROVIDER + body + "}\n");
    return file;
  }

  private List<String> problems(String body) throws Exception {
    Path file = write(body);
    return assertThrows(GatewayConfig.Invalid.class, () -> GatewayConfig.load(file, Map.of(), dir)).problems();
  }

  @Test
  void offByDefaultAndThenNothingOfPekkoChanges() throws Exception {
    GatewayConfig config = GatewayConfig.load(write(""), Map.of(), dir);
    assertFalse(config.cluster().enabled());
    assertTrue(config.cluster().pekkoConfig().isEmpty(), "no cluster provider, no port");
  }

  @Test
  void aClusterMapsOntoPekkoClusterWithArteryStaticSeedsAndTheLeaseMajorityResolver() throws Exception {
    GatewayConfig config = GatewayConfig.load(write(POSTGRES
        + "cluster { enabled = true, host = \"127.0.0.1\", port = 25521, seed-nodes = [\"127.0.0.1:25520\", \"127.0.0.1:25521\"] }\n"),
        Map.of(), dir);
    var pekko = config.cluster().pekkoConfig();
    assertEquals("cluster", pekko.getString("pekko.actor.provider"));
    assertEquals(25521, pekko.getInt("pekko.remote.artery.canonical.port"));
    assertEquals(List.of("pekko://switchboard@127.0.0.1:25520", "pekko://switchboard@127.0.0.1:25521"),
        pekko.getStringList("pekko.cluster.seed-nodes"));
    assertEquals("lease-majority", pekko.getString("pekko.cluster.split-brain-resolver.active-strategy"));
    assertEquals("switchboard.supervision.cluster.StoreLease", pekko.getString("switchboard.cluster-lease.lease-class"));
    assertEquals("127.0.0.1:25521", config.cluster().self());
  }

  @Test
  void aClusterOnTheEmbeddedStoreIsAConfigError() throws Exception {
    List<String> problems = problems(
        "cluster { enabled = true, port = 25520, seed-nodes = [\"127.0.0.1:25520\"] }\n");
    assertEquals(List.of("switchboard.persistence.store: \"embedded\" cannot hold a cluster's state "
        + "(every node needs the same store: set store = \"postgres\")"), problems);
  }

  @Test
  void aClusterPortThatIsTheHttpPortAndSeedsThatDoNotParseAreOneLineEach() throws Exception {
    List<String> problems = problems(POSTGRES + "channels.http.port = 9000\n"
        + "cluster { enabled = true, port = 9000, seed-nodes = [\"127.0.0.1:25520\", \"nonsense\", \"127.0.0.1:x\","
        + " \"127.0.0.1:25520\"] }\n");
    assertEquals(List.of(
        "switchboard.cluster.port: 9000 is also channels.http.port (each needs its own port)",
        "switchboard.cluster.seed-nodes: \"nonsense\" is not host:port (expected e.g. \"127.0.0.1:25520\")",
        "switchboard.cluster.seed-nodes: \"127.0.0.1:x\" has no numeric port (expected e.g. \"127.0.0.1:25520\")",
        "switchboard.cluster.seed-nodes: \"127.0.0.1:25520\" is listed twice"), problems);
  }

  @Test
  void configCheckPrintsTheProblemsAndExits2() throws Exception {
    Path file = write("cluster { enabled = true, seed-nodes = [] }\n");
    MainTest.Run run = MainTest.run("config", "check", "--config", file.toString());
    assertEquals(2, run.code());
    assertEquals(List.of(
        "switchboard.cluster.seed-nodes: is empty (expected the \"host:port\" of at least one node, e.g. this one's)",
        "switchboard.persistence.store: \"embedded\" cannot hold a cluster's state (every node needs the same store: "
            + "set store = \"postgres\")"), run.lines());
    assertEquals("", run.err());
  }

  @Test
  void theExampleClusterConfigsAreValid() throws Exception {
    for (int n = 1; n <= 3; n++) {
      GatewayConfig config = GatewayConfig.load(Projects.root().resolve("config/cluster/node-" + n + ".conf"),
          Map.of("SWITCHBOARD_DB_PASSWORD", "secret-for-test"), dir);
      assertTrue(config.cluster().enabled());
      assertEquals(25519 + n, config.cluster().port());
      assertEquals(8080 + n, config.http().port());
    }
  }
}
