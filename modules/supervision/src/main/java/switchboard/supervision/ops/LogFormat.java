package switchboard.supervision.ops;

import ch.qos.logback.core.PropertyDefinerBase;
import java.util.Locale;

/**
 * Picks the gateway log's format for {@code logback.xml} (a {@code <define>}, so no Janino
 * conditionals are needed): the name of the appender to use, {@code console} (one readable line per
 * event, the default) or {@code json} (one JSON object per line, Logback's {@code JsonEncoder}, for
 * log shippers). Set by the environment variable {@value #ENV} or, taking precedence, the system
 * property {@value #PROPERTY} (e.g. in {@code JAVA_OPTS}). An unknown value warns and falls back to console.
 */
public final class LogFormat extends PropertyDefinerBase {

  public static final String ENV = "SWITCHBOARD_LOG_FORMAT";
  public static final String PROPERTY = "switchboard.log.format";
  public static final String CONSOLE = "console";
  public static final String JSON = "json";

  @Override
  public String getPropertyValue() {
    String value = System.getProperty(PROPERTY);
    String source = "-D" + PROPERTY;
    if (value == null) {
      value = System.getenv(ENV);
      source = ENV;
    }
    String format = choose(value);
    if (format == null) {
      addWarn(source + "=" + value + " is not a log format (console or json): using console");
      return CONSOLE;
    }
    return format;
  }

  /** {@code console} or {@code json} for a setting, null when it names neither; unset means console. */
  static String choose(String value) {
    if (value == null || value.isBlank()) {
      return CONSOLE;
    }
    String v = value.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "console", "text", "plain" -> CONSOLE;
      case "json" -> JSON;
      default -> null;
    };
  }
}
