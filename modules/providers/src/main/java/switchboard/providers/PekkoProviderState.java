package switchboard.providers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.state.DurableStateStoreRegistry;
import org.apache.pekko.persistence.state.javadsl.DurableStateUpdateStore;
import org.apache.pekko.persistence.state.javadsl.GetObjectResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import switchboard.providers.limits.SpendLedger;

/**
 * A provider's breakers and spend in the gateway's store: one durable-state object per provider
 * ({@code provider-state|<name>}, Pekko Persistence's durable state store on the same database as
 * the conversations), so one backup holds everything and, later, every node of a cluster reads the
 * same breakers.
 *
 * <p>Saves are coalesced: while one write is under way the newest state waits, and only it is
 * written next (a provider may account thousands of calls a second). A breaker change is written as
 * soon as the write before it is done; spend alone at most every {@link #SPEND_WRITE_INTERVAL}, so
 * a busy provider costs the store a few writes a second instead of one per call ({@link #flush}
 * writes what is left at once: the provider actor calls it when it stops). A {@code kill -9} can
 * so lose at most that interval's spend. A write the store refuses (down, or a revision another
 * writer took) is logged; the revision is read again before the next write.
 *
 * <p>Files of an earlier version ({@code <data-dir>/breakers/<provider>.json},
 * {@code <data-dir>/spend/<provider>.json}) are read once when the store has nothing for the
 * provider, written into the store, and renamed {@code *.json.migrated}.
 */
public final class PekkoProviderState implements ProviderStateStore {
  private static final Logger LOG = LoggerFactory.getLogger(PekkoProviderState.class);
  private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();

  /** The durable-state plugin the gateway configures. */
  public static final String PLUGIN = "jdbc-durable-state-store";

  /** What is stored: the breakers' and the ledger's JSON. */
  public record ProviderState(String breakers, String spend) implements CborSerializable {}

  /** The longest a change of spend alone waits before it is written. */
  public static final java.time.Duration SPEND_WRITE_INTERVAL = java.time.Duration.ofMillis(250);

  private final DurableStateUpdateStore<ProviderState> store;
  private final ActorSystem<?> system;
  private final String persistenceId;
  private final String provider;
  private final Optional<Path> legacyDir;
  private long revision;
  private boolean revisionKnown;
  /** What the store holds (or is being written), as JSON. */
  private String breakers;
  private String spend;
  /** The newest states not yet turned into JSON: that happens once per write, not once per call. */
  private JsonNode newBreakers;
  private SpendLedger.Snapshot newSpend;
  private boolean writing;
  private boolean dirty;
  /** A breaker change waits: write it as soon as the write under way is done. */
  private boolean urgent;
  /** A later write is scheduled (spend alone, within {@link #SPEND_WRITE_INTERVAL}). */
  private boolean scheduled;
  private long lastWriteNanos = System.nanoTime() - SPEND_WRITE_INTERVAL.toNanos();

  /** The store of {@code system}; {@code legacyDir} is where files of an earlier version may be. */
  public PekkoProviderState(ActorSystem<?> system, String provider, Optional<Path> legacyDir) {
    this(system, provider, legacyDir, Optional.empty());
  }

  /**
   * Like {@link #PekkoProviderState(ActorSystem, String, Optional)}, for cluster node {@code node}
   * ({@code host:port}): each node keeps its own record (its own spend, the breakers it knows), so
   * the nodes never write over each other; the cluster's sum lives in Distributed Data.
   */
  @SuppressWarnings("unchecked")
  public PekkoProviderState(ActorSystem<?> system, String provider, Optional<Path> legacyDir, Optional<String> node) {
    this.system = system;
    this.store = DurableStateStoreRegistry.get(system).getDurableStateStoreFor(DurableStateUpdateStore.class, PLUGIN);
    this.persistenceId = "provider-state|" + provider + node.map(n -> "|" + n).orElse("");
    this.provider = provider;
    this.legacyDir = legacyDir;
  }

  /** Whether {@code system} has a durable-state store to keep providers' state in. */
  public static boolean available(ActorSystem<?> system) {
    return system.settings().config().getString("pekko.persistence.state.plugin").equals(PLUGIN);
  }

  @Override
  public CompletionStage<Saved> load() {
    return store.getObject(persistenceId).thenCompose(this::loaded);
  }

  private synchronized CompletionStage<Saved> loaded(GetObjectResult<ProviderState> result) {
    revision = result.revision();
    revisionKnown = true;
    if (result.value().isPresent()) {
      breakers = result.value().get().breakers();
      spend = result.value().get().spend();
      return CompletableFuture.completedFuture(saved());
    }
    return CompletableFuture.completedFuture(migrated());
  }

  /** The files of an earlier version, moved into the store. */
  private Saved migrated() {
    if (legacyDir.isEmpty()) {
      return Saved.NOTHING;
    }
    Path breakersFile = FileProviderState.breakersFile(legacyDir.get(), provider);
    Path spendFile = FileProviderState.spendFile(legacyDir.get(), provider);
    Saved old = new FileProviderState(legacyDir.get(), provider, Runnable::run).load().toCompletableFuture().join();
    if (old.breakers().isEmpty() && old.spend().isEmpty()) {
      return Saved.NOTHING;
    }
    old.breakers().ifPresent(this::saveBreakers);
    old.spend().ifPresent(this::saveSpend);
    for (Path file : new Path[] {breakersFile, spendFile}) {
      try {
        if (Files.exists(file)) {
          Files.move(file, file.resolveSibling(file.getFileName() + ".migrated"), StandardCopyOption.REPLACE_EXISTING);
        }
      } catch (IOException e) {
        LOG.warn("provider {}: moved {} into the store but could not rename it: {}", provider, file, e.getMessage());
      }
    }
    LOG.info("provider {}: moved its breakers and spend from {} into the store", provider, legacyDir.get());
    return old;
  }

  private Saved saved() {
    try {
      return new Saved(
          breakers == null ? Optional.empty() : Optional.of(JSON.readTree(breakers)),
          spend == null ? Optional.empty() : Optional.of(JSON.readValue(spend, SpendLedger.Snapshot.class)));
    } catch (JsonProcessingException e) {
      LOG.error("provider {}: its stored state cannot be read, starting closed: {}", provider, e.getOriginalMessage());
      return Saved.NOTHING;
    }
  }

  @Override
  public synchronized void saveBreakers(JsonNode state) {
    newBreakers = state;
    dirty = true;
    urgent = true;
    pump();
  }

  @Override
  public synchronized void saveSpend(SpendLedger.Snapshot state) {
    newSpend = state;
    dirty = true;
    pump();
  }

  @Override
  public synchronized void flush() {
    if (dirty) {
      urgent = true;
      pump();
    }
  }

  /** Starts the next write when one is due, or schedules it (spend alone waits out the interval). */
  private void pump() {
    if (writing || !dirty) {
      return;
    }
    long wait = urgent ? 0 : lastWriteNanos + SPEND_WRITE_INTERVAL.toNanos() - System.nanoTime();
    if (wait <= 0) {
      write();
    } else if (!scheduled) {
      scheduled = true;
      system.scheduler().scheduleOnce(java.time.Duration.ofNanos(wait), this::scheduledWrite, system.executionContext());
    }
  }

  private synchronized void scheduledWrite() {
    scheduled = false;
    pump();
  }

  private void write() {
    writing = true;
    dirty = false;
    urgent = false;
    lastWriteNanos = System.nanoTime();
    if (newBreakers != null) {
      breakers = newBreakers.toString();
      newBreakers = null;
    }
    if (newSpend != null) {
      try {
        spend = JSON.writeValueAsString(newSpend);
      } catch (JsonProcessingException e) {
        LOG.error("provider {}: cannot write its spend: {}", provider, e.getOriginalMessage());
      }
      newSpend = null;
    }
    ProviderState value = new ProviderState(breakers, spend);
    CompletionStage<Long> base = revisionKnown
        ? CompletableFuture.completedFuture(revision)
        : store.getObject(persistenceId).thenApply(GetObjectResult::revision);
    base.thenCompose(current -> store.upsertObject(persistenceId, current + 1, value, "").thenApply(done -> current + 1))
        .whenComplete(this::written);
  }

  private synchronized void written(Long newRevision, Throwable failure) {
    writing = false;
    if (failure == null) {
      revision = newRevision;
      revisionKnown = true;
    } else {
      revisionKnown = false;
      LOG.warn("provider {}: the store did not take its breakers and spend: {}", provider, failure.toString());
    }
    if (failure == null) {
      pump();
    }
  }
}
