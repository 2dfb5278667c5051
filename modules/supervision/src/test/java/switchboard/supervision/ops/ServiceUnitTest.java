package switchboard.supervision.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ServiceUnitTest {

  /** key -> value of each {@code key=value} line (the last one wins, as in systemd). */
  private static Map<String, String> lines(String unit) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : unit.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0 && !line.startsWith("#")) {
        out.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return out;
  }

  @Test
  void runsTheLauncherWithTheConfigAndOutlastsTheDrain() {
    String unit = ServiceUnit.render(Path.of("/opt/switchboard"), Path.of("/etc/switchboard/gateway.conf"),
        Duration.ofSeconds(10), Optional.of("switchboard"));
    Map<String, String> keys = lines(unit);

    assertTrue(unit.startsWith("[Unit]\n"));
    assertTrue(unit.contains("\n[Service]\n") && unit.contains("\n[Install]\n"));
    assertEquals("/opt/switchboard/bin/switchboard gateway run --config /etc/switchboard/gateway.conf", keys.get("ExecStart"));
    assertEquals("/opt/switchboard", keys.get("WorkingDirectory"));
    assertEquals("always", keys.get("Restart"));
    assertEquals("5", keys.get("RestartSec"));
    assertEquals("SIGTERM", keys.get("KillSignal"));
    assertEquals("30", keys.get("TimeoutStopSec"));
    assertEquals("-/etc/switchboard/env", keys.get("EnvironmentFile"));
    assertEquals("switchboard", keys.get("User"));
    assertEquals("multi-user.target", keys.get("WantedBy"));
  }

  @Test
  void relativePathsBecomeAbsoluteAndOddOnesAreQuoted() {
    Path root = Path.of("my project");
    String unit = ServiceUnit.render(root, Path.of("config/gate%way.conf"), Duration.ofMillis(10_500), Optional.empty());
    Map<String, String> keys = lines(unit);
    String abs = root.toAbsolutePath().normalize().toString();
    String cwd = Path.of("").toAbsolutePath().toString();

    assertEquals("\"" + abs + "/bin/switchboard\" gateway run --config \"" + cwd + "/config/gate%%way.conf\"",
        keys.get("ExecStart"));
    assertEquals(abs, keys.get("WorkingDirectory"));
    assertEquals("31", keys.get("TimeoutStopSec"), "10.5 s drain + 20 s, rounded up");
    assertTrue(!keys.containsKey("User"), "no User= when none is given: systemd's default");
  }

  @Test
  void aLineBreakCannotSmuggleADirective() {
    assertThrows(IllegalArgumentException.class, () ->
        ServiceUnit.render(Path.of("/opt/sb"), Path.of("/etc/sb.conf"), Duration.ofSeconds(10), Optional.of("me\nExecStartPre=/bin/evil")));
  }

  @Test
  void instructionsNameTheUnit() {
    String text = ServiceUnit.enableInstructions(ServiceUnit.UNIT_PATH);
    assertTrue(text.contains("systemctl daemon-reload"));
    assertTrue(text.contains("systemctl enable --now switchboard.service"));
  }
}
