package switchboard.providers;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;
import switchboard.providers.wire.StreamDelta;
import switchboard.providers.wire.ToolCall;

/** The one answer a provider actor gives to a {@code ProviderActor.Complete}. */
public sealed interface ProviderResult {

  /** Name of the provider (config {@code name}) that produced this result. */
  String provider();

  /** HTTP calls made to this provider for this message (0 when a breaker or throttle answered). */
  int calls();

  /**
   * A completion.
   *
   * @param keyAlias the alias of the key that answered ({@code primary#1}), never the key
   */
  record Success(
      String provider, String keyAlias, String model, String text, Usage usage, int calls,
      List<ToolCall> toolCalls, String finishReason)
      implements ProviderResult {
    public Success {
      toolCalls = List.copyOf(toolCalls);
    }

    /** A text answer that ended normally. */
    public Success(String provider, String keyAlias, String model, String text, Usage usage, int calls) {
      this(provider, keyAlias, model, text, usage, calls, List.of(), "stop");
    }
  }

  /**
   * A streamed answer whose first piece has arrived: from here on nothing is retried or fallen back
   * on. {@code deltas} is the answer, first piece included, ending with one {@link StreamDelta.End}
   * or {@link StreamDelta.Failed}; it can be run once, and cancelling it cancels the provider call.
   * Local to the node that made the call (it is never sent to another node).
   */
  record Streaming(String provider, String keyAlias, String model, Source<StreamDelta, NotUsed> deltas, int calls)
      implements ProviderResult {}

  /**
   * A failure, after whatever retries the error model allows.
   *
   * @param kind       never {@link OutcomeKind#OK}
   * @param status     the last HTTP status, or 0 when there was none (breaker, timeout, connection error)
   * @param message    a human-readable reason, safe to show a user (no keys)
   * @param retryAfter what the provider asked to wait, when it said
   */
  record Failure(
      String provider, OutcomeKind kind, int status, String message, Optional<Duration> retryAfter, int calls)
      implements ProviderResult {}
}
