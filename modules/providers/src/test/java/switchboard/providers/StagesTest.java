package switchboard.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import scala.concurrent.Promise;
import scala.jdk.javaapi.FutureConverters;

class StagesTest {

  /** A stage as Pekko's Java API hands it out, completed later from a thread of the test's own. */
  private static CompletionStage<String> pekkoStage(Promise<String> promise) {
    return FutureConverters.asJava(promise.future());
  }

  private static String completedOn(CompletionStage<String> stage, Promise<String> promise, Runnable complete)
      throws Exception {
    CompletableFuture<String> where = stage.thenApply(v -> Thread.currentThread().getName()).toCompletableFuture();
    Thread completer = new Thread(complete, "completer");
    completer.start();
    completer.join();
    return where.get(5, TimeUnit.SECONDS);
  }

  @Test
  void theWrappersContinuationHopsToAnotherThreadButAnInlinedOneRunsWhereTheValueCame() throws Exception {
    Promise<String> wrapped = Promise.apply();
    assertNotEquals("completer", completedOn(pekkoStage(wrapped), wrapped, () -> wrapped.success("a")),
        "Scala's wrapper runs thenApply on the common pool: that hop is what Stages.inline removes");

    Promise<String> inlined = Promise.apply();
    assertEquals("completer", completedOn(Stages.inline(pekkoStage(inlined)), inlined, () -> inlined.success("b")));
  }

  @Test
  void aFailureComesThroughAsItWas() {
    Promise<String> promise = Promise.apply();
    IllegalStateException boom = new IllegalStateException("boom");
    CompletableFuture<String> inlined = Stages.inline(pekkoStage(promise));
    promise.failure(boom);
    ExecutionException failed = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, inlined::get);
    assertSame(boom, failed.getCause());
  }

  @Test
  void aPlainFutureIsGivenBackAsItIs() {
    CompletableFuture<String> plain = new CompletableFuture<>();
    assertSame(plain, Stages.inline(plain));
  }
}
