package switchboard.providers.limits;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.YearMonth;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import switchboard.providers.ProviderStatus.Accounting;
import switchboard.providers.Usage;
import switchboard.providers.config.ProviderConfig.Budget;
import switchboard.providers.config.ProviderConfig.Price;

/**
 * Calls, tokens and spend of one provider, per key alias, in total and for the current UTC day and
 * month; and whether a spending cap of {@code budget} is reached. {@link #snapshot()} and
 * {@link #restore} carry it across a restart (kept under the data dir). Not thread-safe: owned by
 * one provider actor.
 */
public final class SpendLedger {

  /** One key's counters, as stored. */
  public record KeyEntry(
      long calls,
      long inputTokens,
      long outputTokens,
      double spendTotal,
      String day,
      double spendDay,
      String month,
      double spendMonth) {

    static KeyEntry empty(Instant now) {
      return new KeyEntry(0, 0, 0, 0, dayOf(now), 0, monthOf(now), 0);
    }

    /** The same counters with day and month windows rolled forward to {@code now}. */
    KeyEntry at(Instant now) {
      String today = dayOf(now);
      String thisMonth = monthOf(now);
      if (today.equals(day) && thisMonth.equals(month)) {
        return this;
      }
      return new KeyEntry(
          calls, inputTokens, outputTokens, spendTotal,
          today, today.equals(day) ? spendDay : 0,
          thisMonth, thisMonth.equals(month) ? spendMonth : 0);
    }

    KeyEntry plus(Usage usage, double cost, Instant now) {
      KeyEntry e = at(now);
      return new KeyEntry(
          e.calls + 1, e.inputTokens + usage.inputTokens(), e.outputTokens + usage.outputTokens(),
          e.spendTotal + cost, e.day, e.spendDay + cost, e.month, e.spendMonth + cost);
    }

    Accounting accounting() {
      return new Accounting(calls, inputTokens, outputTokens, spendTotal, spendDay, spendMonth);
    }
  }

  /** The stored form: entries by key alias. */
  public record Snapshot(Map<String, KeyEntry> keys) implements switchboard.providers.CborSerializable {}

  /** A cap that is reached: which ("daily" or "monthly"), the cap, what was spent, when it resets. */
  public record CapReached(String window, double cap, double spent, Instant resetsAt) {
    public String describe() {
      return String.format(
          java.util.Locale.ROOT, "%s budget of %.4f reached (spent %.4f), resets %s", window, cap, spent, resetsAt);
    }
  }

  private final Map<String, KeyEntry> keys = new LinkedHashMap<>();
  /** What the other nodes of a cluster spent with this provider, by node (empty for a single gateway). */
  private Map<String, Snapshot> others = Map.of();

  public SpendLedger(List<String> keyAliases, Instant now) {
    for (String alias : keyAliases) {
      keys.put(alias, KeyEntry.empty(now));
    }
  }

  /** Takes the counters of {@code snapshot} for the keys this ledger knows. */
  public void restore(Snapshot snapshot, Instant now) {
    if (snapshot == null || snapshot.keys() == null) {
      return;
    }
    snapshot.keys().forEach((alias, entry) -> {
      if (keys.containsKey(alias) && entry != null && entry.day() != null && entry.month() != null) {
        keys.put(alias, entry.at(now));
      }
    });
  }

  /** This node's own counters (what it saves, and shares with the other nodes of a cluster). */
  public Snapshot snapshot() {
    return new Snapshot(Map.copyOf(keys));
  }

  /**
   * What the other nodes of the cluster have spent, by node, replacing what they said before: from
   * now on {@link #key}, {@link #total} and {@link #capReached} count it too.
   */
  public void others(Map<String, Snapshot> byNode) {
    this.others = Map.copyOf(byNode);
  }

  /** One key's counters summed over this node and the others. */
  private KeyEntry summed(String keyAlias, KeyEntry own, Instant now) {
    KeyEntry sum = own.at(now);
    for (Snapshot other : others.values()) {
      KeyEntry e = other.keys() == null ? null : other.keys().get(keyAlias);
      if (e != null && e.day() != null && e.month() != null) {
        KeyEntry o = e.at(now);
        sum = new KeyEntry(sum.calls + o.calls, sum.inputTokens + o.inputTokens, sum.outputTokens + o.outputTokens,
            sum.spendTotal + o.spendTotal, sum.day, sum.spendDay + o.spendDay, sum.month, sum.spendMonth + o.spendMonth);
      }
    }
    return sum;
  }

  /** The cost of {@code usage} at {@code price}, per million tokens. */
  public static double cost(Usage usage, Price price) {
    return (usage.inputTokens() * price.inputPerMillion() + usage.outputTokens() * price.outputPerMillion())
        / 1_000_000.0;
  }

  /** Counts one call of {@code keyAlias} (also a failed one, with its usage if any); returns its cost. */
  public double record(String keyAlias, Usage usage, Price price, Instant now) {
    double cost = cost(usage, price);
    keys.compute(keyAlias, (k, e) -> (e == null ? KeyEntry.empty(now) : e).plus(usage, cost, now));
    return cost;
  }

  public Accounting key(String keyAlias, Instant now) {
    KeyEntry e = keys.get(keyAlias);
    return e == null ? Accounting.ZERO : summed(keyAlias, e, now).accounting();
  }

  /** The provider's totals: the sum over its keys (and, in a cluster, over the nodes). */
  public Accounting total(Instant now) {
    long calls = 0;
    long in = 0;
    long out = 0;
    double total = 0;
    double day = 0;
    double month = 0;
    for (Map.Entry<String, KeyEntry> raw : keys.entrySet()) {
      KeyEntry e = summed(raw.getKey(), raw.getValue(), now);
      calls += e.calls;
      in += e.inputTokens;
      out += e.outputTokens;
      total += e.spendTotal;
      day += e.spendDay;
      month += e.spendMonth;
    }
    return new Accounting(calls, in, out, total, day, month);
  }

  /** The first cap of {@code budget} that the provider's spend has reached, if any. */
  public Optional<CapReached> capReached(Budget budget, Instant now) {
    Accounting total = total(now);
    if (budget.daily() > 0 && total.spendToday() >= budget.daily()) {
      Instant reset = LocalDate.ofInstant(now, ZoneOffset.UTC).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
      return Optional.of(new CapReached("daily", budget.daily(), total.spendToday(), reset));
    }
    if (budget.monthly() > 0 && total.spendMonth() >= budget.monthly()) {
      Instant reset = YearMonth.from(now.atZone(ZoneOffset.UTC)).plusMonths(1).atDay(1)
          .atStartOfDay(ZoneOffset.UTC).toInstant();
      return Optional.of(new CapReached("monthly", budget.monthly(), total.spendMonth(), reset));
    }
    return Optional.empty();
  }

  private static String dayOf(Instant now) {
    return window(now).day();
  }

  private static String monthOf(Instant now) {
    return window(now).month();
  }

  /** The UTC day {@code now} falls in and its month: every call asks, so the last one is kept. */
  private record Window(long fromSecond, long toSecond, String day, String month) {}

  private static volatile Window window = new Window(0, 0, "", "");

  private static Window window(Instant now) {
    Window w = window;
    long second = now.getEpochSecond();
    if (second >= w.fromSecond() && second < w.toSecond()) {
      return w;
    }
    LocalDate date = LocalDate.ofInstant(now, ZoneOffset.UTC);
    long from = date.toEpochDay() * 86_400L;
    w = new Window(from, from + 86_400L, date.toString(), YearMonth.from(date).toString());
    window = w;
    return w;
  }
}
