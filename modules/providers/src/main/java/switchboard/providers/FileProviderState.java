package switchboard.providers;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import switchboard.providers.limits.JsonFileStore;
import switchboard.providers.limits.SpendLedger;

/**
 * A provider's state in two JSON files, {@code <dir>/breakers/<provider>.json} and
 * {@code <dir>/spend/<provider>.json}, written on {@code writer} (a blocking dispatcher). For a
 * provider actor run without the gateway's store; {@link PekkoProviderState} also reads these files
 * once to move them into the store.
 */
public final class FileProviderState implements ProviderStateStore {
  private final JsonFileStore<JsonNode> breakers;
  private final JsonFileStore<SpendLedger.Snapshot> spend;

  public FileProviderState(Path dir, String provider, Executor writer) {
    this.breakers = new JsonFileStore<>(breakersFile(dir, provider), JsonNode.class, writer);
    this.spend = new JsonFileStore<>(spendFile(dir, provider), SpendLedger.Snapshot.class, writer);
  }

  static Path breakersFile(Path dir, String provider) {
    return dir.resolve("breakers").resolve(provider + ".json");
  }

  static Path spendFile(Path dir, String provider) {
    return dir.resolve("spend").resolve(provider + ".json");
  }

  @Override
  public CompletionStage<Saved> load() {
    return CompletableFuture.completedFuture(new Saved(breakers.load(), spend.load()));
  }

  @Override
  public void saveBreakers(JsonNode state) {
    breakers.save(state);
  }

  @Override
  public void saveSpend(SpendLedger.Snapshot state) {
    spend.save(state);
  }
}
