package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import switchboard.channels.Channel;
import switchboard.channels.ChannelStatus;
import switchboard.channels.GatewayStatus;
import switchboard.providers.ProviderStatus;
import switchboard.router.RouterActor;
import switchboard.supervision.ops.Alert;
import switchboard.supervision.ops.AlertsActor;
import switchboard.supervision.ops.ShutdownRecord;

/**
 * The status actor gathers {@code /api/status}: the providers from the router, every channel in the
 * order they started, the recent alerts and the last shutdown; a part that does not answer in time
 * is shown as missing or {@code unresponsive} instead of holding the whole status up.
 */
class StatusActorTest {
  static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static ActorRef<Channel.Command> channel(ChannelStatus status) {
    return kit.spawn(Behaviors.receiveMessage(message -> {
      if (message instanceof Channel.GetStatus get) {
        get.replyTo().tell(status);
      }
      return Behaviors.same();
    }));
  }

  @Test
  void everyPartIsGatheredInStartOrder() {
    ActorRef<RouterActor.Command> router = kit.spawn(Behaviors.receiveMessage(message -> {
      if (message instanceof RouterActor.GetStatus get) {
        get.replyTo().tell(List.<ProviderStatus>of());
      }
      return Behaviors.same();
    }));
    ActorRef<AlertsActor.Command> alerts = kit.spawn(Behaviors.receiveMessage(message -> {
      if (message instanceof AlertsActor.GetRecent get) {
        get.replyTo().tell(List.<Alert>of());
      }
      return Behaviors.same();
    }));
    ShutdownRecord last = ShutdownRecord.now(ShutdownRecord.SIGTERM, 0, Optional.empty(), Optional.empty());
    ActorRef<GatewayStatus.Command> status = kit.spawn(StatusActor.create(router, alerts, Optional.of(last), false));
    status.tell(new StatusActor.ChannelStarted("http", channel(new ChannelStatus("http", 0, 100, "serving", Optional.empty(), 0))));
    status.tell(new StatusActor.ChannelStarted("discord",
        channel(new ChannelStatus("discord", 2, 10, "connected", Optional.empty(), 1))));

    GatewayStatus.Snapshot snapshot = ask(status);
    assertEquals(Optional.of(List.of()), snapshot.providers());
    assertEquals(List.of("http", "discord"), snapshot.channels().stream().map(ChannelStatus::name).toList());
    assertEquals(2, snapshot.channels().get(1).pending());
    assertTrue(snapshot.extras().containsKey("alerts"));
    assertTrue(snapshot.extras().containsKey("last_shutdown"));
  }

  @Test
  void partsThatDoNotAnswerAreShownAsMissingAndTheRestStillComes() {
    TestProbe<RouterActor.Command> silentRouter = kit.createTestProbe();
    TestProbe<AlertsActor.Command> silentAlerts = kit.createTestProbe();
    TestProbe<Channel.Command> stuck = kit.createTestProbe();
    ActorRef<GatewayStatus.Command> status =
        kit.spawn(StatusActor.create(silentRouter.ref(), silentAlerts.ref(), Optional.empty(), false));
    status.tell(new StatusActor.ChannelStarted("http", channel(new ChannelStatus("http", 0, 100, "serving", Optional.empty(), 0))));
    status.tell(new StatusActor.ChannelStarted("telegram", stuck.ref()));

    long started = System.nanoTime();
    GatewayStatus.Snapshot snapshot = ask(status);
    assertTrue(Duration.ofNanos(System.nanoTime() - started).compareTo(Duration.ofSeconds(5)) < 0, "bounded by the part timeout");
    assertTrue(snapshot.providers().isEmpty(), "the router did not answer");
    assertEquals("serving", snapshot.channels().get(0).state());
    ChannelStatus telegram = snapshot.channels().get(1);
    assertEquals("telegram", telegram.name());
    assertEquals("unresponsive", telegram.state());
    assertTrue(telegram.lastError().isPresent());
    assertFalse(snapshot.extras().containsKey("alerts"), "alerts left out when the alerts actor is silent");
    assertEquals(Map.of(), snapshot.extras());
  }

  private static GatewayStatus.Snapshot ask(ActorRef<GatewayStatus.Command> status) {
    TestProbe<GatewayStatus.Snapshot> reply = kit.createTestProbe();
    status.tell(new GatewayStatus.Get(reply.ref()));
    return reply.receiveMessage(Duration.ofSeconds(10));
  }
}
