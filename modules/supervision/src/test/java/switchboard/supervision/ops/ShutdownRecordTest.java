package switchboard.supervision.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The last-shutdown file: written on the way out, read at the next start, and a lost run noticed. */
class ShutdownRecordTest {

  @TempDir Path data;

  private static final Instant STARTED = Instant.parse("2025-03-01T09:00:00Z");
  private static final Instant STOPPED = Instant.parse("2025-03-01T10:00:00Z");

  @Test
  void nothingRecordedNothingKnown() {
    assertEquals(Optional.empty(), ShutdownRecord.previous(data));
  }

  @Test
  void aRecordedStopIsReadBackAndDescribedInOneLine() {
    ShutdownRecord stop = new ShutdownRecord(
        Optional.of(STOPPED), ShutdownRecord.SIGTERM, Optional.of(2), Optional.of(STARTED), Optional.empty());
    stop.write(data);
    assertEquals(Optional.of(stop), ShutdownRecord.previous(data));
    assertEquals("stopped at 2025-03-01T10:00:00Z: SIGTERM, 2 unanswered", stop.describe());
    assertEquals("SIGTERM", stop.toJson().path("reason").asText());
    assertEquals(2, stop.toJson().path("unanswered").asInt());
    assertEquals("2025-03-01T09:00:00Z", stop.toJson().path("started").asText());
  }

  @Test
  void aRunThatLeftItsRunningMarkBehindWasKilledOrCrashed() {
    new ShutdownRecord(Optional.of(STOPPED), ShutdownRecord.SIGTERM, Optional.of(0), Optional.empty(), Optional.empty())
        .write(data);
    ShutdownRecord.markRunning(data, STARTED);

    ShutdownRecord lost = ShutdownRecord.previous(data).orElseThrow();
    assertEquals(ShutdownRecord.KILLED, lost.reason());
    assertEquals(Optional.empty(), lost.time());
    assertEquals(Optional.of(STARTED), lost.started());
    assertTrue(lost.describe().startsWith("started at 2025-03-01T09:00:00Z, ended without a clean stop: killed or crashed"),
        lost.describe());
    assertFalse(Files.exists(data.resolve("running.json")), "the mark is cleared");
    assertEquals(Optional.of(lost), ShutdownRecord.previous(data), "and the loss stays known");
  }

  @Test
  void aCleanStopClearsTheRunningMark() {
    ShutdownRecord.markRunning(data, STARTED);
    assertTrue(Files.exists(data.resolve("running.json")));
    ShutdownRecord.now(ShutdownRecord.REQUESTED, 0, Optional.of(STARTED), Optional.empty()).write(data);
    assertFalse(Files.exists(data.resolve("running.json")));
    assertEquals(ShutdownRecord.REQUESTED, ShutdownRecord.previous(data).orElseThrow().reason());
  }

  @Test
  void anUnreadableFileIsIgnored() throws Exception {
    Files.writeString(data.resolve(ShutdownRecord.FILE), "{not json");
    assertEquals(Optional.empty(), ShutdownRecord.previous(data));
  }

  @Test
  void aMissingDataDirIsCreated() {
    Path nested = data.resolve("not/yet");
    ShutdownRecord.now(ShutdownRecord.START_FAILURE, 0, Optional.empty(), Optional.of("cannot listen on 127.0.0.1:8080"))
        .write(nested);
    ShutdownRecord read = ShutdownRecord.previous(nested).orElseThrow();
    assertEquals(Optional.of("cannot listen on 127.0.0.1:8080"), read.detail());
    assertTrue(read.describe().endsWith(": start failure, 0 unanswered (cannot listen on 127.0.0.1:8080)"), read.describe());
  }
}
