package switchboard.providers.observe;

import java.time.Clock;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderEvents;

/**
 * The last hour of each provider, minute by minute, for the status page's charts: calls by outcome,
 * messages refused without a call (breaker open, throttle full), latency p50/p99 and spend. Kept in
 * memory only (60 one-minute buckets per provider, a few hundred bytes each) and lost on restart.
 * Latency goes into a fixed log-scale histogram per minute, never a list of calls, so a busy minute
 * costs no more than a quiet one; its percentiles are within about 10% of the true value.
 * Thread-safe and cheap: provider actors feed it from their own threads.
 */
public final class ProviderHistory implements ProviderEvents {

  private final Clock clock;
  private final Map<String, MinuteRing<Minute>> providers = new ConcurrentHashMap<>();

  public ProviderHistory() {
    this(Clock.systemUTC());
  }

  /** A history whose minutes are read off {@code clock} (tests). */
  public ProviderHistory(Clock clock) {
    this.clock = clock;
  }

  /** One minute of one provider. {@code p50Ms}/{@code p99Ms} are empty when no call ended in it. */
  public record Bucket(
      Instant start, Map<String, Long> calls, long refused, OptionalDouble p50Ms, OptionalDouble p99Ms, double spend) {}

  @Override
  public void call(CallRecord r) {
    String outcome = r.outcome() == null ? "unknown" : r.outcome().wire();
    ring(r.provider()).update(r.time(), m -> {
      m.calls.merge(outcome, 1L, Long::sum);
      if (r.latency() != null) {
        m.latency.record(r.latency().toNanos() / 1e6);
      }
      m.spend += Math.max(0, r.cost());
    });
  }

  @Override
  public void refused(String provider, OutcomeKind kind, String reason) {
    ring(provider).update(null, m -> m.refused++);
  }

  /** The clock's present instant, the end of the window {@link #lastHour()} reads. */
  public Instant now() {
    return clock.instant();
  }

  /**
   * Every provider heard from since start, by name, with the minutes of the last hour that have data,
   * oldest first (none when it has been quiet for an hour).
   */
  public Map<String, List<Bucket>> lastHour() {
    Map<String, List<Bucket>> out = new TreeMap<>();
    providers.forEach((name, ring) -> out.put(name, ring.read((start, minute) -> minute.snapshot(start))));
    return out;
  }

  private MinuteRing<Minute> ring(String provider) {
    return providers.computeIfAbsent(provider, p -> new MinuteRing<>(MinuteRing.HOUR, clock, Minute::new));
  }

  /** A minute being counted; only touched under its ring's lock. */
  private static final class Minute {
    final Map<String, Long> calls = new TreeMap<>();
    final LatencyHistogram latency = new LatencyHistogram();
    long refused;
    double spend;

    Bucket snapshot(Instant start) {
      return new Bucket(start, Collections.unmodifiableMap(new TreeMap<>(calls)), refused, latency.percentile(0.50), latency.percentile(0.99), spend);
    }
  }

  /**
   * Latencies in milliseconds counted in log-scale buckets, {@value #PER_DOUBLING} per doubling, from
   * 1 ms to about 4 minutes (longer ones share the last bucket). A percentile is the geometric middle
   * of the bucket it falls in.
   */
  static final class LatencyHistogram {
    static final int PER_DOUBLING = 4;
    static final int SIZE = 72;
    private final int[] counts = new int[SIZE];
    private int total;

    void record(double millis) {
      int index = millis <= 1 ? 0 : (int) Math.ceil(PER_DOUBLING * Math.log(millis) / Math.log(2));
      counts[Math.min(SIZE - 1, index)]++;
      total++;
    }

    /** The {@code q}-quantile (nearest rank), or empty without data. */
    OptionalDouble percentile(double q) {
      long rank = Math.max(1, (long) Math.ceil(q * total));
      long seen = 0;
      for (int i = 0; i < SIZE && total > 0; i++) {
        seen += counts[i];
        if (seen >= rank) {
          double middle = Math.pow(2, (i - 0.5) / PER_DOUBLING);
          return OptionalDouble.of(Math.round(middle * 10) / 10.0);
        }
      }
      return OptionalDouble.empty();
    }
  }
}
