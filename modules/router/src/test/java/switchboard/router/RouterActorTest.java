package switchboard.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.router.StubProvider.failure;
import static switchboard.router.StubProvider.refusal;
import static switchboard.router.StubProvider.success;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import switchboard.providers.BreakerState;
import switchboard.providers.ChatMessage;
import switchboard.providers.ChatRequest;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderResult;
import switchboard.providers.ProviderStatus;

class RouterActorTest {
  static final ActorTestKit kit = ActorTestKit.create();
  static final Duration WAIT = Duration.ofSeconds(10);
  static final String EXACT_402 =
      "Provider primary returned 402: insufficient credits. Please top up your balance and try again.";

  @AfterAll
  static void shutdown() {
    kit.shutdownTestKit();
  }

  record Fallback(String from, String to, OutcomeKind kind) {}

  static final class RecordingEvents implements RouterEvents {
    final List<Fallback> fallbacks = new CopyOnWriteArrayList<>();
    final List<RouteResult> routed = new CopyOnWriteArrayList<>();

    @Override
    public void fallback(String from, String to, OutcomeKind kind) {
      fallbacks.add(new Fallback(from, to, kind));
    }

    @Override
    public void routed(RouteResult result, Duration elapsed) {
      routed.add(result);
    }
  }

  private static RouteResult route(ActorRef<RouterActor.Command> router) {
    TestProbe<RouteResult> probe = kit.createTestProbe();
    router.tell(new RouterActor.Route(ChatRequest.of("test:1", List.of(ChatMessage.user("hi"))), probe.getRef()));
    return probe.expectMessageClass(RouteResult.class, WAIT);
  }

  @Test
  void outOfCreditsFallsBackToTheBackupAtOnce() {
    StubProvider primary = StubProvider.spawn(kit, "primary", call -> failure("primary", OutcomeKind.OUT_OF_CREDITS, 402, "insufficient credits"));
    StubProvider backup = StubProvider.spawn(kit, "backup", call -> success("backup", "hello from backup"));
    RecordingEvents events = new RecordingEvents();
    ActorRef<RouterActor.Command> router =
        kit.spawn(RouterActor.create(List.of(primary.handle(1), backup.handle(2)), RouterSettings.DEFAULT, events));

    long start = System.nanoTime();
    RouteResult.Answered answered = assertInstanceOf(RouteResult.Answered.class, route(router));

    assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(5)) < 0, "no waiting between providers");
    assertEquals("hello from backup", answered.text());
    assertEquals("backup", answered.provider());
    assertEquals(1, answered.fellBackFrom().size());
    assertEquals(OutcomeKind.OUT_OF_CREDITS, answered.fellBackFrom().get(0).kind());
    assertEquals(1, primary.calls.get());
    assertEquals(1, backup.calls.get());
    assertEquals(List.of(new Fallback("primary", "backup", OutcomeKind.OUT_OF_CREDITS)), events.fallbacks);
    assertEquals(List.of(answered), events.routed);
  }

  @Test
  void authFailedIsNotFallenBack() {
    StubProvider primary = StubProvider.spawn(kit, "primary", call -> failure("primary", OutcomeKind.AUTH_FAILED, 401, "invalid x-api-key"));
    StubProvider backup = StubProvider.spawn(kit, "backup", call -> success("backup", "hello"));
    ActorRef<RouterActor.Command> router =
        kit.spawn(RouterActor.create(List.of(primary.handle(1), backup.handle(2)), RouterSettings.DEFAULT));

    RouteResult.Failed failed = assertInstanceOf(RouteResult.Failed.class, route(router));

    assertEquals(OutcomeKind.AUTH_FAILED, failed.kind());
    assertEquals("primary", failed.provider());
    assertEquals(
        "Provider primary refused the gateway's API key (HTTP 401). An operator must fix the key for provider primary in the gateway configuration.",
        failed.message());
    assertEquals(1, primary.calls.get());
    assertEquals(0, backup.calls.get());
  }

  @Test
  void aProviderWhoseBreakerIsOpenForAuthFailedIsSkippedForLaterMessages() {
    StubProvider primary = StubProvider.spawn(kit, "primary", call -> call == 1
        ? failure("primary", OutcomeKind.AUTH_FAILED, 401, "invalid x-api-key")
        : refusal("primary", OutcomeKind.AUTH_FAILED));
    StubProvider backup = StubProvider.spawn(kit, "backup", call -> success("backup", "hello"));
    ActorRef<RouterActor.Command> router =
        kit.spawn(RouterActor.create(List.of(primary.handle(1), backup.handle(2)), RouterSettings.DEFAULT));

    assertEquals(OutcomeKind.AUTH_FAILED, assertInstanceOf(RouteResult.Failed.class, route(router)).kind());
    assertEquals(0, backup.calls.get());
    assertEquals("backup", assertInstanceOf(RouteResult.Answered.class, route(router)).provider());
    assertEquals(1, backup.calls.get());
  }

  @Test
  void authFailedIsFallenBackWhenConfigured() {
    StubProvider primary = StubProvider.spawn(kit, "primary", call -> failure("primary", OutcomeKind.AUTH_FAILED, 401, "bad key"));
    StubProvider backup = StubProvider.spawn(kit, "backup", call -> success("backup", "hello"));
    RouterSettings settings = new RouterSettings(Duration.ofSeconds(30), java.util.Set.of(OutcomeKind.AUTH_FAILED));
    ActorRef<RouterActor.Command> router = kit.spawn(RouterActor.create(List.of(primary.handle(1), backup.handle(2)), settings));

    assertEquals("backup", assertInstanceOf(RouteResult.Answered.class, route(router)).provider());
  }

  @Test
  void badRequestQuotesTheProvidersDetail() {
    StubProvider primary = StubProvider.spawn(kit, "primary", call -> failure("primary", OutcomeKind.BAD_REQUEST, 400, "max_tokens: must be <= 4096"));
    StubProvider backup = StubProvider.spawn(kit, "backup", call -> success("backup", "hello"));
    ActorRef<RouterActor.Command> router =
        kit.spawn(RouterActor.create(List.of(primary.handle(1), backup.handle(2)), RouterSettings.DEFAULT));

    RouteResult.Failed failed = assertInstanceOf(RouteResult.Failed.class, route(router));

    assertEquals(OutcomeKind.BAD_REQUEST, failed.kind());
    assertEquals("Provider primary rejected the request (HTTP 400): max_tokens: must be <= 4096", failed.message());
    assertEquals(0, backup.calls.get());
  }

  @Test
  void fallbackOnlyProviderIsNotUsedFirstButIsAFallback() {
    StubProvider reserve = StubProvider.spawn(kit, "reserve", call -> success("reserve", "from reserve"));
    StubProvider main = StubProvider.spawn(kit, "main", call -> call == 1 ? success("main", "from main")
        : failure("main", OutcomeKind.UNAVAILABLE, 503, "overloaded"));
    ActorRef<RouterActor.Command> router =
        kit.spawn(RouterActor.create(List.of(reserve.fallbackOnlyHandle(1), main.handle(2)), RouterSettings.DEFAULT));

    assertEquals("main", assertInstanceOf(RouteResult.Answered.class, route(router)).provider());
    assertEquals(0, reserve.calls.get());

    assertEquals("reserve", assertInstanceOf(RouteResult.Answered.class, route(router)).provider());
    assertEquals(1, reserve.calls.get());
  }

  @Test
  void onlyFallbackOnlyProvidersAreStillUsed() {
    StubProvider reserve = StubProvider.spawn(kit, "reserve", call -> success("reserve", "from reserve"));
    ActorRef<RouterActor.Command> router =
        kit.spawn(RouterActor.create(List.of(reserve.fallbackOnlyHandle(1)), RouterSettings.DEFAULT));

    assertEquals("reserve", assertInstanceOf(RouteResult.Answered.class, route(router)).provider());
  }

  @Test
  void providersAreTriedInPriorityOrderWhateverTheListOrder() {
    List<String> callLog = new CopyOnWriteArrayList<>();
    StubProvider third = StubProvider.spawn(kit, "third", call -> success("third", "finally"), Duration.ZERO, true, callLog);
    StubProvider first = StubProvider.spawn(kit, "first", call -> failure("first", OutcomeKind.RATE_LIMITED, 429, "slow down"), Duration.ZERO, true, callLog);
    StubProvider second = StubProvider.spawn(kit, "second", call -> failure("second", OutcomeKind.UNAVAILABLE, 503, "down"), Duration.ZERO, true, callLog);
    ActorRef<RouterActor.Command> router = kit.spawn(
        RouterActor.create(List.of(third.handle(3), first.handle(1), second.handle(2)), RouterSettings.DEFAULT));

    RouteResult.Answered answered = assertInstanceOf(RouteResult.Answered.class, route(router));

    assertEquals("third", answered.provider());
    assertEquals(List.of("first", "second", "third"), callLog);
    assertEquals(List.of("first", "second"), answered.fellBackFrom().stream().map(ProviderResult.Failure::provider).toList());
  }

  @Test
  void outOfCreditsWithNowhereToFallBackGivesTheExactText() {
    StubProvider primary = StubProvider.spawn(kit, "primary", call -> failure("primary", OutcomeKind.OUT_OF_CREDITS, 402, "insufficient credits"));
    ActorRef<RouterActor.Command> router = kit.spawn(RouterActor.create(List.of(primary.handle(1)), RouterSettings.DEFAULT));

    RouteResult.Failed failed = assertInstanceOf(RouteResult.Failed.class, route(router));

    assertEquals(OutcomeKind.OUT_OF_CREDITS, failed.kind());
    assertEquals("primary", failed.provider());
    assertEquals(EXACT_402, failed.message());
    assertEquals(1, primary.calls.get());
  }

  @Test
  void aBackupsOpenBreakerDoesNotHideThePrimarysRealFailure() {
    StubProvider primary = StubProvider.spawn(kit, "primary", call -> failure("primary", OutcomeKind.OUT_OF_CREDITS, 402, "insufficient credits"));
    StubProvider backup = StubProvider.spawn(kit, "backup", call -> refusal("backup", OutcomeKind.UNAVAILABLE));
    ActorRef<RouterActor.Command> router =
        kit.spawn(RouterActor.create(List.of(primary.handle(1), backup.handle(2)), RouterSettings.DEFAULT));

    RouteResult.Failed failed = assertInstanceOf(RouteResult.Failed.class, route(router));

    assertEquals(OutcomeKind.OUT_OF_CREDITS, failed.kind());
    assertEquals(EXACT_402, failed.message());
    assertEquals(2, failed.attempts().size());
  }

  @Test
  void whenEveryBreakerIsOpenThePrimarysReasonIsNamed() {
    StubProvider primary = StubProvider.spawn(kit, "primary", call -> refusal("primary", OutcomeKind.OUT_OF_CREDITS));
    StubProvider backup = StubProvider.spawn(kit, "backup", call -> refusal("backup", OutcomeKind.UNAVAILABLE));
    ActorRef<RouterActor.Command> router =
        kit.spawn(RouterActor.create(List.of(primary.handle(1), backup.handle(2)), RouterSettings.DEFAULT));

    RouteResult.Failed failed = assertInstanceOf(RouteResult.Failed.class, route(router));

    assertEquals(OutcomeKind.OUT_OF_CREDITS, failed.kind());
    assertEquals("primary", failed.provider());
    assertEquals(1, backup.calls.get(), "the backup was still asked");
  }

  @Test
  void theLastRealFailureIsNamedWhenEveryProviderWasCalled() {
    StubProvider primary = StubProvider.spawn(kit, "primary", call -> failure("primary", OutcomeKind.OUT_OF_CREDITS, 402, "insufficient credits"));
    StubProvider backup = StubProvider.spawn(kit, "backup", call -> new ProviderResult.Failure(
        "backup", OutcomeKind.RATE_LIMITED, 429, "rate limit", Optional.of(Duration.ofMillis(29_500)), 4));
    ActorRef<RouterActor.Command> router =
        kit.spawn(RouterActor.create(List.of(primary.handle(1), backup.handle(2)), RouterSettings.DEFAULT));

    RouteResult.Failed failed = assertInstanceOf(RouteResult.Failed.class, route(router));

    assertEquals(OutcomeKind.RATE_LIMITED, failed.kind());
    assertEquals("backup", failed.provider());
    assertEquals(Optional.of(Duration.ofMillis(29_500)), failed.retryAfter());
    assertEquals("Provider backup is rate limiting requests (HTTP 429). Please try again in 30s.", failed.message());
  }

  @Test
  void requestTimeoutAnswersUnavailableOnceAndIgnoresLateAnswers() {
    StubProvider slow = StubProvider.spawn(kit, "slow", call -> success("slow", "too late"), Duration.ofMillis(1500), true, new CopyOnWriteArrayList<>());
    StubProvider silent = StubProvider.spawn(kit, "silent", call -> null);
    RouterSettings settings = new RouterSettings(Duration.ofMillis(500), RouterSettings.DEFAULT.fallbackOn());
    ActorRef<RouterActor.Command> router = kit.spawn(RouterActor.create(List.of(slow.handle(1), silent.handle(2)), settings));
    TestProbe<RouteResult> probe = kit.createTestProbe();

    long start = System.nanoTime();
    router.tell(new RouterActor.Route(ChatRequest.of("test:1", List.of(ChatMessage.user("hi"))), probe.getRef()));
    RouteResult.Failed failed = assertInstanceOf(RouteResult.Failed.class, probe.expectMessageClass(RouteResult.class, WAIT));
    Duration elapsed = Duration.ofNanos(System.nanoTime() - start);

    assertTrue(elapsed.compareTo(Duration.ofMillis(500)) >= 0, "answered after the deadline, not before: " + elapsed);
    assertEquals(OutcomeKind.UNAVAILABLE, failed.kind());
    assertEquals("slow", failed.provider());
    assertTrue(failed.message().contains("no provider answered within 500ms"), failed.message());
    probe.expectNoMessage(Duration.ofMillis(2000));
    assertEquals(0, silent.calls.get());
  }

  @Test
  void noProvidersIsAnAnswerToo() {
    ActorRef<RouterActor.Command> router = kit.spawn(RouterActor.create(List.of(), RouterSettings.DEFAULT));

    RouteResult.Failed failed = assertInstanceOf(RouteResult.Failed.class, route(router));
    assertEquals(OutcomeKind.UNAVAILABLE, failed.kind());
  }

  @Test
  void statusListsEveryProviderInPriorityOrderAndShowsSilentOnesOpen() {
    StubProvider a = StubProvider.spawn(kit, "a", call -> null);
    StubProvider silent = StubProvider.spawn(kit, "mute", call -> null, Duration.ZERO, false, new CopyOnWriteArrayList<>());
    StubProvider c = StubProvider.spawn(kit, "c", call -> null);
    ActorRef<RouterActor.Command> router = kit.spawn(
        RouterActor.create(List.of(c.handle(3), a.handle(1), silent.fallbackOnlyHandle(2)), RouterSettings.DEFAULT));
    TestProbe<List<ProviderStatus>> probe = kit.createTestProbe();

    router.tell(new RouterActor.GetStatus(probe.getRef()));
    @SuppressWarnings("unchecked")
    List<ProviderStatus> statuses = probe.expectMessageClass(List.class, WAIT);

    assertEquals(List.of("a", "mute", "c"), statuses.stream().map(ProviderStatus::name).toList());
    assertEquals(BreakerState.CLOSED, statuses.get(0).state());
    ProviderStatus mute = statuses.get(1);
    assertEquals(BreakerState.OPEN, mute.state());
    assertEquals(Optional.of("not responding"), mute.reason());
    assertEquals(2, mute.priority());
    assertTrue(mute.fallbackOnly());
  }
}
