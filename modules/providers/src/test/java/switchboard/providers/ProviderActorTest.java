package switchboard.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.providers.Fixtures.ask;
import static switchboard.providers.Fixtures.config;
import static switchboard.providers.Fixtures.request;
import static switchboard.providers.Fixtures.retry;
import static switchboard.providers.Fixtures.status;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import switchboard.testkit.faults.Crashable;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import switchboard.providers.config.BreakerConfig;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.config.QuotaReset;
import switchboard.providers.config.RetryConfig;
import switchboard.providers.fake.FakeProviderServer;
import switchboard.providers.fake.FakeProviderServer.RecordedCall;
import switchboard.providers.fake.FakeProviderServer.Step;

/**
 * Real provider actors against the fake provider over real HTTP: each invariant of CONTRACT.md
 * section 3 is checked by counting the calls the fake received.
 */
@Timeout(60)
class ProviderActorTest {
  private static final ActorTestKit KIT = ActorTestKit.create();
  private static final RetryConfig FAST = retry(3, Duration.ofMillis(100));

  private FakeProviderServer fake;

  @BeforeEach
  void startFake() throws Exception {
    fake = FakeProviderServer.start(0);
  }

  @AfterEach
  void stopFake() {
    fake.close();
  }

  @AfterAll
  static void stopKit() {
    KIT.shutdownTestKit();
  }

  private ProviderConfig openai(List<String> keys) {
    return config("primary", ProviderConfig.Kind.OPENAI, fake.openAiBaseUrl(), keys, Duration.ofSeconds(10));
  }

  private ActorRef<ProviderActor.Command> spawn(ProviderConfig config, RetryConfig retry, ProviderEvents events) {
    return KIT.spawn(ProviderActor.create(config, retry, Fixtures.NO_UNAVAILABLE_BREAKER, events, Optional.empty()));
  }

  @Test
  void outOfCreditsCostsOneCallAndTheNextMessageNone() {
    Fixtures.RecordingEvents events = new Fixtures.RecordingEvents();
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-one")), FAST, events);
    fake.enqueue(Step.status(402));

    ProviderResult.Failure first = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("hi")));
    assertEquals(OutcomeKind.OUT_OF_CREDITS, first.kind());
    assertEquals(402, first.status());
    assertEquals(1, first.calls());
    assertTrue(first.message().startsWith("returned 402: insufficient_credits"), first.message());
    assertEquals(1, fake.calls().size());

    ProviderResult.Failure second = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("again")));
    assertEquals(OutcomeKind.OUT_OF_CREDITS, second.kind());
    assertEquals(0, second.calls());
    assertTrue(second.message().contains("open until " + new QuotaReset.Daily().next(Instant.now())), second.message());
    assertEquals(1, fake.calls().size(), "no call while the breaker is open");

    ProviderStatus status = status(KIT, actor);
    assertEquals(BreakerState.OPEN, status.state());
    assertEquals(Optional.of("out_of_credits"), status.reason());
    assertEquals(Optional.of(new QuotaReset.Daily().next(Instant.now())), status.openUntil());
    assertEquals(BreakerState.OPEN, status.keys().get(0).state());
    assertEquals("primary#1", status.keys().get(0).alias());
    assertEquals(1, status.accounting().calls());

    assertEquals(1, events.calls.size());
    assertEquals(402, events.calls.get(0).status());
    assertEquals(1, events.refused.size());
    assertTrue(events.changes.stream().anyMatch(c -> c.keyAlias().isEmpty() && c.to() == BreakerState.OPEN));
    assertTrue(events.changes.stream().anyMatch(c -> c.keyAlias().equals(Optional.of("primary#1"))));
  }

  @Test
  void rateLimitWithRetryAfterOneWaitsAtLeastASecond() {
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-one")), FAST, ProviderEvents.NONE);
    fake.enqueue(Step.rateLimited(1));

    ProviderResult.Success ok = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("hello")));
    assertEquals(2, ok.calls());
    assertEquals("Echo: hello", ok.text());
    List<RecordedCall> calls = fake.calls();
    assertEquals(2, calls.size());
    long gap = Duration.between(calls.get(0).at(), calls.get(1).at()).toMillis();
    assertTrue(gap >= 1000, "second call " + gap + " ms after the first");
  }

  @Test
  void serverErrorsGetExactlyOnePlusMaxRetriesCallsWithGrowingGaps() {
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-one")), FAST, ProviderEvents.NONE);
    fake.setDefault(Step.status(500));

    ProviderResult.Failure failure = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("hi")));
    assertEquals(OutcomeKind.UNAVAILABLE, failure.kind());
    assertEquals(500, failure.status());
    assertEquals(4, failure.calls());
    List<RecordedCall> calls = fake.calls();
    assertEquals(4, calls.size());
    for (int i = 1; i < calls.size(); i++) {
      long gap = Duration.between(calls.get(i - 1).at(), calls.get(i).at()).toMillis();
      long backoff = 100L << (i - 1);
      assertTrue(gap >= backoff, "gap " + i + " was " + gap + " ms, expected at least " + backoff);
    }
  }

  @Test
  void unauthorizedCostsOneCallAndWaitsForAnOperator() {
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-one")), FAST, ProviderEvents.NONE);
    fake.enqueue(Step.status(401));

    ProviderResult.Failure failure = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("hi")));
    assertEquals(OutcomeKind.AUTH_FAILED, failure.kind());
    assertEquals(1, failure.calls());
    ProviderResult.Failure refused = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("hi")));
    assertEquals(OutcomeKind.AUTH_FAILED, refused.kind());
    assertEquals(0, refused.calls());
    assertTrue(refused.message().contains("until an operator resets it"), refused.message());
    assertEquals(1, fake.calls().size());

    ResetResult reset = reset(actor, Optional.empty());
    assertEquals(ResetResult.Outcome.RESET, reset.outcome());
    assertEquals(2, reset.closed(), "the key's breaker and the provider's view");
    assertEquals(BreakerState.CLOSED, reset.status().orElseThrow().state());
    assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("after reset")));
    assertEquals(2, fake.calls().size());
  }

  private static ResetResult reset(ActorRef<ProviderActor.Command> actor, Optional<String> key) {
    TestProbe<ResetResult> probe = KIT.createTestProbe();
    actor.tell(new ProviderActor.Reset(key, "http", probe.ref()));
    return probe.receiveMessage(Duration.ofSeconds(5));
  }

  @Test
  void theFirstOutOfCreditsAnswerCarriesTheSameRetryAfterAsTheRefusalsAfterIt() {
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-one")), FAST, ProviderEvents.NONE);
    fake.enqueue(Step.status(402));
    Instant reopens = new QuotaReset.Daily().next(Instant.now());

    ProviderResult.Failure first = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("hi")));
    ProviderResult.Failure second = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("again")));
    assertEquals(1, first.calls());
    assertEquals(0, second.calls());
    for (ProviderResult.Failure failure : List.of(first, second)) {
      Duration wait = failure.retryAfter().orElseThrow(() -> new AssertionError("no Retry-After: " + failure));
      Duration off = Duration.between(Instant.now().plus(wait), reopens).abs();
      assertTrue(off.compareTo(Duration.ofSeconds(30)) < 0, "Retry-After " + wait + " points at the breaker's reset");
    }
  }

  @Test
  void aKeyResetClosesOnlyThatKeyAndLastsAcrossARestart(@TempDir Path dataDir) {
    ProviderConfig config = openai(List.of("sk-one", "sk-two"));
    Fixtures.RecordingEvents events = new Fixtures.RecordingEvents();
    ActorRef<ProviderActor.Command> first = KIT.spawn(ProviderActor.create(config, FAST,
        Fixtures.NO_UNAVAILABLE_BREAKER, events, Optional.of(dataDir)));
    fake.enqueue(Step.status(402), Step.status(402));
    assertInstanceOf(ProviderResult.Failure.class, ask(KIT, first, request("hi")));
    assertEquals(2, fake.calls().size(), "one call per key");

    assertEquals(ResetResult.UNKNOWN_KEY, reset(first, Optional.of("primary#9")));
    ResetResult reset = reset(first, Optional.of("primary#2"));
    assertEquals(ResetResult.Outcome.RESET, reset.outcome());
    ProviderStatus after = reset.status().orElseThrow();
    assertEquals(BreakerState.OPEN, after.keys().get(0).state(), "the other key stays out of credits");
    assertEquals(BreakerState.CLOSED, after.keys().get(1).state());
    assertTrue(events.changes.stream().anyMatch(c -> c.keyAlias().equals(Optional.of("primary#2"))
        && c.to() == BreakerState.CLOSED && c.resetBy().equals(Optional.of("http"))));
    Path file = dataDir.resolve("breakers").resolve("primary.json");
    KIT.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      JsonNode saved = new ObjectMapper().readTree(file.toFile());
      assertEquals("closed", saved.path("keys").path("primary#2").path("state").asText("closed"));
      assertEquals("out_of_credits", saved.path("keys").path("primary#1").path("reason").asText());
      assertTrue(saved.path("keys").path("primary#2").path("reason").isMissingNode()
          || saved.path("keys").path("primary#2").path("reason").isNull(), saved.toString());
      return null;
    });
    KIT.stop(first);

    ActorRef<ProviderActor.Command> second = KIT.spawn(ProviderActor.create(config, FAST,
        Fixtures.NO_UNAVAILABLE_BREAKER, ProviderEvents.NONE, Optional.of(dataDir)));
    ProviderResult.Success ok = assertInstanceOf(ProviderResult.Success.class, ask(KIT, second, request("topped up")));
    assertEquals("primary#2", ok.keyAlias());
    assertEquals(3, fake.calls().size());
    assertEquals(BreakerState.OPEN, status(KIT, second).keys().get(0).state());
  }

  @Test
  void authErrorsMeanQuotaTreatsA401AsOutOfCredits() {
    ProviderConfig quirky = config("quirky", ProviderConfig.Kind.OPENAI, fake.openAiBaseUrl(), List.of("sk-one"),
        Duration.ofSeconds(10), true, ProviderConfig.Simulation.NONE);
    ActorRef<ProviderActor.Command> actor = spawn(quirky, FAST, ProviderEvents.NONE);
    fake.enqueue(Step.status(401));
    ProviderResult.Failure failure = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("hi")));
    assertEquals(OutcomeKind.OUT_OF_CREDITS, failure.kind());
    assertEquals(1, fake.calls().size());
  }

  @Test
  void quotaAndBudgetTypesInA429AreNeverRetried() {
    ActorRef<ProviderActor.Command> quota = spawn(openai(List.of("sk-one")), FAST, ProviderEvents.NONE);
    fake.enqueue(Step.status(429).withErrorType("insufficient_quota"));
    ProviderResult.Failure noCredits = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, quota, request("a")));
    assertEquals(OutcomeKind.OUT_OF_CREDITS, noCredits.kind());
    assertEquals(1, noCredits.calls());

    ActorRef<ProviderActor.Command> budget = spawn(openai(List.of("sk-two")), FAST, ProviderEvents.NONE);
    fake.enqueue(Step.status(429).withErrorType("budget_exceeded"));
    ProviderResult.Failure capped = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, budget, request("b")));
    assertEquals(OutcomeKind.BUDGET_EXCEEDED, capped.kind());
    assertEquals(1, capped.calls());
    ProviderResult.Failure refused = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, budget, request("c")));
    assertEquals(OutcomeKind.BUDGET_EXCEEDED, refused.kind());
    assertEquals(0, refused.calls());
    assertEquals(2, fake.calls().size());
  }

  @Test
  void aHangIsUnavailableAfterTheTimeout() {
    ProviderConfig slow = config("slow", ProviderConfig.Kind.OPENAI, fake.openAiBaseUrl(), List.of("sk-one"),
        Duration.ofMillis(700));
    ActorRef<ProviderActor.Command> actor = spawn(slow, retry(0, Duration.ofMillis(100)), ProviderEvents.NONE);
    fake.enqueue(Step.hang());

    long start = System.nanoTime();
    ProviderResult.Failure failure = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("hi")));
    long elapsed = (System.nanoTime() - start) / 1_000_000;
    assertEquals(OutcomeKind.UNAVAILABLE, failure.kind());
    assertEquals(0, failure.status());
    assertEquals(1, failure.calls());
    assertTrue(failure.message().contains("timed out"), failure.message());
    assertTrue(elapsed >= 700, "answered after " + elapsed + " ms");
    assertTrue(elapsed < 10_000, "answered after " + elapsed + " ms");
  }

  @Test
  void anHtml502AndANonJson200AreUnavailable() {
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-one")), retry(0, Duration.ofMillis(100)),
        ProviderEvents.NONE);
    fake.enqueue(Step.status(502), Step.garbage());

    ProviderResult.Failure html = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("a")));
    assertEquals(OutcomeKind.UNAVAILABLE, html.kind());
    assertEquals(502, html.status());
    assertTrue(html.message().contains("502 Bad Gateway"), html.message());
    ProviderResult.Failure garbage = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("b")));
    assertEquals(OutcomeKind.UNAVAILABLE, garbage.kind());
    assertEquals(200, garbage.status());
    assertEquals(2, fake.calls().size());
  }

  @Test
  void aClosedConnectionIsUnavailableAndRetried() {
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-one")), retry(1, Duration.ofMillis(100)),
        ProviderEvents.NONE);
    fake.enqueue(Step.close());
    ProviderResult.Success ok = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("hi")));
    assertEquals(2, ok.calls());
    assertEquals(2, fake.calls().size());
  }

  @Test
  void twoKeysWhereTheFirstIsOutOfCreditsTheSecondAnswersAndTheFirstIsLeftAlone() {
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-first-key", "sk-second-key")), FAST,
        ProviderEvents.NONE);
    fake.enqueue(Step.status(402));

    ProviderResult.Success ok = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("hi")));
    assertEquals("primary#2", ok.keyAlias());
    assertEquals(2, ok.calls());
    for (int i = 0; i < 3; i++) {
      ProviderResult.Success next = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("n" + i)));
      assertEquals("primary#2", next.keyAlias());
      assertEquals(1, next.calls());
    }
    List<RecordedCall> calls = fake.calls();
    assertEquals(5, calls.size());
    assertEquals(1, calls.stream().filter(c -> c.apiKey().equals("sk-first-key")).count());
    assertEquals("sk-first-key", calls.get(0).apiKey());

    ProviderStatus status = status(KIT, actor);
    assertEquals(BreakerState.CLOSED, status.state());
    assertEquals(BreakerState.OPEN, status.keys().get(0).state());
    assertEquals(Optional.of("out_of_credits"), status.keys().get(0).reason());
    assertEquals(BreakerState.CLOSED, status.keys().get(1).state());
  }

  @Test
  void aRateLimitedKeyCoolsDownAndTheNextKeyIsTriedAtOnce() {
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-first-key", "sk-second-key")),
        retry(0, Duration.ofMillis(100)), ProviderEvents.NONE);
    fake.enqueue(Step.rateLimited(5));

    ProviderResult.Success ok = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("hi")));
    assertEquals(2, ok.calls(), "rotation does not use the retry budget (max-retries = 0)");
    List<RecordedCall> calls = fake.calls();
    assertEquals("sk-first-key", calls.get(0).apiKey());
    assertEquals("sk-second-key", calls.get(1).apiKey());
    assertTrue(Duration.between(calls.get(0).at(), calls.get(1).at()).toMillis() < 4000, "no wait for the Retry-After");
    ProviderResult.Success next = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("again")));
    assertEquals("primary#2", next.keyAlias(), "the first key is still cooling down");
    assertTrue(status(KIT, actor).keys().get(0).coolingUntil().isPresent());
  }

  @Test
  void aRetryAfterLongerThanMaxRetryAfterGoesBackAtOnce() {
    RetryConfig impatient = new RetryConfig(3, Duration.ofMillis(100), Duration.ofSeconds(1), 0, true, Duration.ofSeconds(2));
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-one")), impatient, ProviderEvents.NONE);
    fake.enqueue(Step.rateLimited(30));
    long start = System.nanoTime();
    ProviderResult.Failure failure = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("hi")));
    assertEquals(OutcomeKind.RATE_LIMITED, failure.kind());
    assertEquals(1, failure.calls());
    assertEquals(Optional.of(Duration.ofSeconds(30)), failure.retryAfter());
    assertTrue((System.nanoTime() - start) / 1_000_000 < 10_000);
    assertEquals(1, fake.calls().size());
  }

  @Test
  void noRetryThatCouldNotStartBeforeTheDeadline() {
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-one")), retry(3, Duration.ofSeconds(2)),
        ProviderEvents.NONE);
    fake.setDefault(Step.status(503));
    ProviderResult.Failure failure = assertInstanceOf(ProviderResult.Failure.class,
        ask(KIT, actor, request("hi"), Duration.ofSeconds(1)));
    assertEquals(OutcomeKind.UNAVAILABLE, failure.kind());
    assertEquals(1, failure.calls());
    assertEquals(1, fake.calls().size());
  }

  @Test
  void badRequestIsNotRetried() {
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-one", "sk-two")), FAST, ProviderEvents.NONE);
    fake.enqueue(Step.status(400));
    ProviderResult.Failure failure = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("hi")));
    assertEquals(OutcomeKind.BAD_REQUEST, failure.kind());
    assertEquals(1, fake.calls().size());
    assertEquals(BreakerState.CLOSED, status(KIT, actor).state());
  }

  @Test
  void repeatedUnavailableOpensTheBreakerThenAHalfOpenProbeClosesIt() {
    BreakerConfig breaker = new BreakerConfig(2, Duration.ofSeconds(2), Duration.ofSeconds(5));
    Fixtures.RecordingEvents events = new Fixtures.RecordingEvents();
    ActorRef<ProviderActor.Command> actor = KIT.spawn(ProviderActor.create(openai(List.of("sk-one")),
        retry(0, Duration.ofMillis(50)), breaker, events, Optional.empty()));
    fake.enqueue(Step.status(500), Step.status(503));

    assertEquals(1, ask(KIT, actor, request("1")).calls());
    assertEquals(1, ask(KIT, actor, request("2")).calls());
    ProviderResult.Failure refused = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("3")));
    assertEquals(OutcomeKind.UNAVAILABLE, refused.kind());
    assertEquals(0, refused.calls());
    assertTrue(refused.message().contains("open until"), refused.message());
    assertEquals(2, fake.calls().size());

    KIT.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(100), () -> {
      assertEquals(BreakerState.HALF_OPEN, status(KIT, actor).state());
      return null;
    });
    ProviderResult.Success probe = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("4")));
    assertEquals(1, probe.calls());
    assertEquals(BreakerState.CLOSED, status(KIT, actor).state());
    assertEquals(3, fake.calls().size());
    assertTrue(events.changes.stream().anyMatch(c -> c.to() == BreakerState.CLOSED && c.keyAlias().isEmpty()));
  }

  @Test
  void aFailedProbeReopensWithALongerCooldown() {
    BreakerConfig breaker = new BreakerConfig(1, Duration.ofMillis(300), Duration.ofSeconds(5));
    ActorRef<ProviderActor.Command> actor = KIT.spawn(ProviderActor.create(openai(List.of("sk-one")),
        retry(3, Duration.ofMillis(50)), breaker, ProviderEvents.NONE, Optional.empty()));
    fake.setDefault(Step.status(500));

    assertEquals(1, ask(KIT, actor, request("opens")).calls(), "the breaker opened: no retries");
    Instant firstUntil = status(KIT, actor).openUntil().orElseThrow();
    KIT.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
      assertEquals(BreakerState.HALF_OPEN, status(KIT, actor).state());
      return null;
    });
    Instant probeAt = Instant.now();
    assertEquals(1, ask(KIT, actor, request("probe")).calls(), "a probe gets one call");
    ProviderStatus reopened = status(KIT, actor);
    assertEquals(BreakerState.OPEN, reopened.state());
    assertTrue(Duration.between(probeAt, reopened.openUntil().orElseThrow()).toMillis() >= 500,
        "second cooldown doubles: " + firstUntil + " then " + reopened.openUntil());
    assertEquals(2, fake.calls().size());
  }

  @Test
  void breakersSurviveACrashAndInFlightMessagesAreAnswered() {
    Behavior<ProviderActor.Command> supervised =
        Behaviors.supervise(Crashable.wrap(ProviderActor.create(openai(List.of("sk-one")), FAST,
            Fixtures.NO_UNAVAILABLE_BREAKER, ProviderEvents.NONE, Optional.empty()))).onFailure(SupervisorStrategy.restart());
    ActorRef<ProviderActor.Command> actor = KIT.spawn(supervised);

    fake.enqueue(Step.hang());
    TestProbe<ProviderResult> inFlight = KIT.createTestProbe(ProviderResult.class);
    actor.tell(new ProviderActor.Complete(request("hangs"), Instant.now().plusSeconds(30), inFlight.getRef()));
    KIT.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      assertEquals(1, fake.calls().size());
      return null;
    });
    Crashable.crash(actor);
    ProviderResult.Failure lost = assertInstanceOf(ProviderResult.Failure.class,
        inFlight.expectMessageClass(ProviderResult.class, Duration.ofSeconds(10)));
    assertEquals(OutcomeKind.UNAVAILABLE, lost.kind());
    assertEquals("internal error in provider primary, the message was not completed", lost.message());

    fake.enqueue(Step.status(402));
    assertEquals(OutcomeKind.OUT_OF_CREDITS, ((ProviderResult.Failure) ask(KIT, actor, request("pay"))).kind());
    Crashable.crash(actor);
    ProviderResult.Failure after = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("again")));
    assertEquals(OutcomeKind.OUT_OF_CREDITS, after.kind());
    assertEquals(0, after.calls());
    assertEquals(2, fake.calls().size());
    inFlight.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void breakersSurviveAProcessRestartThroughTheDataDir(@TempDir Path dataDir) throws Exception {
    ProviderConfig config = openai(List.of("sk-one", "sk-two"));
    ActorRef<ProviderActor.Command> first = KIT.spawn(ProviderActor.create(config, FAST,
        Fixtures.NO_UNAVAILABLE_BREAKER, ProviderEvents.NONE, Optional.of(dataDir)));
    fake.enqueue(Step.status(402), Step.status(401));
    ProviderResult.Failure failure = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, first, request("hi")));
    assertEquals(OutcomeKind.AUTH_FAILED, failure.kind());
    assertEquals(2, failure.calls(), "one call per key");
    Path file = dataDir.resolve("breakers").resolve("primary.json");
    KIT.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      assertTrue(Files.isRegularFile(file));
      JsonNode saved = new ObjectMapper().readTree(file.toFile());
      assertEquals("out_of_credits", saved.path("keys").path("primary#1").path("reason").asText());
      assertEquals("auth_failed", saved.path("keys").path("primary#2").path("reason").asText());
      return null;
    });
    KIT.stop(first);

    ActorRef<ProviderActor.Command> second = KIT.spawn(ProviderActor.create(config, FAST,
        Fixtures.NO_UNAVAILABLE_BREAKER, ProviderEvents.NONE, Optional.of(dataDir)));
    ProviderStatus restored = status(KIT, second);
    assertEquals(BreakerState.OPEN, restored.keys().get(0).state(), "out_of_credits waits for the quota reset");
    assertEquals(BreakerState.CLOSED, restored.keys().get(1).state(), "a restart is the operator's act for auth");
    ProviderResult.Success ok = assertInstanceOf(ProviderResult.Success.class, ask(KIT, second, request("hi")));
    assertEquals("primary#2", ok.keyAlias());
    assertEquals(3, fake.calls().size());
    assertEquals("sk-two", fake.calls().get(2).apiKey());
    KIT.stop(second);

    ProviderConfig replaced = openai(List.of("sk-new", "sk-two"));
    ActorRef<ProviderActor.Command> third = KIT.spawn(ProviderActor.create(replaced, FAST,
        Fixtures.NO_UNAVAILABLE_BREAKER, ProviderEvents.NONE, Optional.of(dataDir)));
    assertEquals(BreakerState.CLOSED, status(KIT, third).keys().get(0).state(), "a replaced key starts closed");
  }

  @Test
  void aLateAnswerAfterATimeoutIsIgnored() {
    ProviderConfig slow = config("slow", ProviderConfig.Kind.OPENAI, fake.openAiBaseUrl(), List.of("sk-one"),
        Duration.ofMillis(500));
    ActorRef<ProviderActor.Command> actor = spawn(slow, retry(1, Duration.ofMillis(1500)), ProviderEvents.NONE);
    fake.enqueue(Step.ok("too late").withDelay(Duration.ofMillis(900)));
    ProviderResult.Success ok = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("hi")));
    assertEquals(2, ok.calls());
    assertEquals("Echo: hi", ok.text());
    assertEquals(2, fake.calls().size());
  }

  @Test
  void openAiWireFormatRoundTrip() throws Exception {
    ActorRef<ProviderActor.Command> actor = spawn(openai(List.of("sk-wire")), FAST, ProviderEvents.NONE);
    ChatRequest chat = new ChatRequest(List.of(ChatMessage.system("be brief"), ChatMessage.user("hello")),
        Optional.empty(), Optional.of(0.5), "test:1");
    ProviderResult.Success ok = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, chat));
    assertEquals("Echo: hello", ok.text());
    assertTrue(ok.usage().inputTokens() > 0 && ok.usage().outputTokens() > 0);
    RecordedCall call = fake.calls().get(0);
    assertEquals("/v1/chat/completions", call.path());
    assertEquals("Bearer sk-wire", call.auth());
    JsonNode body = new ObjectMapper().readTree(call.body());
    assertEquals("gpt-4o-mini", body.path("model").asText());
    assertEquals("system", body.path("messages").path(0).path("role").asText());
    assertEquals(0.5, body.path("temperature").asDouble());
    assertFalse(body.has("max_tokens"));
    ProviderStatus status = status(KIT, actor);
    assertEquals(ok.usage().inputTokens(), status.accounting().inputTokens());
    assertEquals(1, status.keys().get(0).accounting().calls());
  }

  @Test
  void anthropicWireFormatRoundTrip() throws Exception {
    ProviderConfig anthropic = config("claude", ProviderConfig.Kind.ANTHROPIC, fake.anthropicBaseUrl(),
        List.of("ant-key"), Duration.ofSeconds(10));
    ActorRef<ProviderActor.Command> actor = spawn(anthropic, FAST, ProviderEvents.NONE);
    ChatRequest chat = ChatRequest.of("test:1", List.of(ChatMessage.system("be brief"), ChatMessage.user("first"),
        ChatMessage.assistant("ok"), ChatMessage.user("hello claude")));
    ProviderResult.Success ok = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, chat));
    assertEquals("Echo: hello claude", ok.text());
    assertEquals("claude#1", ok.keyAlias());
    assertTrue(ok.usage().inputTokens() > 0 && ok.usage().outputTokens() > 0);
    RecordedCall call = fake.calls().get(0);
    assertEquals("/v1/messages", call.path());
    assertEquals("ant-key", call.headers().get("x-api-key"));
    assertEquals("2023-06-01", call.headers().get("anthropic-version"));
    assertFalse(call.headers().containsKey("authorization"));
    JsonNode body = new ObjectMapper().readTree(call.body());
    assertEquals("be brief", body.path("system").asText());
    assertEquals(1024, body.path("max_tokens").asInt());
    assertEquals(3, body.path("messages").size());
    assertEquals("user", body.path("messages").path(0).path("role").asText());

    fake.enqueue(Step.status(402));
    ProviderResult.Failure billing = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, request("more")));
    assertEquals(OutcomeKind.OUT_OF_CREDITS, billing.kind());
    assertTrue(billing.message().contains("credit balance is too low"), billing.message());
  }
}
