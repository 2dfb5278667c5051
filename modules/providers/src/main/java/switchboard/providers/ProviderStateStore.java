package switchboard.providers;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import switchboard.providers.limits.SpendLedger;

/**
 * Where a provider's breakers and spend outlive the process: the gateway's store
 * ({@link PekkoProviderState}, Pekko Persistence's durable state) or, for a provider actor run
 * without a store (tests, the benchmark), files under a data directory ({@link FileProviderState}).
 * {@link #load} runs once, before the provider's first message; the saves never block their caller
 * (the provider actor) and the latest state wins.
 */
public interface ProviderStateStore {

  /** What was saved: the breakers as JSON, the spend ledger; either may be missing. */
  record Saved(Optional<JsonNode> breakers, Optional<SpendLedger.Snapshot> spend) {
    public static final Saved NOTHING = new Saved(Optional.empty(), Optional.empty());
  }

  CompletionStage<Saved> load();

  void saveBreakers(JsonNode breakers);

  void saveSpend(SpendLedger.Snapshot spend);

  /** Writes at once what a save left waiting (the provider actor stops). */
  default void flush() {}

  /** Nothing outlives the process. */
  ProviderStateStore NONE = new ProviderStateStore() {
    @Override
    public CompletionStage<Saved> load() {
      return CompletableFuture.completedFuture(Saved.NOTHING);
    }

    @Override
    public void saveBreakers(JsonNode breakers) {}

    @Override
    public void saveSpend(SpendLedger.Snapshot spend) {}
  };
}
