package switchboard.providers.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import switchboard.providers.Usage;
import switchboard.providers.config.ProviderConfig.Budget;
import switchboard.providers.config.ProviderConfig.Price;

class SpendLedgerTest {
  private static final Instant T0 = Instant.parse("2026-11-21T23:59:00Z");
  private static final Price PRICE = new Price(3.0, 15.0);

  @Test
  void costsAreCountedPerKeyAndSummedForTheProvider() {
    SpendLedger ledger = new SpendLedger(List.of("p#1", "p#2"), T0);
    double cost = ledger.record("p#1", new Usage(1_000_000, 100_000), PRICE, T0);
    assertEquals(4.5, cost, 1e-9);
    ledger.record("p#2", new Usage(0, 1_000_000), PRICE, T0);
    assertEquals(4.5, ledger.key("p#1", T0).spendTotal(), 1e-9);
    assertEquals(19.5, ledger.total(T0).spendToday(), 1e-9);
    assertEquals(2, ledger.total(T0).calls());
    assertEquals(1_000_000, ledger.total(T0).inputTokens());
    assertEquals(1_100_000, ledger.total(T0).outputTokens());
  }

  @Test
  void dailyCapIsReachedAndResetsAtMidnightUtc() {
    SpendLedger ledger = new SpendLedger(List.of("p#1"), T0);
    Budget budget = new Budget(1.0, 100.0);
    ledger.record("p#1", new Usage(400_000, 0), PRICE, T0);
    assertTrue(ledger.capReached(budget, T0).isPresent());
    SpendLedger.CapReached cap = ledger.capReached(budget, T0).get();
    assertEquals("daily", cap.window());
    assertEquals(Instant.parse("2026-11-22T00:00:00Z"), cap.resetsAt());
    Instant tomorrow = Instant.parse("2026-11-22T00:00:01Z");
    assertTrue(ledger.capReached(budget, tomorrow).isEmpty());
    assertEquals(1.2, ledger.total(tomorrow).spendMonth(), 1e-9);
  }

  @Test
  void monthlyCapResetsOnTheFirst() {
    SpendLedger ledger = new SpendLedger(List.of("p#1"), T0);
    ledger.record("p#1", new Usage(0, 100_000), PRICE, T0);
    SpendLedger.CapReached cap = ledger.capReached(new Budget(0, 1.0), T0).orElseThrow();
    assertEquals("monthly", cap.window());
    assertEquals(Instant.parse("2026-12-01T00:00:00Z"), cap.resetsAt());
  }

  @Test
  void spendSurvivesARestartThroughTheStore(@TempDir Path dir) {
    JsonFileStore<SpendLedger.Snapshot> store =
        new JsonFileStore<>(dir.resolve("spend/p.json"), SpendLedger.Snapshot.class, Runnable::run);
    SpendLedger before = new SpendLedger(List.of("p#1"), T0);
    before.record("p#1", new Usage(1000, 2000), PRICE, T0);
    store.save(before.snapshot());

    SpendLedger after = new SpendLedger(List.of("p#1"), T0);
    after.restore(store.load().orElseThrow(), T0);
    assertEquals(before.total(T0), after.total(T0));
  }

  @Test
  void anUnreadableStoreIsIgnored(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("p.json");
    java.nio.file.Files.writeString(file, "{not json");
    assertTrue(new JsonFileStore<>(file, SpendLedger.Snapshot.class, Runnable::run).load().isEmpty());
  }
}
