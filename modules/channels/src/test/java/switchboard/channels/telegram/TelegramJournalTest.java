package switchboard.channels.telegram;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import switchboard.channels.telegram.TelegramJournal.Action;
import switchboard.channels.telegram.TelegramJournal.Entry;
import switchboard.channels.telegram.TelegramJournal.Snapshot;

/** The journal's durable bookkeeping: pending survives, answered is remembered and pruned. */
class TelegramJournalTest {
  private static final Executor IO = Runnable::run;

  @TempDir Path dataDir;

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void pendingEntriesSurviveAndAnsweredOnesAreRememberedButPruned() throws Exception {
    TelegramJournal journal = new TelegramJournal(dataDir);
    Entry ask = new Entry(5000, 1, 7, Action.ASK, "still open \"quoted\"\nline");
    await(journal.accepted(List.of(ask, new Entry(5001, 1, 8, Action.REPLY, "busy")), IO));
    await(journal.answered(5001, IO));
    for (long id = 1; id <= TelegramJournal.KEEP_ANSWERED + 100; id++) {
      await(journal.answered(id, IO));
    }
    // A crash in the middle of a write leaves half a line behind.
    Files.writeString(journal.file(), "{\"recv\":{\"u\":9", StandardCharsets.UTF_8, StandardOpenOption.APPEND);

    Snapshot snapshot = await(new TelegramJournal(dataDir).load(IO));
    assertEquals(List.of(ask), snapshot.pending());
    assertEquals(TelegramJournal.KEEP_ANSWERED, snapshot.answered().size());
    assertEquals(
        LongStream.rangeClosed(101, TelegramJournal.KEEP_ANSWERED + 100).boxed().toList(), snapshot.answered());
    assertEquals(1, snapshot.unreadableLines());

    // Loading compacted the file: it now holds just what the snapshot says.
    assertTrue(Files.readAllLines(journal.file()).size() == TelegramJournal.KEEP_ANSWERED + 1);
    Snapshot again = await(new TelegramJournal(dataDir).load(IO));
    assertEquals(snapshot.pending(), again.pending());
    assertEquals(snapshot.answered(), again.answered());
    assertEquals(0, again.unreadableLines());
  }

  @Test
  void anEmptyDataDirLoadsEmpty() throws Exception {
    Snapshot snapshot = await(new TelegramJournal(dataDir.resolve("fresh")).load(IO));
    assertEquals(List.of(), snapshot.pending());
    assertEquals(List.of(), snapshot.answered());
  }
}
