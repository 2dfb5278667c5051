package switchboard.supervision.ops;

import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.EncoderBase;
import java.util.Locale;

/**
 * The gateway log's encoder, in one appender of {@code logback.xml}: readable lines by default (its
 * {@code pattern}), or one JSON object per line (Logback's {@link JsonEncoder}: {@code timestamp},
 * {@code level}, {@code threadName}, {@code loggerName}, {@code mdc}, {@code formattedMessage},
 * {@code throwable}) for log shippers. The format comes from the environment variable {@value #ENV}
 * or, taking precedence, the system property {@value #PROPERTY} (e.g. in {@code JAVA_OPTS}): {@code
 * console} or {@code json}. Chosen in code because Logback's XML conditionals need Janino, which is
 * not on the class path; an unknown value warns and keeps the console format, so the log is never lost.
 */
public final class GatewayLogEncoder extends EncoderBase<ILoggingEvent> {

  public static final String ENV = "SWITCHBOARD_LOG_FORMAT";
  public static final String PROPERTY = "switchboard.log.format";
  public static final String CONSOLE = "console";
  public static final String JSON = "json";

  private String pattern = "%d %-5level %logger - %msg%n";
  private Encoder<ILoggingEvent> delegate;
  private String format = CONSOLE;

  /** The console format's layout (a Logback pattern). */
  public void setPattern(String pattern) {
    this.pattern = pattern;
  }

  /** {@value #CONSOLE} or {@value #JSON}, as chosen at start. */
  public String format() {
    return format;
  }

  @Override
  public void start() {
    String value = System.getProperty(PROPERTY);
    String source = "-D" + PROPERTY;
    if (value == null) {
      value = System.getenv(ENV);
      source = ENV;
    }
    String chosen = choose(value);
    if (chosen == null) {
      addWarn(source + "=" + value + " is not a log format (console or json): using console");
      chosen = CONSOLE;
    }
    format = chosen;
    delegate = JSON.equals(format) ? json() : console();
    delegate.setContext(getContext());
    delegate.start();
    super.start();
  }

  @Override
  public void stop() {
    if (delegate != null) {
      delegate.stop();
    }
    super.stop();
  }

  private Encoder<ILoggingEvent> console() {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setPattern(pattern);
    return encoder;
  }

  private static Encoder<ILoggingEvent> json() {
    JsonEncoder encoder = new JsonEncoder();
    encoder.setWithSequenceNumber(false);
    encoder.setWithNanoseconds(false);
    encoder.setWithContext(false);
    encoder.setWithMessage(false);
    encoder.setWithArguments(false);
    encoder.setWithFormattedMessage(true);
    return encoder;
  }

  @Override
  public byte[] headerBytes() {
    return delegate.headerBytes();
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    return delegate.encode(event);
  }

  @Override
  public byte[] footerBytes() {
    return delegate.footerBytes();
  }

  /** {@code console} or {@code json} for a setting, null when it names neither; unset means console. */
  static String choose(String value) {
    if (value == null || value.isBlank()) {
      return CONSOLE;
    }
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "console", "text", "plain" -> CONSOLE;
      case "json" -> JSON;
      default -> null;
    };
  }
}
