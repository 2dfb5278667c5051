package switchboard.supervision.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.util.StatusPrinter2;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway's real {@code logback.xml} (not the tests' logback-test.xml), configured into a fresh
 * Logback context: one readable line per event by default, one JSON object per line when the format
 * says json, and an unknown format falls back to console with a warning instead of losing the log.
 * A clean configuration has no warnings, so Logback prints nothing of its own at start.
 */
class GatewayLogEncoderTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MESSAGE = "previous run {}";
  private static final String ARG = "stopped at 2025-03-01T10:00:00Z: SIGTERM, 0 unanswered";

  @AfterEach
  void clear() {
    System.clearProperty(GatewayLogEncoder.PROPERTY);
  }

  private static LoggerContext configure(String format) throws Exception {
    if (format == null) {
      System.clearProperty(GatewayLogEncoder.PROPERTY);
    } else {
      System.setProperty(GatewayLogEncoder.PROPERTY, format);
    }
    URL config = GatewayLogEncoder.class.getResource("/logback.xml");
    assertNotNull(config, "the gateway's logback.xml is on the class path");
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(new LogbackMDCAdapter());
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(config);
    return context;
  }

  private static GatewayLogEncoder encoder(LoggerContext context) {
    ConsoleAppender<ILoggingEvent> appender =
        (ConsoleAppender<ILoggingEvent>) context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("CONSOLE");
    assertNotNull(appender, "root logs to the console appender");
    assertEquals("System.err", appender.getTarget());
    return (GatewayLogEncoder) appender.getEncoder();
  }

  private static String encode(LoggerContext context) {
    LoggingEvent event = new LoggingEvent(
        Logger.class.getName(), context.getLogger("switchboard.supervision.Gateway"), Level.INFO, MESSAGE, null,
        new Object[] {ARG});
    return new String(encoder(context).encode(event), StandardCharsets.UTF_8);
  }

  @Test
  void byDefaultOneReadableLinePerEvent() throws Exception {
    LoggerContext context = configure(null);
    assertEquals(GatewayLogEncoder.CONSOLE, encoder(context).format());
    String line = encode(context);
    assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\dT\\S+ INFO  \\S*Gateway\\s+- previous run " + ARG.replace(".", "\\.") + "\\R"), line);
    assertEquals(Level.WARN, context.getLogger("org.apache.pekko").getLevel());
    assertTrue(highestStatus(context) < Status.WARN, statusText(context));
  }

  @Test
  void jsonGivesOneJsonObjectPerLineWithTheFormattedMessage() throws Exception {
    LoggerContext context = configure("JSON");
    assertEquals(GatewayLogEncoder.JSON, encoder(context).format());
    String line = encode(context);
    assertTrue(line.endsWith("\n") && line.indexOf('\n') == line.length() - 1, "one line: " + line);
    JsonNode json = JSON.readTree(line);
    assertEquals("INFO", json.path("level").asText());
    assertEquals("switchboard.supervision.Gateway", json.path("loggerName").asText());
    assertEquals("previous run " + ARG, json.path("formattedMessage").asText());
    assertTrue(json.path("timestamp").asLong() > 0, line);
    assertFalse(json.has("message") || json.has("arguments"), "the message once, formatted: " + line);
    assertTrue(highestStatus(context) < Status.WARN, statusText(context));
  }

  @Test
  void anUnknownFormatWarnsAndKeepsTheConsoleLog() throws Exception {
    LoggerContext context = configure("xml");
    assertEquals(GatewayLogEncoder.CONSOLE, encoder(context).format());
    assertTrue(statusText(context).contains("xml is not a log format"), statusText(context));
  }

  @Test
  void choosesByName() {
    assertEquals("console", GatewayLogEncoder.choose(null));
    assertEquals("console", GatewayLogEncoder.choose(" "));
    assertEquals("console", GatewayLogEncoder.choose("text"));
    assertEquals("json", GatewayLogEncoder.choose(" Json "));
    assertNull(GatewayLogEncoder.choose("yaml"));
  }

  private static int highestStatus(LoggerContext context) {
    return context.getStatusManager().getCopyOfStatusList().stream().mapToInt(Status::getLevel).max().orElse(Status.INFO);
  }

  private static String statusText(LoggerContext context) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    StatusPrinter2 printer = new StatusPrinter2();
    printer.setPrintStream(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    printer.print(context);
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
