package switchboard.channels;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.function.IntSupplier;
import switchboard.providers.observe.MeterCache;

/**
 * One channel's meters, the same for every channel so a dashboard compares them by the {@code channel}
 * tag. Prometheus names them {@code switchboard_requests_total{channel,outcome}},
 * {@code switchboard_busy_replies_total{channel}}, {@code switchboard_pending_messages{channel}} and
 * {@code switchboard_request_seconds{channel}}.
 *
 * <p>The pending gauge reads the {@link IntSupplier} of the channel instance that created this object,
 * so a restarted channel replaces its predecessor's gauge. The supplier is read on the scraping thread:
 * it must be thread-safe (an actor mirrors its count in an {@code AtomicInteger}). Every method may be
 * called from any thread. Requests and busy replies also go to the channel's last-hour
 * {@link ChannelHistory}, by default the one kept alongside {@code registry}.
 */
public final class ChannelMetrics {
  private static final String PENDING = "switchboard.pending.messages";

  private final MeterRegistry registry;
  private final MeterCache meters;
  private final String channel;
  private final Counter busyReplies;
  private final Timer latency;
  private final Meter pendingGauge;
  private final ChannelHistory history;

  /**
   * Registers the meters of channel {@code channel}; {@code pending} is its current count of messages
   * received and not yet answered, {@code requestTimeout} bounds the latency histogram.
   */
  public ChannelMetrics(MeterRegistry registry, String channel, IntSupplier pending, Duration requestTimeout) {
    this(registry, channel, pending, requestTimeout, ChannelHistory.of(registry));
  }

  /** Like the constructor above, feeding {@code history} instead of the registry's. */
  public ChannelMetrics(
      MeterRegistry registry, String channel, IntSupplier pending, Duration requestTimeout, ChannelHistory history) {
    this.registry = registry;
    this.meters = new MeterCache(registry);
    this.channel = channel;
    this.history = history;
    Gauge previous = registry.find(PENDING).tag("channel", channel).gauge();
    if (previous != null) {
      registry.remove(previous);
    }
    this.pendingGauge =
        Gauge.builder(PENDING, pending, IntSupplier::getAsInt)
            .description("Messages accepted by the channel and not yet answered")
            .tag("channel", channel)
            .strongReference(true)
            .register(registry);
    this.busyReplies =
        Counter.builder("switchboard.busy.replies")
            .description("Messages answered with busy because the pending limit was reached")
            .tag("channel", channel)
            .register(registry);
    this.latency =
        Timer.builder("switchboard.request")
            .description("Time from a message's arrival to its answer")
            .tag("channel", channel)
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(5))
            .maximumExpectedValue(requestTimeout.plusSeconds(5))
            .register(registry);
  }

  /** One answered message that arrived at {@code startNanos} ({@link System#nanoTime()}): counted and timed. */
  public void request(String outcome, long startNanos) {
    count(outcome);
    latency.record(Duration.ofNanos(System.nanoTime() - startNanos));
  }

  /**
   * A request answered with {@code outcome} ({@code ok} or the error type) that is not timed, e.g. one
   * refused before it became a message ({@code unauthorized}).
   */
  public void count(String outcome) {
    meters.counter("switchboard.requests", "Requests answered by the channel, by outcome (ok or the error type)",
        "channel", channel, "outcome", outcome).increment();
    history.request(channel, outcome);
  }

  /** One message answered at once with the busy reply. */
  public void busy() {
    busyReplies.increment();
    history.busy(channel);
  }

  /** The last-hour history this channel feeds. */
  public ChannelHistory history() {
    return history;
  }

  /** Removes the pending gauge of a channel that stopped for good. */
  public void close() {
    registry.remove(pendingGauge);
  }
}
