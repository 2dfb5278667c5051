package switchboard.supervision.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import switchboard.providers.BreakerState;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderEvents;
import switchboard.providers.ProviderEvents.BreakerChange;
import switchboard.providers.ProviderEvents.CallRecord;
import switchboard.providers.Usage;
import switchboard.router.FallbackPlan;

class AlertsActorTest {
  private static final ActorTestKit KIT = ActorTestKit.create();
  private static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private static AlertsConfig config(URI url, int attempts, int perHour) {
    return AlertsConfig.DEFAULT
        .withRateLimitedPerHour(perHour)
        .withDelivery(url, attempts, Duration.ofMillis(100), Duration.ofMillis(400), Duration.ofSeconds(5));
  }

  private static CallRecord call(String provider, String key, int status, OutcomeKind kind, Instant at) {
    return new CallRecord(at, provider, key, "m", "http:c1", 1, status, kind, Duration.ofMillis(40), Usage.NONE, 0, Map.of());
  }

  private static BreakerChange change(
      String provider, Optional<String> key, BreakerState from, BreakerState to, Optional<OutcomeKind> reason,
      Optional<Instant> until, Instant at) {
    return new BreakerChange(at, provider, key, from, to, reason, until, "");
  }

  private static List<Alert> recent(ActorRef<AlertsActor.Command> alerts) {
    TestProbe<List<Alert>> probe = KIT.createTestProbe();
    alerts.tell(new AlertsActor.GetRecent(probe.getRef()));
    return probe.receiveMessage(Duration.ofSeconds(5));
  }

  @Test
  void fiveOutOfCreditsAndABreakerOpenMakeOneAlertPerBillingPeriod() throws Exception {
    try (WebhookReceiver hook = new WebhookReceiver(0)) {
      ActorRef<AlertsActor.Command> alerts = KIT.spawn(AlertsActor.create(config(hook.url(), 3, 5), Optional.empty()));
      ProviderEvents events = AlertsActor.asProviderEvents(alerts);
      Instant until = Instant.parse("2025-03-02T00:00:00Z");

      events.call(call("primary", "primary#1", 402, OutcomeKind.OUT_OF_CREDITS, T0));
      events.breakerChanged(change("primary", Optional.empty(), BreakerState.CLOSED, BreakerState.OPEN,
          Optional.of(OutcomeKind.OUT_OF_CREDITS), Optional.of(until), T0));
      for (int i = 1; i <= 4; i++) {
        events.call(call("primary", "primary#1", 402, OutcomeKind.OUT_OF_CREDITS, T0.plusSeconds(i)));
      }

      WebhookReceiver.Received first = hook.next(10);
      assertEquals("out_of_credits", first.body().get("type").asText());
      assertEquals("primary", first.body().get("provider").asText());
      assertTrue(first.body().get("message").asText().contains("402"), first.body().toString());
      assertEquals(T0.toString(), first.body().get("time").asText());
      assertNull(hook.poll(700), "only one alert for five 402s and the breaker opening");
      assertEquals(1, recent(alerts).size());

      // The next billing period: a 402 after the breaker's until alerts again, once.
      events.call(call("primary", "primary#1", 402, OutcomeKind.OUT_OF_CREDITS, until.plusSeconds(5)));
      events.call(call("primary", "primary#1", 402, OutcomeKind.OUT_OF_CREDITS, until.plusSeconds(6)));
      assertEquals("out_of_credits", hook.next(10).body().get("type").asText());
      assertNull(hook.poll(500));
    }
  }

  @Test
  void moreRateLimitedThanAllowedInAnHourIsOneSpikeAlertPerHour() throws Exception {
    try (WebhookReceiver hook = new WebhookReceiver(0)) {
      ActorRef<AlertsActor.Command> alerts = KIT.spawn(AlertsActor.create(config(hook.url(), 3, 3), Optional.empty()));
      ProviderEvents events = AlertsActor.asProviderEvents(alerts);

      // Three an hour is allowed, even spread so that four never fall within one hour.
      for (int i = 0; i < 6; i++) {
        events.call(call("primary", "primary#1", 429, OutcomeKind.RATE_LIMITED, T0.plus(Duration.ofMinutes(21L * i))));
      }
      assertNull(hook.poll(500), "three per hour is not a spike");

      Instant later = T0.plus(Duration.ofHours(3));
      for (int i = 0; i < 8; i++) {
        events.call(call("primary", "primary#1", 429, OutcomeKind.RATE_LIMITED, later.plusSeconds(i)));
      }
      WebhookReceiver.Received spike = hook.next(10);
      assertEquals("rate_limited_spike", spike.body().get("type").asText());
      assertEquals("primary", spike.body().get("provider").asText());
      assertEquals("3", spike.body().get("threshold").asText());
      assertNull(hook.poll(500), "one spike alert per hour");

      for (int i = 0; i < 4; i++) {
        events.call(call("primary", "primary#1", 429, OutcomeKind.RATE_LIMITED, later.plus(Duration.ofMinutes(61)).plusSeconds(i)));
      }
      assertEquals("rate_limited_spike", hook.next(10).body().get("type").asText());
    }
  }

  @Test
  void aFailingWebhookIsRetriedWithBackoffUntilItTakesTheAlert() throws Exception {
    try (WebhookReceiver hook = new WebhookReceiver(2)) {
      ActorRef<AlertsActor.Command> alerts = KIT.spawn(AlertsActor.create(config(hook.url(), 4, 5), Optional.empty()));
      alerts.tell(new AlertsActor.AllProvidersDown("primary out_of_credits, backup unavailable"));

      WebhookReceiver.Received one = hook.next(10);
      WebhookReceiver.Received two = hook.next(10);
      WebhookReceiver.Received three = hook.next(10);
      assertEquals(List.of(500, 500, 204), List.of(one.status(), two.status(), three.status()));
      assertEquals("all_providers_down", three.body().get("type").asText());
      assertEquals(one.body(), three.body(), "the same alert is sent again");
      assertTrue(TimeUnit.NANOSECONDS.toMillis(two.nanos() - one.nanos()) >= 100, "backoff before the first retry");
      assertTrue(TimeUnit.NANOSECONDS.toMillis(three.nanos() - two.nanos()) >= 200, "the backoff doubles");
      assertNull(hook.poll(500), "delivered: no more attempts");
    }
  }

  @Test
  void anUnreachableWebhookIsLoggedAndTheActorCarriesOn() throws Exception {
    URI dead;
    try (WebhookReceiver hook = new WebhookReceiver(0)) {
      dead = hook.url();
    }
    Logger log = (Logger) LoggerFactory.getLogger(AlertsActor.class);
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    log.addAppender(lines);
    try {
      ActorRef<AlertsActor.Command> alerts = KIT.spawn(AlertsActor.create(config(dead, 3, 5), Optional.empty()));
      alerts.tell(new AlertsActor.AllProvidersDown("nothing answers"));

      TestProbe<Object> waiter = KIT.createTestProbe();
      waiter.awaitAssert(Duration.ofSeconds(15), () -> {
        assertTrue(lines.list.stream().anyMatch(e -> e.getFormattedMessage().contains("not delivered to webhook 127.0.0.1")),
            "a warning after the last attempt");
        return null;
      });
      for (ILoggingEvent e : lines.list) {
        assertTrue(!e.getFormattedMessage().contains("secret-path"), "the webhook path is never logged: " + e.getFormattedMessage());
      }
      assertEquals("all_providers_down", recent(alerts).get(0).type(), "the actor is alive and kept the alert");
    } finally {
      log.detachAppender(lines);
    }
  }

  @Test
  void authBreakerAllDownAndTelegram() throws Exception {
    BlockingQueue<String> telegram = new LinkedBlockingQueue<>();
    Consumer<String> sender = telegram::add;
    try (WebhookReceiver hook = new WebhookReceiver(0)) {
      ActorRef<AlertsActor.Command> alerts = KIT.spawn(AlertsActor.create(config(hook.url(), 3, 5), Optional.of(sender)));
      ProviderEvents events = AlertsActor.asProviderEvents(alerts);

      // auth_failed: once for the key, the breaker opening for it adds nothing; again after it cleared.
      events.call(call("primary", "primary#2", 401, OutcomeKind.AUTH_FAILED, T0));
      events.breakerChanged(change("primary", Optional.of("primary#2"), BreakerState.CLOSED, BreakerState.OPEN,
          Optional.of(OutcomeKind.AUTH_FAILED), Optional.empty(), T0));
      events.call(call("primary", "primary#2", 401, OutcomeKind.AUTH_FAILED, T0.plusSeconds(1)));
      WebhookReceiver.Received auth = hook.next(10);
      assertEquals("auth_failed", auth.body().get("type").asText());
      assertEquals("primary#2", auth.body().get("key").asText());
      assertNull(hook.poll(400));
      events.breakerChanged(change("primary", Optional.of("primary#2"), BreakerState.OPEN, BreakerState.CLOSED,
          Optional.empty(), Optional.empty(), T0.plusSeconds(60)));
      WebhookReceiver.Received closedAuth = hook.next(10);
      assertEquals("breaker_closed", closedAuth.body().get("type").asText());
      assertEquals("auth_failed", closedAuth.body().get("reason").asText());
      events.call(call("primary", "primary#2", 401, OutcomeKind.AUTH_FAILED, T0.plusSeconds(61)));
      assertEquals("auth_failed", hook.next(10).body().get("type").asText());

      // An unavailable breaker: open from closed alerts, a failed probe (half_open -> open) does not.
      Instant until = T0.plusSeconds(300);
      events.breakerChanged(change("backup", Optional.empty(), BreakerState.CLOSED, BreakerState.OPEN,
          Optional.of(OutcomeKind.UNAVAILABLE), Optional.of(until), T0.plusSeconds(100)));
      WebhookReceiver.Received open = hook.next(10);
      assertEquals("breaker_open", open.body().get("type").asText());
      assertEquals("backup", open.body().get("provider").asText());
      assertEquals("unavailable", open.body().get("reason").asText());
      assertEquals(until.toString(), open.body().get("until").asText());
      events.breakerChanged(change("backup", Optional.empty(), BreakerState.OPEN, BreakerState.HALF_OPEN,
          Optional.empty(), Optional.empty(), T0.plusSeconds(110)));
      events.breakerChanged(change("backup", Optional.empty(), BreakerState.HALF_OPEN, BreakerState.OPEN,
          Optional.of(OutcomeKind.UNAVAILABLE), Optional.of(until), T0.plusSeconds(111)));
      assertNull(hook.poll(400));

      // Every provider down: once, until something answers again.
      alerts.tell(new AlertsActor.AllProvidersDown("primary auth_failed, backup unavailable"));
      alerts.tell(new AlertsActor.AllProvidersDown("primary auth_failed, backup unavailable"));
      assertEquals("all_providers_down", hook.next(10).body().get("type").asText());
      assertNull(hook.poll(400));
      events.call(call("backup", "backup#1", 200, OutcomeKind.OK, T0.plusSeconds(200)));
      alerts.tell(new AlertsActor.AllProvidersDown("again"));
      WebhookReceiver.Received down = hook.next(10);
      assertEquals("all_providers_down", down.body().get("type").asText());
      assertTrue(down.body().get("provider").isNull());
      assertTrue(down.body().get("text").asText().startsWith("[all_providers_down] Every provider is down"));

      List<Alert> kept = recent(alerts);
      assertEquals(List.of("all_providers_down", "all_providers_down", "breaker_open", "auth_failed", "breaker_closed", "auth_failed"),
          kept.stream().map(Alert::type).toList(), "newest first");
      for (int i = 0; i < kept.size(); i++) {
        String text = telegram.poll(5, TimeUnit.SECONDS);
        assertEquals(kept.get(kept.size() - 1 - i).text(), text, "each alert also goes to Telegram, in order");
      }
    }
  }

  @Test
  void outOfCreditsTextsSayWhereMessagesGoAndAResetSaysWhoDidIt() {
    FallbackPlan withBackup = new FallbackPlan(List.of("primary", "backup"), Set.of(OutcomeKind.OUT_OF_CREDITS), Map.of());
    Instant until = Instant.parse("2025-03-02T00:00:00Z");
    BreakerChange opened = change("primary", Optional.of("primary#1"), BreakerState.CLOSED, BreakerState.OPEN,
        Optional.of(OutcomeKind.OUT_OF_CREDITS), Optional.of(until), T0);

    ActorRef<AlertsActor.Command> fallingBack = KIT.spawn(AlertsActor.create(AlertsConfig.DEFAULT, withBackup, Optional.empty()));
    fallingBack.tell(new AlertsActor.BreakerChanged(opened));
    assertEquals("Provider primary is out of credits on key primary#1. Messages go to backup meanwhile until it is "
            + "topped up and reset (bin/switchboard provider reset primary --key primary#1 or the status page), "
            + "or its quota resets at 2025-03-02T00:00:00Z.",
        recent(fallingBack).get(0).message());
    fallingBack.tell(new AlertsActor.BreakerChanged(new BreakerChange(T0.plusSeconds(60), "primary", Optional.of("primary#1"),
        BreakerState.OPEN, BreakerState.CLOSED, Optional.empty(), Optional.empty(), "", Optional.of("cli"))));
    Alert reset = recent(fallingBack).get(0);
    assertEquals("breaker_closed", reset.type());
    assertEquals("cli", reset.details().get("by"));
    assertEquals("Breaker of key primary#1 was reset by an operator via cli (had opened for out_of_credits): "
        + "messages go to it again.", reset.message());

    FallbackPlan alone = new FallbackPlan(List.of("primary"), Set.of(OutcomeKind.OUT_OF_CREDITS), Map.of("primary", 2));
    ActorRef<AlertsActor.Command> failing = KIT.spawn(AlertsActor.create(AlertsConfig.DEFAULT, alone, Optional.empty()));
    failing.tell(new AlertsActor.ProviderCall(call("primary", "primary#1", 402, OutcomeKind.OUT_OF_CREDITS, T0)));
    assertTrue(recent(failing).get(0).message().contains("Its other keys answer meanwhile"), recent(failing).toString());
    ActorRef<AlertsActor.Command> lastKey = KIT.spawn(AlertsActor.create(AlertsConfig.DEFAULT,
        new FallbackPlan(List.of("primary"), Set.of(OutcomeKind.OUT_OF_CREDITS), Map.of()), Optional.empty()));
    lastKey.tell(new AlertsActor.ProviderCall(call("primary", "primary#1", 402, OutcomeKind.OUT_OF_CREDITS, T0)));
    assertTrue(recent(lastKey).get(0).message().contains(
        "There is no fallback: messages fail with out_of_credits until it is topped up and reset"), recent(lastKey).toString());
  }

  @Test
  void keepsOnlyTheLastFifty() {
    ActorRef<AlertsActor.Command> alerts = KIT.spawn(AlertsActor.create(AlertsConfig.DEFAULT, Optional.empty()));
    for (int i = 0; i < 60; i++) {
      alerts.tell(new AlertsActor.BreakerChanged(change("p" + i, Optional.empty(), BreakerState.CLOSED, BreakerState.OPEN,
          Optional.of(OutcomeKind.UNAVAILABLE), Optional.empty(), T0)));
    }
    List<Alert> kept = recent(alerts);
    assertEquals(AlertsActor.RECENT, kept.size());
    assertEquals("p59", kept.get(0).provider().orElseThrow());
  }
}
