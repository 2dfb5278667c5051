package switchboard.channels.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/**
 * The channel's meters, as Prometheus names them: {@code switchboard_requests_total{channel,outcome}},
 * {@code switchboard_busy_replies_total{channel}}, {@code switchboard_pending_messages{channel}} and
 * {@code switchboard_request_seconds{channel}}. The gauge reads the current channel instance's
 * {@link PendingGate}, so a restarted channel replaces it.
 */
final class ChannelMetrics {
  static final String PENDING = "switchboard.pending.messages";

  private final MeterRegistry registry;
  private final String channel;
  private final Counter busyReplies;
  private final Timer latency;
  private final Meter pendingGauge;

  ChannelMetrics(MeterRegistry registry, String channel, PendingGate gate, Duration requestTimeout) {
    this.registry = registry;
    this.channel = channel;
    Gauge previous = registry.find(PENDING).tag("channel", channel).gauge();
    if (previous != null) {
      registry.remove(previous);
    }
    this.pendingGauge =
        Gauge.builder(PENDING, gate, PendingGate::pending)
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

  /** One answered message: {@code outcome} is {@code ok} or the error type. */
  void request(String outcome, long startNanos) {
    count(outcome);
    latency.record(Duration.ofNanos(System.nanoTime() - startNanos));
  }

  /** A request refused before it became a message (e.g. {@code unauthorized}): counted, not timed. */
  void count(String outcome) {
    Counter.builder("switchboard.requests")
        .description("Requests answered by the channel, by outcome (ok or the error type)")
        .tag("channel", channel)
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  void busy() {
    busyReplies.increment();
  }

  /** Removes the pending gauge of a channel that stopped for good. */
  void close() {
    registry.remove(pendingGauge);
  }
}
