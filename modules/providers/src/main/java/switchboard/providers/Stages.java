package switchboard.providers;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
}
