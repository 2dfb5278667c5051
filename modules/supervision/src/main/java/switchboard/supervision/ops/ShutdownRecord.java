package switchboard.supervision.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Why the gateway last stopped, so that after a restart (say, by systemd at 3 a.m.) an operator can
 * tell a deploy's SIGTERM from a start failure or a crash: {@code <data-dir>/last-shutdown.json},
 * written on the way out and read at the next start ({@code /api/status} {@code last_shutdown},
 * {@code gateway status}, the start-up log). A run that ends without writing it (SIGKILL, the OOM
 * killer, a JVM crash) is noticed through {@code <data-dir>/running.json}, which a running gateway
 * keeps and a clean stop removes.
 *
 * @param time when it stopped; empty when the run ended without recording it
 * @param reason {@link #SIGTERM}, {@link #SIGINT}, {@link #REQUESTED}, {@link #START_FAILURE},
 *     {@link #FATAL_ERROR} or {@link #KILLED}
 * @param unanswered accepted messages still unanswered when it stopped; empty when unknown
 * @param started when that run started; empty when unknown
 * @param detail more words, e.g. the start failure's message
 */
public record ShutdownRecord(
    Optional<Instant> time, String reason, Optional<Integer> unanswered, Optional<Instant> started, Optional<String> detail) {

  public static final String FILE = "last-shutdown.json";
  static final String RUNNING_FILE = "running.json";

  public static final String SIGTERM = "SIGTERM";
  public static final String SIGINT = "SIGINT";
  /** Stopped through {@code Gateway.shutdown()} by code (tests, an embedding program). */
  public static final String REQUESTED = "shutdown requested";
  public static final String START_FAILURE = "start failure";
  /** The actor system terminated by itself (e.g. Pekko's reaction to a fatal JVM error). */
  public static final String FATAL_ERROR = "fatal error";
  /** Inferred at the next start: the run left no record (SIGKILL, the OOM killer, a JVM crash, power loss). */
  public static final String KILLED = "killed or crashed";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger LOG = LoggerFactory.getLogger(ShutdownRecord.class);

  /** A stop happening now. */
  public static ShutdownRecord now(String reason, int unanswered, Optional<Instant> started, Optional<String> detail) {
    return new ShutdownRecord(Optional.of(Instant.now()), reason, Optional.of(unanswered), started, detail);
  }

  /** {@code {"time", "reason", "unanswered", "started", "detail"}}, unknowns as null. */
  public ObjectNode toJson() {
    ObjectNode node = JSON.createObjectNode();
    node.put("time", time.map(Instant::toString).orElse(null));
    node.put("reason", reason);
    if (unanswered.isPresent()) {
      node.put("unanswered", unanswered.get());
    } else {
      node.putNull("unanswered");
    }
    node.put("started", started.map(Instant::toString).orElse(null));
    node.put("detail", detail.orElse(null));
    return node;
  }

  /** One line for logs and {@code gateway status}, e.g. {@code stopped at 2025-03-01T10:00:00Z: SIGTERM, 0 unanswered}. */
  public String describe() {
    return describe(toJson());
  }

  /** {@link #describe()} of a record as {@code /api/status} shows it. */
  public static String describe(JsonNode json) {
    String reason = json.path("reason").asText("unknown");
    String detail = text(json.path("detail")).map(d -> " (" + d + ")").orElse("");
    Optional<String> time = text(json.path("time"));
    if (time.isEmpty()) {
      return "started at " + text(json.path("started")).orElse("an unknown time") + ", ended without a clean stop: "
          + reason + detail;
    }
    String unanswered = json.path("unanswered").isNumber() ? ", " + json.path("unanswered").asInt() + " unanswered" : "";
    return "stopped at " + time.get() + ": " + reason + unanswered + detail;
  }

  /**
   * The previous run's record, read at start: its {@value #FILE}, or, when it left {@value #RUNNING_FILE}
   * behind, a {@link #KILLED} record (which then replaces the file, so it is still known after this run).
   */
  public static Optional<ShutdownRecord> previous(Path dataDir) {
    Path running = dataDir.resolve(RUNNING_FILE);
    if (Files.exists(running)) {
      Optional<Instant> started = read(running).flatMap(n -> instant(n.path("started")));
      ShutdownRecord lost = new ShutdownRecord(Optional.empty(), KILLED, Optional.empty(), started,
          Optional.of("no shutdown was recorded: SIGKILL, the OOM killer, a JVM crash or a power loss"));
      lost.write(dataDir);
      return Optional.of(lost);
    }
    return read(dataDir.resolve(FILE)).map(ShutdownRecord::fromJson);
  }

  /** Notes that a run started at {@code started} is under way (removed again by {@link #write}). */
  public static void markRunning(Path dataDir, Instant started) {
    ObjectNode node = JSON.createObjectNode();
    node.put("started", started.toString());
    node.put("pid", ProcessHandle.current().pid());
    writeAtomically(dataDir, RUNNING_FILE, node);
  }

  /** Writes this record as {@value #FILE} and clears the running mark; a failure is logged, never thrown. */
  public void write(Path dataDir) {
    if (writeAtomically(dataDir, FILE, toJson())) {
      try {
        Files.deleteIfExists(dataDir.resolve(RUNNING_FILE));
      } catch (IOException e) {
        LOG.warn("could not remove {}: {}", dataDir.resolve(RUNNING_FILE), e.toString());
      }
    }
  }

  private static ShutdownRecord fromJson(JsonNode node) {
    return new ShutdownRecord(
        instant(node.path("time")),
        node.path("reason").asText("unknown"),
        node.path("unanswered").isNumber() ? Optional.of(node.path("unanswered").asInt()) : Optional.empty(),
        instant(node.path("started")),
        text(node.path("detail")));
  }

  private static Optional<JsonNode> read(Path file) {
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      JsonNode node = JSON.readTree(file.toFile());
      return node != null && node.isObject() ? Optional.of(node) : Optional.empty();
    } catch (IOException e) {
      LOG.warn("ignoring {}: {}", file, e.getMessage());
      return Optional.empty();
    }
  }

  private static boolean writeAtomically(Path dataDir, String name, ObjectNode node) {
    try {
      Files.createDirectories(dataDir);
      Path tmp = dataDir.resolve(name + ".tmp");
      Files.writeString(tmp, node.toString() + "\n");
      Files.move(tmp, dataDir.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return true;
    } catch (IOException | RuntimeException e) {
      LOG.warn("could not write {}: {}", dataDir.resolve(name), e.toString());
      return false;
    }
  }

  private static Optional<Instant> instant(JsonNode node) {
    try {
      return text(node).map(Instant::parse);
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  private static Optional<String> text(JsonNode node) {
    return node == null || node.isMissingNode() || node.isNull() || node.asText().isEmpty()
        ? Optional.empty()
        : Optional.of(node.asText());
  }
}
