package switchboard.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.providers.Fixtures.ask;
import static switchboard.providers.Fixtures.request;
import static switchboard.providers.Fixtures.retry;
import static switchboard.providers.Fixtures.status;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.config.ProviderConfig.Budget;
import switchboard.providers.config.ProviderConfig.KeyStrategy;
import switchboard.providers.config.ProviderConfig.Price;
import switchboard.providers.config.QuotaReset;
import switchboard.providers.config.RetryConfig;
import switchboard.providers.fake.FakeProviderServer;
import switchboard.providers.fake.FakeProviderServer.RecordedCall;
import switchboard.providers.fake.FakeProviderServer.Step;

/**
 * Issue 5 against the fake provider over real HTTP: the self-throttle spaces calls and answers
 * overflow with rate_limited and no call, header limits hold calls back, a spending cap opens the
 * breaker (also after a restart), the pool strategies pick the keys they promise.
 */
@Timeout(60)
class LimitsTest {
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

  /** An OpenAI-format provider on the fake with the given limits. */
  private ProviderConfig limited(
      List<String> keys, int rpm, long tpm, int queue, Price price, Budget budget, KeyStrategy strategy) {
    return new ProviderConfig("primary", ProviderConfig.Kind.OPENAI, fake.openAiBaseUrl(), "gpt-4o-mini", 1, keys,
        Duration.ofSeconds(10), rpm, tpm, new QuotaReset.Daily(), false, false, price, budget, 1024, strategy, queue,
        ProviderConfig.DEFAULT_MAX_CONNECTIONS, ProviderConfig.Simulation.NONE,
        ProviderConfig.DEFAULT_STREAM_IDLE_TIMEOUT);
  }

  private ProviderConfig throttled(int rpm, long tpm, int queue) {
    return limited(List.of("sk-one"), rpm, tpm, queue, Price.UNKNOWN, Budget.NONE, KeyStrategy.ROUND_ROBIN);
  }

  private static ActorRef<ProviderActor.Command> spawn(
      ActorTestKit kit, ProviderConfig config, ProviderEvents events, Optional<Path> dataDir) {
    return kit.spawn(ProviderActor.create(config, FAST, Fixtures.NO_UNAVAILABLE_BREAKER, events, dataDir));
  }

  private static TestProbe<ProviderResult> send(ActorRef<ProviderActor.Command> actor, String text, Duration deadline) {
    TestProbe<ProviderResult> probe = KIT.createTestProbe(ProviderResult.class);
    actor.tell(new ProviderActor.Complete(request(text), Instant.now().plus(deadline), probe.getRef()));
    return probe;
  }

  @Test
  void sixtyRpmSpacesTenConcurrentRequestsASecondApartAndNoneFails() {
    ActorRef<ProviderActor.Command> actor = spawn(KIT, throttled(60, 0, 100), ProviderEvents.NONE, Optional.empty());
    List<TestProbe<ProviderResult>> probes = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      probes.add(send(actor, "m" + i, Duration.ofSeconds(60)));
    }
    ProviderStatus.Throttle room = status(KIT, actor).throttle();
    assertEquals(9, room.queued(), "one call went out, nine wait locally");
    assertEquals(59, room.requestsLeft());

    for (TestProbe<ProviderResult> probe : probes) {
      ProviderResult.Success ok = assertInstanceOf(ProviderResult.Success.class,
          probe.expectMessageClass(ProviderResult.class, Duration.ofSeconds(30)));
      assertEquals(1, ok.calls());
    }
    List<RecordedCall> calls = fake.calls();
    assertEquals(10, calls.size());
    for (int i = 1; i < calls.size(); i++) {
      long gap = Duration.between(calls.get(i - 1).at(), calls.get(i).at()).toMillis();
      assertTrue(gap >= 900, "call " + i + " came " + gap + " ms after the one before");
    }
    for (int i = 0; i < 10; i++) {
      assertTrue(calls.get(i).body().contains("\"m" + i + "\""), "first in, first out");
    }
    assertEquals(0, status(KIT, actor).throttle().queued());
  }

  @Test
  void overflowIsRateLimitedAtOnceWithNoCallAndTheQueuedOneIsAnsweredOnStop() {
    Fixtures.RecordingEvents events = new Fixtures.RecordingEvents();
    ActorRef<ProviderActor.Command> actor = spawn(KIT, throttled(1, 0, 1), events, Optional.empty());
    assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("first"), Duration.ofSeconds(120)));
    TestProbe<ProviderResult> queued = send(actor, "queued", Duration.ofSeconds(120));

    long start = System.nanoTime();
    ProviderResult.Failure overflow = assertInstanceOf(ProviderResult.Failure.class,
        ask(KIT, actor, request("overflow"), Duration.ofSeconds(120)));
    assertTrue((System.nanoTime() - start) / 1_000_000 < 5_000, "answered at once");
    assertEquals(OutcomeKind.RATE_LIMITED, overflow.kind());
    assertEquals(0, overflow.calls());
    assertEquals(0, overflow.status());
    assertTrue(overflow.message().startsWith("self-throttled: rate-limit-rpm = 1"), overflow.message());
    assertTrue(overflow.message().contains("queue is full"), overflow.message());
    assertTrue(overflow.retryAfter().isPresent());

    ProviderResult.Failure late = assertInstanceOf(ProviderResult.Failure.class,
        ask(KIT, actor, request("short deadline"), Duration.ofSeconds(5)));
    assertEquals(OutcomeKind.RATE_LIMITED, late.kind());
    assertEquals(0, late.calls());
    assertTrue(late.message().contains("deadline"), late.message());

    assertEquals(1, status(KIT, actor).throttle().queued());
    assertEquals(1, fake.calls().size(), "no call for the overflow");
    assertTrue(events.refused.stream().anyMatch(r -> r.startsWith("rate_limited: self-throttled")), events.refused.toString());

    KIT.stop(actor);
    ProviderResult.Failure answered = assertInstanceOf(ProviderResult.Failure.class,
        queued.expectMessageClass(ProviderResult.class, Duration.ofSeconds(10)));
    assertEquals(0, answered.calls());
    assertEquals(1, fake.calls().size());
  }

  @Test
  void withoutAQueueEveryRequestBeyondTheRateGoesBackAtOnce() {
    ActorRef<ProviderActor.Command> actor = spawn(KIT, throttled(1, 0, 0), ProviderEvents.NONE, Optional.empty());
    assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("first"), Duration.ofSeconds(120)));
    ProviderResult.Failure next = assertInstanceOf(ProviderResult.Failure.class,
        ask(KIT, actor, request("second"), Duration.ofSeconds(120)));
    assertEquals(OutcomeKind.RATE_LIMITED, next.kind());
    assertEquals(0, next.calls());
    assertTrue(next.message().contains("throttle-queue = 0"), next.message());
    assertEquals(1, fake.calls().size());
  }

  @Test
  void remainingRequestsZeroHoldsTheNextCallUntilTheReset() {
    ActorRef<ProviderActor.Command> actor = spawn(KIT, throttled(0, 0, 100), ProviderEvents.NONE, Optional.empty());
    fake.enqueue(Step.ok().withHeader("x-ratelimit-remaining-requests", "0")
        .withHeader("x-ratelimit-reset-requests", "2s"));
    assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("first")));
    assertEquals(0, status(KIT, actor).throttle().requestsLeft(), "the provider said none are left");

    ProviderResult.Success second = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("second")));
    assertEquals(1, second.calls());
    List<RecordedCall> calls = fake.calls();
    assertEquals(2, calls.size());
    long gap = Duration.between(calls.get(0).at(), calls.get(1).at()).toMillis();
    assertTrue(gap >= 1900, "second call " + gap + " ms after the first");
  }

  @Test
  void tokenUsageCorrectsTheTokenBucket() {
    ActorRef<ProviderActor.Command> actor = spawn(KIT, throttled(0, 1000, 0), ProviderEvents.NONE, Optional.empty());
    ChatRequest small = new ChatRequest(List.of(ChatMessage.user("hi")), Optional.of(100), Optional.empty(), "test:1");
    assertEquals(1000, status(KIT, actor).throttle().tokensLeft());

    assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, small));
    long afterSmall = status(KIT, actor).throttle().tokensLeft();
    assertTrue(afterSmall >= 970, "the estimate of ~105 tokens was corrected to the real usage: " + afterSmall);

    fake.enqueue(Step.status(200, """
        {"id":"chatcmpl-big","object":"chat.completion","model":"gpt-4o-mini",
         "choices":[{"index":0,"message":{"role":"assistant","content":"long"},"finish_reason":"stop"}],
         "usage":{"prompt_tokens":500,"completion_tokens":400,"total_tokens":900}}"""));
    assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, small));
    long afterBig = status(KIT, actor).throttle().tokensLeft();
    assertTrue(afterBig < 200, "900 tokens used, estimate was ~105: " + afterBig);

    ProviderResult.Failure held = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, actor, small));
    assertEquals(OutcomeKind.RATE_LIMITED, held.kind());
    assertEquals(0, held.calls());
    assertTrue(held.message().contains("rate-limit-tpm = 1000"), held.message());
    assertEquals(2, fake.calls().size());
  }

  @Test
  void aDailyBudgetOpensTheBreakerAndSurvivesARestart(@TempDir Path dataDir) throws Exception {
    Logger log = (Logger) LoggerFactory.getLogger(ProviderActor.class);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    log.addAppender(appender);
    try {
      // 1000 per million tokens: each token costs 0.001, the cap is ten tokens' price.
      ProviderConfig config = limited(List.of("sk-one"), 0, 0, 100, new Price(1000, 1000), new Budget(0.01, 0),
          KeyStrategy.ROUND_ROBIN);
      Fixtures.RecordingEvents events = new Fixtures.RecordingEvents();
      ActorRef<ProviderActor.Command> first = spawn(KIT, config, events, Optional.of(dataDir));

      ProviderResult.Success ok = assertInstanceOf(ProviderResult.Success.class, ask(KIT, first, request("hello")));
      double cost = ok.usage().total() * 0.001;
      assertTrue(cost > 0.01, "the first call crosses the cap: " + cost);
      assertEquals(cost, events.calls.get(0).cost(), 1e-9);

      Instant midnight = LocalDate.now(ZoneOffset.UTC).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
      ProviderStatus status = status(KIT, first);
      assertEquals(BreakerState.OPEN, status.state());
      assertEquals(Optional.of("budget_exceeded"), status.reason());
      assertEquals(Optional.of(midnight), status.openUntil());
      assertEquals(cost, status.accounting().spendToday(), 1e-9);
      assertEquals(cost, status.keys().get(0).accounting().spendTotal(), 1e-9);
      assertEquals(ok.usage().inputTokens(), status.accounting().inputTokens());

      ProviderResult.Failure refused = assertInstanceOf(ProviderResult.Failure.class, ask(KIT, first, request("more")));
      assertEquals(OutcomeKind.BUDGET_EXCEEDED, refused.kind());
      assertEquals(0, refused.calls());
      assertTrue(refused.message().contains("daily budget of 0.0100 reached"), refused.message());
      assertEquals(1, fake.calls().size());

      List<String> errors = new ArrayList<>();
      synchronized (appender) {
        appender.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.ERROR)
            .forEach(e -> errors.add(e.getFormattedMessage()));
      }
      assertTrue(errors.stream().anyMatch(e -> e.contains("budget_exceeded") && e.contains("daily budget of 0.0100")
          && e.contains("spent")), errors.toString());

      Path spend = dataDir.resolve("spend").resolve("primary.json");
      Path breakers = dataDir.resolve("breakers").resolve("primary.json");
      KIT.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
        JsonNode saved = new ObjectMapper().readTree(spend.toFile());
        assertEquals(cost, saved.path("keys").path("primary#1").path("spendDay").asDouble(), 1e-9);
        assertEquals("budget_exceeded",
            new ObjectMapper().readTree(breakers.toFile()).path("provider-breaker").path("reason").asText());
        return null;
      });
      KIT.stop(first);

      ActorTestKit restarted = ActorTestKit.create();
      try {
        ActorRef<ProviderActor.Command> second = spawn(restarted, config, ProviderEvents.NONE, Optional.of(dataDir));
        ProviderResult.Failure after = assertInstanceOf(ProviderResult.Failure.class,
            ask(restarted, second, request("after restart")));
        assertEquals(OutcomeKind.BUDGET_EXCEEDED, after.kind());
        assertEquals(0, after.calls());
        assertEquals(cost, status(restarted, second).accounting().spendToday(), 1e-9);
        restarted.stop(second);

        Files.delete(breakers);
        ActorRef<ProviderActor.Command> third = spawn(restarted, config, ProviderEvents.NONE, Optional.of(dataDir));
        ProviderResult.Failure ledgerOnly = assertInstanceOf(ProviderResult.Failure.class,
            ask(restarted, third, request("the ledger alone refuses")));
        assertEquals(OutcomeKind.BUDGET_EXCEEDED, ledgerOnly.kind());
        assertEquals(0, ledgerOnly.calls());
      } finally {
        restarted.shutdownTestKit();
      }
      assertEquals(1, fake.calls().size(), "no call after the cap, before or after the restart");
    } finally {
      log.detachAppender(appender);
    }
  }

  @Test
  void fillFirstUsesTheFirstKeyUntilItCoolsDownThenReturnsToIt() {
    ActorRef<ProviderActor.Command> actor = spawn(KIT,
        limited(List.of("sk-a", "sk-b"), 0, 0, 100, Price.UNKNOWN, Budget.NONE, KeyStrategy.FILL_FIRST),
        ProviderEvents.NONE, Optional.empty());
    for (int i = 0; i < 3; i++) {
      assertEquals("primary#1", ((ProviderResult.Success) ask(KIT, actor, request("n" + i))).keyAlias());
    }
    fake.enqueue(Step.rateLimited(1));
    ProviderResult.Success rotated = assertInstanceOf(ProviderResult.Success.class, ask(KIT, actor, request("429")));
    assertEquals("primary#2", rotated.keyAlias());
    assertEquals(2, rotated.calls());
    assertEquals("primary#2", ((ProviderResult.Success) ask(KIT, actor, request("cooling"))).keyAlias());
    awaitCooled(actor);
    assertEquals("primary#1", ((ProviderResult.Success) ask(KIT, actor, request("back"))).keyAlias());
    assertEquals(List.of("sk-a", "sk-a", "sk-a", "sk-a", "sk-b", "sk-b", "sk-a"), keysSeen());
  }

  @Test
  void leastUsedCatchesUpOnTheKeyThatWasCoolingDown() {
    ActorRef<ProviderActor.Command> actor = spawn(KIT,
        limited(List.of("sk-a", "sk-b"), 0, 0, 100, Price.UNKNOWN, Budget.NONE, KeyStrategy.LEAST_USED),
        ProviderEvents.NONE, Optional.empty());
    fake.enqueue(Step.rateLimited(1));
    assertEquals("primary#2", ((ProviderResult.Success) ask(KIT, actor, request("429"))).keyAlias());
    ask(KIT, actor, request("b2"));
    ask(KIT, actor, request("b3"));
    awaitCooled(actor);
    ask(KIT, actor, request("a2"));
    ask(KIT, actor, request("a3"));
    assertEquals(List.of("sk-a", "sk-b", "sk-b", "sk-b", "sk-a", "sk-a"), keysSeen());
    ProviderStatus status = status(KIT, actor);
    assertEquals(3, status.keys().get(0).accounting().calls());
    assertEquals(3, status.keys().get(1).accounting().calls());
    assertEquals(6, status.accounting().calls());
  }

  private void awaitCooled(ActorRef<ProviderActor.Command> actor) {
    KIT.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(100), () -> {
      assertTrue(status(KIT, actor).keys().get(0).coolingUntil().isEmpty());
      return null;
    });
  }

  private List<String> keysSeen() {
    return fake.calls().stream().map(RecordedCall::apiKey).toList();
  }
}
