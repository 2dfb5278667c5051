package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Faults of the store's configuration and of the store itself at start: one line each, no stack trace, no password. */
class StoreStartTest {
  @TempDir Path dir;

  private String config(String persistence) throws IOException {
    Path file = dir.resolve("store.conf");
    Files.writeString(file, "switchboard {\n"
        + "  providers = [{ name = \"sim\", kind = \"simulated\" }]\n"
        + "  channels.http.port = 0\n"
        + "  data-dir = \"" + dir.resolve("data") + "\"\n"
        + "  " + persistence + "\n"
        + "}\n");
    return file.toString();
  }

  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress("127.0.0.1", 0));
      return socket.getLocalPort();
    }
  }

  @Test
  void anUnreachablePostgresIsOneLineForConfigCheckAndForGatewayRun() throws IOException {
    String file = config("persistence { store = \"postgres\", postgres { url = \"jdbc:postgresql://127.0.0.1:" + closedPort()
        + "/switchboard\", password = \"pg-secret-password\" } }");

    MainTest.Run check = MainTest.run("config", "check", "--config", file);
    assertEquals(2, check.code(), check.err());
    List<String> lines = check.out().lines().toList();
    assertEquals(1, lines.size(), check.out());
    assertTrue(lines.get(0).startsWith("switchboard.persistence: cannot open the postgres store jdbc:postgresql://127.0.0.1:"),
        lines.get(0));

    MainTest.Run run = MainTest.run("gateway", "run", "--config", file);
    assertEquals(1, run.code(), run.out());
    List<String> errors = run.err().lines().toList();
    assertEquals(1, errors.size(), run.err());
    assertTrue(errors.get(0).startsWith("switchboard: cannot open the postgres store"), errors.get(0));
    for (String output : List.of(check.out(), check.err(), run.out(), run.err())) {
      assertFalse(output.contains("pg-secret-password"), output);
      assertFalse(output.contains("Exception"), output);
    }
  }

  @Test
  void aBadPersistenceSectionIsOneLinePerProblem() throws IOException {
    MainTest.Run run = MainTest.run("config", "check", "--config",
        config("persistence { store = \"mongo\", postgress.url = \"x\" }"));
    assertEquals(2, run.code(), run.err());
    List<String> lines = run.out().lines().toList();
    assertEquals(2, lines.size(), run.out());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("switchboard.persistence.postgress: is not a known key")), run.out());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("switchboard.persistence.store: \"mongo\"")), run.out());
  }

  @Test
  void theEmbeddedStoreIsCreatedUnderTheDataDir() throws Exception {
    String file = config("");
    MainTest.Run check = MainTest.run("config", "check", "--config", file);
    assertEquals("ok\n", check.out(), check.err());
    assertFalse(Files.exists(dir.resolve("data/store")), "a check creates nothing");
    try (Gateway gateway = Gateway.start(GatewayConfig.load(Path.of(file)))) {
      assertTrue(Files.isRegularFile(dir.resolve("data/store/switchboard.mv.db")));
    }
  }
}
