package switchboard.providers;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import scala.concurrent.ExecutionContext;
import scala.jdk.javaapi.FutureConverters;

/**
 * Pekko's Java API hands out Scala futures wrapped as {@code CompletionStage}s, and that wrapper
 * runs every continuation, even {@code thenApply}, on {@code ForkJoinPool.commonPool()}: one more
 * thread hand-off per stage, and on a 2-core machine the common pool has one thread for the whole
 * gateway. {@link #inline} gives the same result as a plain {@link CompletableFuture} whose
 * non-async continuations run on the thread that completes it (docs/benchmark.md). Use it where a
 * stage from {@code Http}, {@code AskPattern} or an entity's {@code toStrict} is continued on the
 * request path.
 */
public final class Stages {

  private static final String SCALA_WRAPPER = "scala.concurrent.impl.FutureConvertersImpl$CF";

  private Stages() {}

  /** The stage's outcome, delivered without a hop to the common pool. */
  public static <T> CompletableFuture<T> inline(CompletionStage<T> stage) {
    if (!stage.getClass().getName().equals(SCALA_WRAPPER)) {
      return stage.toCompletableFuture();
    }
    CompletableFuture<T> plain = new CompletableFuture<>();
    FutureConverters.asScala(stage).onComplete(result -> {
      if (result.isSuccess()) {
        plain.complete(result.get());
      } else {
        plain.completeExceptionally(result.failed().get());
      }
      return null;
    }, ExecutionContext.parasitic$.MODULE$);
    return plain;
  }

  /**
   * {@link ActorContext#ask}, whose Java form pipes a wrapped Scala future to the actor and so
   * passes every reply through the common pool first.
   */
  public static <Req, Res, T> void ask(ActorContext<T> context, RecipientRef<Req> target, Duration timeout,
      org.apache.pekko.japi.function.Function<ActorRef<Res>, Req> request, org.apache.pekko.japi.function.Function2<Res, Throwable, T> toMessage) {
    context.pipeToSelf(inline(AskPattern.ask(target, request, timeout, context.getSystem().scheduler())), toMessage);
  }
}
