package switchboard.channels.telegram;

import java.util.List;
import java.util.concurrent.CompletionStage;
import switchboard.channels.telegram.TelegramJournal.Entry;
import switchboard.channels.telegram.TelegramJournal.Snapshot;

/**
 * Where the Telegram channel keeps its bookkeeping (updates accepted and not yet answered, the ids
 * recently answered), written before Telegram is told an update was received: the gateway's store
 * ({@link TelegramLedger}) or, for a channel run without one, {@link TelegramJournal}'s file.
 */
interface TelegramBook {
  CompletionStage<Snapshot> load();

  /** Completes once {@code entries} are durable: only then is their offset confirmed to Telegram. */
  CompletionStage<Void> accepted(List<Entry> entries);

  CompletionStage<Void> answered(long updateId);

  /** Makes the book small again (the store's snapshots do that by themselves). */
  CompletionStage<Void> compact(List<Entry> pending, List<Long> answered);

  /** Where it is, for log lines. */
  String describe();
}
