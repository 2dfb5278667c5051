package switchboard.channels.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import switchboard.providers.config.ConfigReader;

class HttpChannelConfigTest {

  private static ConfigReader reader(String hocon) {
    Config config = ConfigFactory.parseString(hocon).withFallback(ConfigFactory.defaultReference()).resolve();
    return ConfigReader.of(config.getConfig("switchboard"), "switchboard");
  }

  @Test
  void defaultsComeFromReferenceConf() {
    ConfigReader reader = reader("");
    HttpChannelConfig config = HttpChannelConfig.read(reader);
    assertEquals(List.of(), reader.problems());
    assertTrue(config.enabled());
    assertEquals("127.0.0.1", config.host());
    assertEquals(8080, config.port());
    assertEquals(100, config.maxPendingMessages());
    assertEquals(1024 * 1024, config.maxBodySize());
    assertEquals(System.getenv("SWITCHBOARD_HTTP_TOKEN") == null ? Optional.empty()
        : Optional.of(System.getenv("SWITCHBOARD_HTTP_TOKEN")).filter(t -> !t.isEmpty()), config.authToken());
  }

  @Test
  void readsEveryKey() {
    ConfigReader reader = reader("switchboard.channels.http { enabled = false, host = \"0.0.0.0\", port = 0,"
        + " max-pending-messages = 7, max-body-size = 64k, auth-token = \"tok\" }");
    HttpChannelConfig config = HttpChannelConfig.read(reader);
    assertEquals(List.of(), reader.problems());
    assertEquals(new HttpChannelConfig(false, "0.0.0.0", 0, 7, 64 * 1024, Optional.of("tok")), config);
  }

  @Test
  void reportsOneLinePerProblem() {
    ConfigReader reader = reader("switchboard.channels.http { port = 70000, max-pending-messages = 0,"
        + " max-body-size = lots, enabled = maybe }");
    HttpChannelConfig config = HttpChannelConfig.read(reader);
    List<String> problems = reader.problems();
    assertEquals(4, problems.size(), problems.toString());
    assertTrue(problems.contains("switchboard.channels.http.port: 70000 is too large (expected 0 to 65535; 0 = any free port)"),
        problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("switchboard.channels.http.max-pending-messages: 0")));
    assertTrue(problems.contains("switchboard.channels.http.max-body-size: \"lots\" is not a memory size like 512k, 1m or 1048576"),
        problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("switchboard.channels.http.enabled: ")));
    assertEquals(HttpChannelConfig.DEFAULT.port(), config.port());
  }

  @Test
  void toStringNeverShowsTheToken() {
    HttpChannelConfig config = HttpChannelConfig.DEFAULT.withAuthToken(Optional.of("super-secret-token"));
    assertFalse(config.toString().contains("super-secret-token"));
    assertTrue(config.toString().contains("<redacted>"));
    assertEquals(Optional.empty(), HttpChannelConfig.DEFAULT.withAuthToken(Optional.of("")).authToken());
  }
}
