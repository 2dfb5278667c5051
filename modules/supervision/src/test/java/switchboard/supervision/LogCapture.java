package switchboard.supervision;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.slf4j.LoggerFactory;

/**
 * Everything the gateway logs (the root logger: the gateway log, not the provider call log) while it is
 * open, with stack traces, so a test can search what an operator would find in journald.
 */
final class LogCapture implements AutoCloseable {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
  private final Logger root;

  LogCapture() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%level %logger %X{pekkoSource} - %msg%n%ex");
    encoder.start();
    appender.setContext(context);
    appender.setName("log-capture");
    appender.setEncoder(encoder);
    appender.setOutputStream(bytes);
    appender.start();
    root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.addAppender(appender);
  }

  /** What was logged so far. */
  String text() {
    synchronized (bytes) {
      return bytes.toString(StandardCharsets.UTF_8);
    }
  }

  @Override
  public void close() {
    root.detachAppender(appender);
    appender.stop();
  }
}
