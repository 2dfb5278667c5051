package switchboard.providers.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Reads one section of the configuration and collects every problem instead of stopping at the
 * first, so that {@code config check} can print one line per problem: the full key, the value, and
 * what was expected. Each getter returns the fallback it is given when the value is wrong, so a
 * whole tree can be read in one pass.
 */
public final class ConfigReader {
  private final Config config;
  private final String prefix;
  private final List<String> problems;

  private ConfigReader(Config config, String prefix, List<String> problems) {
    this.config = config;
    this.prefix = prefix;
    this.problems = problems;
  }

  /** A reader of {@code config}, whose keys are reported as {@code prefix.key}. */
  public static ConfigReader of(Config config, String prefix) {
    return new ConfigReader(config, prefix, new ArrayList<>());
  }

  /** A reader of a nested section that reports into the same problem list. */
  public ConfigReader section(String key) {
    if (!config.hasPath(key)) {
      return new ConfigReader(com.typesafe.config.ConfigFactory.empty(), path(key), problems);
    }
    try {
      return new ConfigReader(config.getConfig(key), path(key), problems);
    } catch (ConfigException.WrongType e) {
      problem(key, "is not an object (expected { ... })");
      return new ConfigReader(com.typesafe.config.ConfigFactory.empty(), path(key), problems);
    }
  }

  /** Readers of each object of a list, reporting their keys as {@code prefix.key[i]}. */
  public List<ConfigReader> list(String key) {
    List<ConfigReader> out = new ArrayList<>();
    if (!config.hasPath(key)) {
      return out;
    }
    try {
      List<? extends Config> items = config.getConfigList(key);
      for (int i = 0; i < items.size(); i++) {
        out.add(new ConfigReader(items.get(i), path(key) + "[" + i + "]", problems));
      }
    } catch (ConfigException.WrongType e) {
      problem(key, "is not a list of objects (expected [ { ... }, ... ])");
    }
    return out;
  }

  /**
   * This section read over {@code defaults} (keys missing here are taken from there), reporting into
   * the same problem list under the same prefix.
   */
  public ConfigReader withFallback(Config defaults) {
    return new ConfigReader(config.withFallback(defaults), prefix, problems);
  }

  public Config config() {
    return config;
  }

  public String prefix() {
    return prefix;
  }

  public boolean has(String key) {
    return config.hasPath(key);
  }

  /** The full key name as reported in problems. */
  public String path(String key) {
    return prefix.isEmpty() ? key : prefix + "." + key;
  }

  /** Records a problem with {@code key}: {@code what} should name the value and what is expected. */
  public void problem(String key, String what) {
    problems.add(path(key) + ": " + what);
  }

  public List<String> problems() {
    return List.copyOf(problems);
  }

  public String string(String key, String fallback) {
    return read(key, fallback, config::getString, "a string");
  }

  /** A required string; a problem when it is missing or empty. */
  public String requiredString(String key) {
    if (!config.hasPath(key)) {
      problems.add(path(key) + ": is missing (expected a string)");
      return "";
    }
    String value = string(key, "");
    if (value.isBlank()) {
      problem(key, "is empty (expected a non-empty string)");
    }
    return value;
  }

  public Optional<String> optionalString(String key) {
    if (!config.hasPath(key)) {
      return Optional.empty();
    }
    String value = string(key, "");
    return value.isEmpty() ? Optional.empty() : Optional.of(value);
  }

  public boolean bool(String key, boolean fallback) {
    return read(key, fallback, config::getBoolean, "true or false");
  }

  public int integer(String key, int fallback) {
    return read(key, fallback, config::getInt, "a whole number");
  }

  public long longValue(String key, long fallback) {
    return read(key, fallback, config::getLong, "a whole number");
  }

  public double number(String key, double fallback) {
    return read(key, fallback, config::getDouble, "a number");
  }

  public Duration duration(String key, Duration fallback) {
    return read(key, fallback, config::getDuration, "a duration like 250ms, 30s or 1h");
  }

  public List<String> strings(String key, List<String> fallback) {
    return read(key, fallback, config::getStringList, "a list of strings");
  }

  /** Like {@link #integer} but also a problem when below {@code min}. */
  public int atLeast(String key, int fallback, int min) {
    int value = integer(key, fallback);
    if (value < min) {
      problem(key, value + " is too small (expected at least " + min + ")");
      return fallback;
    }
    return value;
  }

  /** Like {@link #number} but also a problem when below {@code min}. */
  public double atLeast(String key, double fallback, double min) {
    double value = number(key, fallback);
    if (value < min) {
      problem(key, value + " is too small (expected at least " + min + ")");
      return fallback;
    }
    return value;
  }

  /** A string that must be one of {@code allowed}. */
  public String oneOf(String key, String fallback, List<String> allowed) {
    String value = string(key, fallback);
    if (!allowed.contains(value)) {
      problem(key, "\"" + value + "\" is not allowed (expected one of " + String.join(", ", allowed) + ")");
      return fallback;
    }
    return value;
  }

  private <T> T read(String key, T fallback, Function<String, T> getter, String expected) {
    if (!config.hasPath(key)) {
      return fallback;
    }
    try {
      return getter.apply(key);
    } catch (ConfigException.BadValue | ConfigException.WrongType e) {
      problem(key, shown(key) + " is not " + expected);
      return fallback;
    }
  }

  /** The value as the user wrote it, for problem lines; strings quoted. */
  private String shown(String key) {
    ConfigValue value = config.getValue(key);
    String rendered = value.render(com.typesafe.config.ConfigRenderOptions.concise());
    return rendered.length() > 60 ? rendered.substring(0, 57) + "..." : rendered;
  }
}
