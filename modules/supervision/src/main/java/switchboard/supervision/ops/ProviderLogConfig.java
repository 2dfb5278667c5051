package switchboard.supervision.ops;

import java.nio.file.Path;
import java.util.List;
import switchboard.providers.config.ConfigReader;

/**
 * {@code switchboard.provider-log}: where the provider call log goes and how much of it. Level
 * {@code info} logs every call and breaker change, {@code debug} also retries and refusals,
 * {@code off} nothing. A relative path is taken from the working directory the gateway started in.
 */
public record ProviderLogConfig(Path path, String level) {

  static final List<String> LEVELS = List.of("trace", "debug", "info", "warn", "error", "off");

  public static final ProviderLogConfig DEFAULT = new ProviderLogConfig(Path.of("logs/provider.log"), "info");

  public static ProviderLogConfig read(ConfigReader switchboard) {
    ConfigReader r = switchboard.section("provider-log");
    String path = r.string("path", DEFAULT.path().toString());
    if (path.isBlank()) {
      r.problem("path", "\"\" is empty (expected a file path like logs/provider.log)");
      path = DEFAULT.path().toString();
    }
    String level = r.oneOf("level", DEFAULT.level(), LEVELS);
    return new ProviderLogConfig(Path.of(path), level);
  }
}
