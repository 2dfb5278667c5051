package switchboard.channels.telegram;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * The channel's durable bookkeeping, one JSON line per event in {@code <dataDir>/telegram/journal.jsonl}:
 * {@code {"recv":{...}}} when an update is accepted (with what was decided to answer it), written and
 * fsynced BEFORE the next getUpdates confirms its offset to Telegram; {@code {"done":id}} once its
 * answer was sent. On start the updates received but not done are answered again, and the last
 * {@link #KEEP_ANSWERED} answered ids are remembered so a redelivered update is not answered twice.
 * Loading rewrites the file to just that, so it stays small.
 *
 * <p>Writes run one after the other on the executor they are given (the actor system's blocking
 * dispatcher), never on an actor thread. One journal object outlives actor restarts so that writes
 * of an incarnation that crashed still come before the next incarnation's load.
 */
final class TelegramJournal {
  static final int KEEP_ANSWERED = 1000;

  /** What the channel decided to do with an accepted update. */
  public enum Action {
    /** Ask the conversation; {@code text} is the user's text. */
    ASK,
    /** Send {@code text} (greeting, "only text"), no provider call. */
    REPLY,
    /**
     * Send {@code text}, the busy reply: like {@link #REPLY}, but counted in the metrics as a request
     * answered {@code busy} (journals written before it existed journal busy replies as REPLY).
     */
    BUSY,
    /** Clear the conversation's history (/new). */
    RESET
  }

  /** An accepted update and its decided action. */
  public record Entry(long updateId, long chatId, long messageId, Action action, String text)
      implements switchboard.providers.CborSerializable {}

  /** What the journal remembers: unanswered entries in arrival order, recently answered ids. */
  record Snapshot(List<Entry> pending, List<Long> answered, int unreadableLines) {}

  /** This journal as the channel's {@link TelegramBook}, writing on {@code io}. */
  TelegramBook asBook(Executor io) {
    TelegramJournal journal = this;
    return new TelegramBook() {
      @Override
      public CompletionStage<Snapshot> load() {
        return journal.load(io);
      }

      @Override
      public CompletionStage<Void> accepted(List<Entry> entries) {
        return journal.accepted(entries, io);
      }

      @Override
      public CompletionStage<Void> answered(long updateId) {
        return journal.answered(updateId, io);
      }

      @Override
      public CompletionStage<Void> compact(List<Entry> pending, List<Long> answered) {
        return journal.compact(pending, answered, io);
      }

      @Override
      public String describe() {
        return "the Telegram journal " + journal.file();
      }
    };
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final Path file;
  private CompletableFuture<?> tail = CompletableFuture.completedFuture(null);
  private boolean flushOnShutdown;

  TelegramJournal(Path dataDir) {
    this.dir = dataDir.resolve("telegram");
    this.file = dir.resolve("journal.jsonl");
  }

  Path file() {
    return file;
  }

  /**
   * Makes {@code system}'s coordinated shutdown wait for the writes already queued, so a graceful
   * stop does not forget that an answer was sent. Registered once per journal, not per restart.
   */
  synchronized void flushOnShutdown(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    if (flushOnShutdown) {
      return;
    }
    flushOnShutdown = true;
    org.apache.pekko.actor.CoordinatedShutdown.get(system)
        .addTask(
            org.apache.pekko.actor.CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
            "telegram-journal-flush",
            () -> flushed().thenApply(x -> org.apache.pekko.Done.getInstance()));
  }

  /** Completes when every write queued so far is done (failed ones included). */
  synchronized CompletionStage<Void> flushed() {
    return tail.handle((ignored, error) -> null);
  }

  /** Reads the journal (after any writes still queued), then rewrites it compacted. */
  CompletionStage<Snapshot> load(Executor io) {
    return then(
        io,
        () -> {
          Snapshot snapshot = read();
          rewrite(snapshot.pending(), snapshot.answered());
          return snapshot;
        });
  }

  /** Records that {@code entries} were accepted; completes once they are on disk. */
  CompletionStage<Void> accepted(List<Entry> entries, Executor io) {
    List<String> lines = entries.stream().map(TelegramJournal::recvLine).toList();
    return then(io, () -> append(lines));
  }

  /** Records that update {@code updateId} was answered. */
  CompletionStage<Void> answered(long updateId, Executor io) {
    return then(io, () -> append(List.of(doneLine(updateId))));
  }

  /** Replaces the file by just {@code pending} and {@code answered}. */
  CompletionStage<Void> compact(List<Entry> pending, List<Long> answered, Executor io) {
    List<Entry> p = List.copyOf(pending);
    List<Long> a = List.copyOf(answered);
    return then(
        io,
        () -> {
          rewrite(p, a);
          return null;
        });
  }

  private synchronized <T> CompletionStage<T> then(Executor io, java.util.function.Supplier<T> work) {
    CompletableFuture<T> next = tail.handle((ignored, error) -> null).thenApplyAsync(x -> work.get(), io);
    tail = next;
    return next;
  }

  private Snapshot read() {
    Map<Long, Entry> pending = new LinkedHashMap<>();
    LinkedHashSet<Long> answered = new LinkedHashSet<>();
    int unreadable = 0;
    if (Files.exists(file)) {
      List<String> lines;
      try {
        lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      for (String line : lines) {
        if (line.isBlank()) {
          continue;
        }
        try {
          JsonNode node = JSON.readTree(line);
          if (node.has("recv")) {
            Entry entry = entry(node.get("recv"));
            if (!answered.contains(entry.updateId())) {
              pending.put(entry.updateId(), entry);
            }
          } else if (node.path("done").canConvertToLong()) {
            long id = node.get("done").asLong();
            pending.remove(id);
            remember(answered, id);
          } else {
            unreadable++;
          }
        } catch (IOException | RuntimeException e) {
          unreadable++; // e.g. a line cut short by a crash mid-write
        }
      }
    }
    return new Snapshot(List.copyOf(pending.values()), List.copyOf(answered), unreadable);
  }

  /** Adds {@code id} to a bounded, insertion-ordered set, forgetting the oldest beyond the bound. */
  static void remember(LinkedHashSet<Long> answered, long id) {
    answered.remove(id);
    answered.add(id);
    Iterator<Long> oldest = answered.iterator();
    while (answered.size() > KEEP_ANSWERED) {
      oldest.next();
      oldest.remove();
    }
  }

  private Void append(List<String> lines) {
    StringBuilder out = new StringBuilder();
    lines.forEach(l -> out.append(l).append('\n'));
    try {
      Files.createDirectories(dir);
      try (FileChannel channel =
          FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
        ByteBuffer bytes = ByteBuffer.wrap(out.toString().getBytes(StandardCharsets.UTF_8));
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        channel.force(false);
      }
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void rewrite(List<Entry> pending, List<Long> answered) {
    List<String> lines = new ArrayList<>();
    answered.forEach(id -> lines.add(doneLine(id)));
    pending.forEach(e -> lines.add(recvLine(e)));
    Path tmp = dir.resolve("journal.jsonl.tmp");
    try {
      Files.createDirectories(dir);
      Files.deleteIfExists(tmp);
      try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        StringBuilder out = new StringBuilder();
        lines.forEach(l -> out.append(l).append('\n'));
        ByteBuffer bytes = ByteBuffer.wrap(out.toString().getBytes(StandardCharsets.UTF_8));
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        channel.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String recvLine(Entry e) {
    ObjectNode line = JSON.createObjectNode();
    line.putObject("recv")
        .put("u", e.updateId())
        .put("c", e.chatId())
        .put("m", e.messageId())
        .put("a", e.action().name())
        .put("t", e.text());
    return line.toString();
  }

  private static String doneLine(long updateId) {
    return JSON.createObjectNode().put("done", updateId).toString();
  }

  private static Entry entry(JsonNode recv) {
    if (!recv.path("u").canConvertToLong() || !recv.path("c").canConvertToLong()) {
      throw new IllegalArgumentException("not an entry");
    }
    return new Entry(
        recv.get("u").asLong(),
        recv.get("c").asLong(),
        recv.path("m").asLong(),
        Action.valueOf(recv.path("a").asText()),
        recv.path("t").asText(""));
  }
}
