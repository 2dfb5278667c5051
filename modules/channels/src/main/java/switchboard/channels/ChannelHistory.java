package switchboard.channels;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import switchboard.providers.observe.MinuteRing;

/**
 * The last hour of each channel, minute by minute, for the status page's charts: requests answered,
 * by outcome ({@code ok} or the error type, as {@code switchboard_requests_total} counts them), and
 * busy replies. {@link ChannelMetrics} feeds it. In memory only (60 one-minute buckets per channel),
 * lost on restart. Thread-safe; every method may be called from any thread and never waits on I/O.
 */
public final class ChannelHistory {
  /** One history per meter registry, so it outlives a channel's restart as the registry's counters do. */
  private static final Map<MeterRegistry, ChannelHistory> BY_REGISTRY = Collections.synchronizedMap(new WeakHashMap<>());

  private final Clock clock;
  private final Map<String, MinuteRing<Minute>> channels = new ConcurrentHashMap<>();

  public ChannelHistory(Clock clock) {
    this.clock = clock;
  }

  /** The history kept alongside {@code registry}'s meters, made on first use. */
  public static ChannelHistory of(MeterRegistry registry) {
    return BY_REGISTRY.computeIfAbsent(registry, r -> new ChannelHistory(Clock.systemUTC()));
  }

  /**
   * One minute of one channel: {@code messages} answered (all outcomes, busy replies included),
   * {@code busy} of them answered with the busy reply, and the answers by {@code outcomes}.
   */
  public record Bucket(Instant start, long messages, long busy, Map<String, Long> outcomes) {}

  /** A request of {@code channel} answered with {@code outcome}. */
  public void request(String channel, String outcome) {
    ring(channel).update(null, m -> m.outcomes.merge(outcome, 1L, Long::sum));
  }

  /** A message of {@code channel} answered at once with the busy reply. */
  public void busy(String channel) {
    ring(channel).update(null, m -> m.busy++);
  }

  /** Every channel heard from since start, by name, with the minutes of the last hour that have data, oldest first. */
  public Map<String, List<Bucket>> lastHour() {
    Map<String, List<Bucket>> out = new TreeMap<>();
    channels.forEach((name, ring) -> out.put(name, ring.read((start, minute) -> minute.snapshot(start))));
    return out;
  }

  private MinuteRing<Minute> ring(String channel) {
    return channels.computeIfAbsent(channel, c -> new MinuteRing<>(MinuteRing.HOUR, clock, Minute::new));
  }

  /** A minute being counted; only touched under its ring's lock. */
  private static final class Minute {
    final Map<String, Long> outcomes = new TreeMap<>();
    long busy;

    Bucket snapshot(Instant start) {
      long messages = outcomes.values().stream().mapToLong(Long::longValue).sum();
      return new Bucket(start, messages, busy, Collections.unmodifiableMap(new TreeMap<>(outcomes)));
    }
  }
}
