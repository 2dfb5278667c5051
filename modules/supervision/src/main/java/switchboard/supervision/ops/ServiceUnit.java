package switchboard.supervision.ops;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The systemd unit that keeps the gateway running ({@code gateway install-service}): restarted
 * whatever made it stop, stopped with SIGTERM and given longer than its own drain
 * ({@code shutdown-timeout}) before systemd kills it, so in-flight answers are not cut off. Keys come
 * from {@code /etc/switchboard/env} (optional), never from the unit file.
 */
public final class ServiceUnit {

  /** Where {@code install-service} writes the unit. */
  public static final Path UNIT_PATH = Path.of("/etc/systemd/system/switchboard.service");

  /** The file systemd reads the provider keys and tokens from ({@code NAME=value} lines). */
  public static final Path ENVIRONMENT_FILE = Path.of("/etc/switchboard/env");

  /** What systemd gets on top of the drain before it kills the gateway. */
  public static final Duration STOP_MARGIN = Duration.ofSeconds(20);

  private ServiceUnit() {}

  /**
   * The unit text. {@code projectRoot} holds {@code bin/switchboard}; both paths are made absolute
   * (systemd requires it). {@code user}, when given, runs the gateway as that user.
   *
   * @throws IllegalArgumentException when a path or the user contains a line break
   */
  public static String render(Path projectRoot, Path config, Duration shutdownTimeout, Optional<String> user) {
    Path root = projectRoot.toAbsolutePath().normalize();
    Path launcher = root.resolve("bin").resolve("switchboard");
    Path conf = config.toAbsolutePath().normalize();
    long stopSeconds = ceilSeconds(shutdownTimeout.plus(STOP_MARGIN));
    StringBuilder unit = new StringBuilder();
    unit.append("[Unit]\n")
        .append("Description=Switchboard chat gateway\n")
        .append("After=network-online.target\n")
        .append("Wants=network-online.target\n")
        .append("\n[Service]\n")
        .append("Type=simple\n");
    user.filter(u -> !u.isBlank()).ifPresent(u -> unit.append("User=").append(plain(u)).append('\n'));
    unit.append("WorkingDirectory=").append(plain(root.toString()).replace("%", "%%")).append('\n')
        .append("EnvironmentFile=-").append(ENVIRONMENT_FILE).append('\n')
        .append("ExecStart=").append(arg(launcher.toString())).append(" gateway run --config ").append(arg(conf.toString())).append('\n')
        .append("Restart=always\n")
        .append("RestartSec=5\n")
        .append("KillSignal=SIGTERM\n")
        .append("TimeoutStopSec=").append(stopSeconds).append('\n')
        .append("\n[Install]\n")
        .append("WantedBy=multi-user.target\n");
    return unit.toString();
  }

  /** What to run after the unit is written. */
  public static String enableInstructions(Path unitPath) {
    String name = unitPath.getFileName().toString();
    return String.join(
        "\n",
        "Wrote " + unitPath + ". Put provider keys in " + ENVIRONMENT_FILE + " (NAME=value lines, chmod 600), then:",
        "  sudo systemctl daemon-reload",
        "  sudo systemctl enable --now " + name,
        "  systemctl status " + name + "    # journalctl -u " + name + " -f for the log",
        "");
  }

  private static long ceilSeconds(Duration d) {
    long seconds = d.getSeconds();
    return d.getNano() > 0 ? seconds + 1 : seconds;
  }

  /** One ExecStart word: quoted when it has spaces, with systemd's escapes for \, ", % and $. */
  private static String arg(String value) {
    String escaped =
        plain(value).replace("\\", "\\\\").replace("\"", "\\\"").replace("%", "%%").replace("$", "$$");
    return escaped.matches("[A-Za-z0-9_./@:+=,-]+") ? escaped : "\"" + escaped + "\"";
  }

  private static String plain(String value) {
    if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
      throw new IllegalArgumentException("a line break cannot be written into a systemd unit: " + value.strip());
    }
    return value;
  }
}
