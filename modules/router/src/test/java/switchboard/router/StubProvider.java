package switchboard.router;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import switchboard.providers.BreakerState;
import switchboard.providers.ChatRequest;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderActor;
import switchboard.providers.ProviderResult;
import switchboard.providers.ProviderStatus;
import switchboard.providers.Usage;

/** A stand-in provider actor answering canned results, counting calls, optionally late or never. */
final class StubProvider {
  final String name;
  final AtomicInteger calls = new AtomicInteger();
  final List<ChatRequest> requests = new CopyOnWriteArrayList<>();
  private final IntFunction<ProviderResult> answer;
  private final Duration delay;
  private final boolean answersStatus;
  private final List<String> callLog;
  ActorRef<ProviderActor.Command> ref;

  private StubProvider(
      String name, IntFunction<ProviderResult> answer, Duration delay, boolean answersStatus, List<String> callLog) {
    this.name = name;
    this.answer = answer;
    this.delay = delay;
    this.answersStatus = answersStatus;
    this.callLog = callLog;
  }

  /** Answers {@code answer.apply(callNumber)} (1-based); a null answer means never answering. */
  static StubProvider spawn(ActorTestKit kit, String name, IntFunction<ProviderResult> answer) {
    return spawn(kit, name, answer, Duration.ZERO, true, new CopyOnWriteArrayList<>());
  }

  static StubProvider spawn(
      ActorTestKit kit,
      String name,
      IntFunction<ProviderResult> answer,
      Duration delay,
      boolean answersStatus,
      List<String> callLog) {
    StubProvider stub = new StubProvider(name, answer, delay, answersStatus, callLog);
    stub.ref = kit.spawn(stub.behavior());
    return stub;
  }

  ProviderHandle handle(int priority) {
    return new ProviderHandle(name, priority, false, ref);
  }

  ProviderHandle fallbackOnlyHandle(int priority) {
    return new ProviderHandle(name, priority, true, ref);
  }

  private Behavior<ProviderActor.Command> behavior() {
    return Behaviors.setup(
        context ->
            Behaviors.receive(ProviderActor.Command.class)
                .onMessage(
                    ProviderActor.Complete.class,
                    complete -> {
                      int call = calls.incrementAndGet();
                      requests.add(complete.request());
                      callLog.add(name);
                      ProviderResult result = answer.apply(call);
                      if (result != null && delay.isZero()) {
                        complete.replyTo().tell(result);
                      } else if (result != null) {
                        context.scheduleOnce(delay, complete.replyTo(), result);
                      }
                      return Behaviors.same();
                    })
                .onMessage(
                    ProviderActor.GetStatus.class,
                    get -> {
                      if (answersStatus) {
                        get.replyTo().tell(status(name));
                      }
                      return Behaviors.same();
                    })
                .build());
  }

  static ProviderResult.Success success(String provider, String text) {
    return new ProviderResult.Success(provider, provider + "#1", "model-x", text, new Usage(3, 5), 1);
  }

  static ProviderResult.Failure failure(String provider, OutcomeKind kind, int status, String message) {
    return new ProviderResult.Failure(provider, kind, status, message, Optional.empty(), 1);
  }

  /** An open breaker's answer: no call made. */
  static ProviderResult.Failure refusal(String provider, OutcomeKind kind) {
    return new ProviderResult.Failure(provider, kind, 0, "breaker open (" + kind.wire() + ")", Optional.empty(), 0);
  }

  static ProviderStatus status(String name) {
    return new ProviderStatus(
        name,
        "simulated",
        "model-x",
        0,
        false,
        BreakerState.CLOSED,
        Optional.empty(),
        Optional.empty(),
        List.of(),
        ProviderStatus.Accounting.ZERO,
        ProviderStatus.Throttle.NONE);
  }
}
