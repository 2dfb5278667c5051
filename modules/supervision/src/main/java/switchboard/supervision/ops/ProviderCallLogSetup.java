package switchboard.supervision.ops;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy;
import ch.qos.logback.core.util.FileSize;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;
import switchboard.providers.observe.ProviderCallLog;

/**
 * Sends the provider call log ({@link ProviderCallLog#LOGGER_NAME}) to its own rotated file, in code
 * rather than in a logback.xml so that {@code provider-log.path} and {@code provider-log.level} of the
 * gateway config decide. Files roll daily and at 10 MB ({@code provider.log.2025-03-01.0.gz}), kept 7
 * days and 1 GB at most. Additivity is off: call lines do not also go to the console.
 *
 * <p>The file is written off the request path: an {@link AsyncAppender} queues up to
 * {@value #QUEUE} lines for one writer thread. It never discards a line (no discarding threshold,
 * and a caller waits for room when the queue is full rather than dropping), and stopping it writes
 * what is queued.
 */
public final class ProviderCallLogSetup {
  private static final String APPENDER = "provider-calls";
  /** Lines the asynchronous appender holds before a caller waits for the writer. */
  static final int QUEUE = 8192;
  private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(ProviderCallLogSetup.class);

  private ProviderCallLogSetup() {}

  /**
   * Attaches the rolling file appender (replacing one attached before). Returns a handle that detaches
   * and closes it and restores the logger's level and additivity, e.g. on shutdown or in tests. Without Logback as the SLF4J backend it only
   * warns: the log is an aid, not a reason to refuse to start.
   */
  public static AutoCloseable attach(ProviderLogConfig config) {
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (!(factory instanceof LoggerContext context)) {
      LOG.warn("provider call log not written to {}: the logging backend is not Logback", config.path());
      return () -> {};
    }
    Logger logger = context.getLogger(ProviderCallLog.LOGGER_NAME);
    Level previousLevel = logger.getLevel();
    boolean previousAdditive = logger.isAdditive();
    AutoCloseable restore = () -> {
      detach(logger);
      logger.setLevel(previousLevel);
      logger.setAdditive(previousAdditive);
    };
    logger.setAdditive(false);
    logger.setLevel(Level.toLevel(config.level(), Level.INFO));
    detach(logger);
    if (logger.getLevel() == Level.OFF) {
      return restore;
    }

    String file = config.path().toAbsolutePath().normalize().toString();
    RollingFileAppender<ILoggingEvent> appender = new RollingFileAppender<>();
    appender.setContext(context);
    appender.setName(APPENDER + "-file");
    appender.setFile(file);

    SizeAndTimeBasedRollingPolicy<ILoggingEvent> policy = new SizeAndTimeBasedRollingPolicy<>();
    policy.setContext(context);
    policy.setParent(appender);
    policy.setFileNamePattern(file + ".%d{yyyy-MM-dd}.%i.gz");
    policy.setMaxFileSize(FileSize.valueOf("10MB"));
    policy.setMaxHistory(7);
    policy.setTotalSizeCap(FileSize.valueOf("1GB"));
    policy.start();

    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%msg%n");
    encoder.start();

    appender.setRollingPolicy(policy);
    appender.setEncoder(encoder);
    appender.start();
    AsyncAppender async = new AsyncAppender();
    async.setContext(context);
    async.setName(APPENDER);
    async.setQueueSize(QUEUE);
    async.setDiscardingThreshold(0);
    async.setNeverBlock(false);
    async.setIncludeCallerData(false);
    async.setMaxFlushTime(5000);
    async.addAppender(appender);
    async.start();
    logger.addAppender(async);
    return restore;
  }

  private static void detach(Logger logger) {
    var existing = logger.getAppender(APPENDER);
    if (existing != null) {
      logger.detachAppender(existing);
      existing.stop();
    }
  }
}
