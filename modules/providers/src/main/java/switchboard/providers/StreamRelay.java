package switchboard.providers;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.scaladsl.unmarshalling.sse.EventStreamParser$;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import switchboard.providers.wire.ProviderKind;
import switchboard.providers.wire.StreamDelta;
import switchboard.providers.wire.StreamParser;

/**
 * A provider's event stream as {@link StreamDelta}s, and the wait for its first piece of answer.
 * The bytes go through Pekko HTTP's own SSE parser, then the kind's {@link StreamParser}; every way a
 * stream can go wrong becomes one final {@link StreamDelta.Failed}: an error event, a dropped
 * connection, silence for {@code stream-idle-timeout}, or an end without the format's end marker
 * (a cut stream is never passed on as a clean end). Nothing is buffered beyond the pieces that
 * come before the first one with content (Anthropic's {@code message_start}, a usage report).
 */
final class StreamRelay {
  /** Longest SSE line and event accepted from a provider. */
  static final int MAX_LINE = 1 << 20;
  static final int MAX_EVENT = 4 << 20;

  private StreamRelay() {}

  /** How a streamed call began. */
  sealed interface Opening {}

  /**
   * The first piece with content has come: {@code head} holds it and what came before it, {@code tail}
   * the rest (to be run once); {@code firstNanos} is when it came ({@link System#nanoTime()}).
   */
  record Opened(List<StreamDelta> head, Source<StreamDelta, NotUsed> tail, Map<String, String> headers, long firstNanos)
      implements Opening {}

  /** The stream failed before any content: a failure like any other, to be retried or fallen back on. */
  record FailedEarly(StreamDelta.Failed failure, Usage usage, Map<String, String> headers) implements Opening {}

  /** Whether a response is an event stream (a provider that ignored {@code stream} answers JSON). */
  static boolean isEventStream(HttpResponse response) {
    return response.entity().getContentType().mediaType().toString().startsWith("text/event-stream");
  }

  /** The pieces of {@code response}'s stream, ending with exactly one End or Failed. */
  static Source<StreamDelta, NotUsed> deltas(
      HttpResponse response, ProviderKind kind, Duration idleTimeout, SharedKillSwitch killSwitch) {
    StreamParser parser = kind.streamParser();
    Flow<ByteString, ServerSentEvent, NotUsed> sse = EventStreamParser$.MODULE$.apply(MAX_LINE, MAX_EVENT).asJava();
    return response.entity().withoutSizeLimit().getDataBytes()
        .via(killSwitch.flow())
        .via(sse)
        .idleTimeout(idleTimeout)
        .<StreamDelta>mapConcat(event -> parser.onEvent(event.getEventType().orElse(""), event.getData()))
        .recover(new PFBuilder<Throwable, StreamDelta>().matchAny(failure -> failed(failure, idleTimeout)).build())
        .statefulMap(() -> new boolean[1], (ended, delta) -> {
          ended[0] |= delta.terminal();
          return Pair.create(ended, Optional.of(delta));
        }, ended -> ended[0] ? Optional.<Optional<StreamDelta>>empty()
            : Optional.of(Optional.<StreamDelta>of(new StreamDelta.Failed(OutcomeKind.UNAVAILABLE,
                "stream ended before the answer was complete (no end event)"))))
        .mapConcat(d -> d.map(List::of).orElse(List.of()))
        .takeWhile(delta -> !delta.terminal(), true)
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  private static StreamDelta failed(Throwable failure, Duration idleTimeout) {
    Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
    if (cause instanceof TimeoutException) {
      return new StreamDelta.Failed(OutcomeKind.UNAVAILABLE,
          "stream stalled: no data for " + ErrorClassifier.human(idleTimeout) + " (stream-idle-timeout)");
    }
    String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    return new StreamDelta.Failed(OutcomeKind.UNAVAILABLE,
        "stream broke off: " + (message.length() > 160 ? message.substring(0, 157) + "..." : message));
  }

  /**
   * Waits for the first piece with content (or the failure that comes instead). The pieces before
   * it (a role-only chunk, Anthropic's {@code message_start}) come with it as one element, so one
   * stream is run for the wait, not one per piece before the content: each run is one more stream
   * actor, and every later piece would cross each of them (docs/benchmark.md).
   */
  static CompletionStage<Opening> open(Source<StreamDelta, NotUsed> deltas, Map<String, String> headers, Materializer mat) {
    Source<List<StreamDelta>, NotUsed> grouped = deltas.statefulMapConcat(() -> new HeadFirst()::group);
    return Stages.inline(grouped.prefixAndTail(1).runWith(Sink.head(), mat)).thenApply(pair -> {
      Source<List<StreamDelta>, NotUsed> rest = pair.second();
      List<StreamDelta> head = pair.first().isEmpty() ? List.of() : pair.first().get(0);
      StreamDelta last = head.isEmpty() ? null : head.get(head.size() - 1);
      if (last != null && last.content()) {
        return new Opened(List.copyOf(head), rest.mapConcat(pieces -> pieces), headers, System.nanoTime());
      }
      rest.runWith(Sink.cancelled(), mat);
      StreamDelta.Failed failure = last instanceof StreamDelta.Failed failed ? failed
          : new StreamDelta.Failed(OutcomeKind.UNAVAILABLE, "stream ended with no answer");
      return new FailedEarly(failure, usage(head), headers);
    });
  }

  /** One stream's pieces as lists: those up to the first with content (or the end) as one, then one each. */
  private static final class HeadFirst {
    /** The pieces so far before the first with content; null once that one has come. */
    private List<StreamDelta> head = new ArrayList<>();

    List<List<StreamDelta>> group(StreamDelta delta) {
      if (head == null) {
        return List.of(List.of(delta));
      }
      head.add(delta);
      if (!delta.content() && !delta.terminal()) {
        return List.of();
      }
      List<StreamDelta> out = head;
      head = null;
      return List.of(out);
    }
  }

  /** The usage the pieces report, the latest known value of each count. */
  static Usage usage(List<StreamDelta> deltas) {
    Usage out = Usage.NONE;
    for (StreamDelta d : deltas) {
      out = merge(out, d);
    }
    return out;
  }

  /** {@code so far} with what {@code delta} reports, if it is a usage report. */
  static Usage merge(Usage soFar, StreamDelta delta) {
    return delta instanceof StreamDelta.UsageReport report ? soFar.updatedBy(report.usage()) : soFar;
  }
}
