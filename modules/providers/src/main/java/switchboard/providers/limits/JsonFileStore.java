package switchboard.providers.limits;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small piece of durable state kept as one JSON file under the data dir. {@link #save} never
 * blocks its caller (an actor): the latest snapshot is written on {@code executor}, at most one
 * write at a time, later snapshots replacing ones not yet written. Writes go to a temporary file
 * first and are moved into place, so a crash leaves either the old or the new file, never half.
 */
public final class JsonFileStore<T> {
  private static final Logger log = LoggerFactory.getLogger(JsonFileStore.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().findAndRegisterModules().disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

  private final Path file;
  private final Class<T> type;
  private final Executor executor;
  private final AtomicReference<T> pending = new AtomicReference<>();
  private final AtomicBoolean writing = new AtomicBoolean();

  public JsonFileStore(Path file, Class<T> type, Executor executor) {
    this.file = file;
    this.type = type;
    this.executor = executor;
  }

  /** The stored state, or empty when there is none or it cannot be read (logged, then ignored). */
  public Optional<T> load() {
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readValue(file.toFile(), type));
    } catch (IOException e) {
      log.warn("Ignoring unreadable state file {}: {}", file, e.getMessage());
      return Optional.empty();
    }
  }

  /** Writes {@code snapshot} soon, off the caller's thread. */
  public void save(T snapshot) {
    pending.set(snapshot);
    if (writing.compareAndSet(false, true)) {
      executor.execute(this::drain);
    }
  }

  /** Writes {@code snapshot} now, on the caller's thread (for shutdown and tests). */
  public void saveNow(T snapshot) {
    synchronized (this) {
      write(snapshot);
    }
  }

  private void drain() {
    try {
      T snapshot;
      while ((snapshot = pending.getAndSet(null)) != null) {
        synchronized (this) {
          write(snapshot);
        }
      }
    } finally {
      writing.set(false);
      if (pending.get() != null && writing.compareAndSet(false, true)) {
        executor.execute(this::drain);
      }
    }
  }

  private void write(T snapshot) {
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      JSON.writeValue(tmp.toFile(), snapshot);
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      log.error("Could not write state file {}: {}", file, e.getMessage());
    }
  }
}
