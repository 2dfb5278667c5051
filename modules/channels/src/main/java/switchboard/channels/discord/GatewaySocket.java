package switchboard.channels.discord;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One WebSocket connection to the Discord Gateway, on Pekko HTTP's client: every text frame that
 * arrives (reassembled when it came in pieces) is handed to {@code onText}, and {@code onClosed} is
 * called exactly once when the connection ends for any reason (the upgrade refused, the server closed
 * it, the network dropped, {@link #abort}). Frames to send are queued without waiting.
 */
final class GatewaySocket {
  /** A frame of the Gateway is at most 4096 bytes out and a few MB in; this bounds the wait for one. */
  private static final Duration FRAME_TIMEOUT = Duration.ofSeconds(10);

  private final BoundedSourceQueue<Message> out;
  private final UniqueKillSwitch kill;

  private GatewaySocket(BoundedSourceQueue<Message> out, UniqueKillSwitch kill) {
    this.out = out;
    this.kill = kill;
  }

  /** Connects to {@code url}; {@code onClosed} gets why it ended, in words. */
  static GatewaySocket open(ActorSystem<?> system, String url, Consumer<String> onText, Consumer<String> onClosed) {
    Materializer materializer = Materializer.matFromSystem(system);
    Sink<Message, Pair<UniqueKillSwitch, java.util.concurrent.CompletionStage<Done>>> incoming =
        Flow.<Message>create()
            .viaMat(KillSwitches.single(), Keep.right())
            .mapAsync(1, message -> strictText(message, materializer))
            .toMat(Sink.foreach(text -> {
              if (!text.isEmpty()) {
                onText.accept(text);
              }
            }), Keep.both());
    Source<Message, BoundedSourceQueue<Message>> outgoing = Source.queue(64);
    Pair<java.util.concurrent.CompletionStage<org.apache.pekko.http.javadsl.model.ws.WebSocketUpgradeResponse>,
        Pair<Pair<UniqueKillSwitch, java.util.concurrent.CompletionStage<Done>>, BoundedSourceQueue<Message>>> started =
        Http.get(system).singleWebSocketRequest(
            WebSocketRequest.create(url), Flow.fromSinkAndSourceCoupledMat(incoming, outgoing, Keep.both()),
            materializer);
    UniqueKillSwitch kill = started.second().first().first();
    BoundedSourceQueue<Message> out = started.second().second();
    CompletableFuture<String> ended = new CompletableFuture<>();
    started.first().whenComplete((upgrade, failure) -> {
      if (failure != null) {
        ended.complete("could not connect: " + describe(failure));
      } else if (upgrade.response().status().intValue() != 101) {
        ended.complete("the Gateway refused the WebSocket upgrade: HTTP " + upgrade.response().status().intValue());
        kill.abort(new IllegalStateException("upgrade refused"));
      }
    });
    started.second().first().second().whenComplete((done, failure) ->
        ended.complete(failure == null ? "the Gateway closed the connection" : "connection lost: " + describe(failure)));
    ended.thenAccept(onClosed);
    return new GatewaySocket(out, kill);
  }

  /** Queues one text frame; false when the connection is gone or its buffer is full. */
  boolean send(String text) {
    return out.offer(TextMessage.create(text)) == org.apache.pekko.stream.QueueOfferResult.enqueued();
  }

  /**
   * Drops the connection without a normal close (Discord then keeps the session for a RESUME, which a
   * close with 1000 or 1001 would end).
   */
  void abort(String why) {
    RuntimeException reason = new Aborted(why);
    out.fail(reason);
    kill.abort(reason);
  }

  /** Why this side dropped the connection; without a stack trace, as it is no bug. */
  private static final class Aborted extends RuntimeException {
    Aborted(String why) {
      super(why, null, false, false);
    }
  }

  private static java.util.concurrent.CompletionStage<String> strictText(Message message, Materializer materializer) {
    if (message.isText()) {
      TextMessage text = message.asTextMessage();
      return text.isStrict()
          ? CompletableFuture.completedFuture(text.getStrictText())
          : text.toStrict(FRAME_TIMEOUT.toMillis(), materializer).thenApply(TextMessage::getStrictText);
    }
    return message.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), materializer).thenApply(done -> "");
  }

  private static String describe(Throwable failure) {
    Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
    return cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
  }
}
