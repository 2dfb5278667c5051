package switchboard.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import switchboard.providers.config.BreakerConfig;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.config.QuotaReset;
import switchboard.providers.fake.FakeProviderServer;

/**
 * Two nodes of a real Pekko Cluster in one JVM (two actor systems over Artery on loopback), each
 * with its own provider actor for the same provider, as the gateway runs them: a breaker opened by
 * a 402 on one node stops the other node's calls within 2 s, spend toward a budget is summed over
 * the nodes, the configured rpm is divided among the up members, and an operator's reset on one node
 * closes the breaker on both.
 */
class ProviderShareClusterTest {

  static final Duration SPREAD = Duration.ofSeconds(2);

  FakeProviderServer server;
  final List<ActorTestKit> nodes = new ArrayList<>();

  static Config nodeConfig() {
    return ConfigFactory.parseString(
            "pekko.actor.provider = cluster\n"
                + "pekko.remote.artery.canonical { hostname = \"127.0.0.1\", port = 0 }\n"
                + "pekko.cluster.jmx.multi-mbeans-in-same-jvm = on\n"
                + "pekko.cluster.distributed-data { gossip-interval = 500ms, notify-subscribers-interval = 50ms }\n"
                + "pekko.loglevel = WARNING\n")
        .withFallback(ConfigFactory.load());
  }

  @BeforeEach
  void cluster() throws Exception {
    server = FakeProviderServer.start(0);
    ActorTestKit a = ActorTestKit.create("switchboard", nodeConfig());
    ActorTestKit b = ActorTestKit.create("switchboard", nodeConfig());
    nodes.add(a);
    nodes.add(b);
    Cluster.get(a.system()).manager().tell(Join.create(Cluster.get(a.system()).selfMember().address()));
    Cluster.get(b.system()).manager().tell(Join.create(Cluster.get(a.system()).selfMember().address()));
    for (ActorTestKit node : nodes) {
      awaitTrue(Duration.ofSeconds(20), () -> upMembers(node) == 2, "both nodes up");
    }
  }

  @AfterEach
  void stop() {
    nodes.forEach(ActorTestKit::shutdownTestKit);
    server.close();
  }

  static int upMembers(ActorTestKit node) {
    int up = 0;
    for (org.apache.pekko.cluster.Member m : Cluster.get(node.system()).state().getMembers()) {
      if (m.status() == MemberStatus.up()) {
        up++;
      }
    }
    return up;
  }

  ProviderConfig provider(int rpm, ProviderConfig.Price price, ProviderConfig.Budget budget) {
    return provider(rpm, price, budget, new QuotaReset.Daily());
  }

  ProviderConfig provider(int rpm, ProviderConfig.Price price, ProviderConfig.Budget budget, QuotaReset quotaReset) {
    return new ProviderConfig(
        "shared", ProviderConfig.Kind.OPENAI, server.openAiBaseUrl(), "m", 1, List.of("sk-shared-secret-1"),
        Duration.ofSeconds(5), rpm, 0, quotaReset, false, false, price, budget, 1024,
        ProviderConfig.KeyStrategy.ROUND_ROBIN, 100, ProviderConfig.DEFAULT_MAX_CONNECTIONS, ProviderConfig.Simulation.NONE,
        ProviderConfig.DEFAULT_STREAM_IDLE_TIMEOUT);
  }

  ActorRef<ProviderActor.Command> spawn(ActorTestKit node, ProviderConfig config) {
    return node.spawn(ProviderActor.create(config, Fixtures.retry(0, Duration.ofMillis(50)),
        new BreakerConfig(1000, Duration.ofSeconds(10), Duration.ofMinutes(5)), ProviderEvents.NONE,
        (system, name) -> ProviderStateStore.NONE, true));
  }

  static void awaitTrue(Duration within, java.util.function.BooleanSupplier check, String what) throws InterruptedException {
    long end = System.nanoTime() + within.toNanos();
    while (!check.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + within + ": " + what);
      }
      Thread.sleep(20);
    }
  }

  /** How long until {@code actor}'s status satisfies {@code check}, failing after {@code within}. */
  static Duration until(ActorTestKit node, ActorRef<ProviderActor.Command> actor, Predicate<ProviderStatus> check,
      Duration within, String what) throws InterruptedException {
    long start = System.nanoTime();
    awaitTrue(within, () -> check.test(Fixtures.status(node, actor)), what);
    return Duration.ofNanos(System.nanoTime() - start);
  }

  @Test
  void a402OnOneNodeOpensTheKeyOnTheOtherWithin2sAndTheOtherSendsNoCall() throws Exception {
    ProviderConfig config = provider(0, ProviderConfig.Price.UNKNOWN, ProviderConfig.Budget.NONE);
    ActorRef<ProviderActor.Command> onA = spawn(nodes.get(0), config);
    ActorRef<ProviderActor.Command> onB = spawn(nodes.get(1), config);
    assertInstanceOf(ProviderResult.Success.class, Fixtures.ask(nodes.get(1), onB, Fixtures.request("warm up")));

    server.enqueue(FakeProviderServer.Step.status(402));
    ProviderResult first = Fixtures.ask(nodes.get(0), onA, Fixtures.request("spends"));
    assertEquals(OutcomeKind.OUT_OF_CREDITS, assertInstanceOf(ProviderResult.Failure.class, first).kind());
    Duration took = until(nodes.get(1), onB, s -> s.state() == BreakerState.OPEN, SPREAD, "node B sees the breaker open");
    int callsBefore = server.calls().size();

    ProviderResult onOther = Fixtures.ask(nodes.get(1), onB, Fixtures.request("must not be sent"));
    ProviderResult.Failure refused = assertInstanceOf(ProviderResult.Failure.class, onOther);
    assertEquals(OutcomeKind.OUT_OF_CREDITS, refused.kind(), refused.toString());
    assertEquals(0, refused.calls(), "refused without a call");
    assertEquals(callsBefore, server.calls().size(), "node B sent the provider nothing");
    assertTrue(took.compareTo(SPREAD) <= 0, "spread in " + took);

    // an operator's reset on node B closes it on node A too, and A calls again
    TestResetProbe reset = new TestResetProbe(nodes.get(1));
    onB.tell(new ProviderActor.Reset(java.util.Optional.empty(), "cli", reset.ref()));
    reset.expectReset();
    until(nodes.get(0), onA, s -> s.state() == BreakerState.CLOSED, SPREAD, "node A sees the reset");
    assertInstanceOf(ProviderResult.Success.class, Fixtures.ask(nodes.get(0), onA, Fixtures.request("after reset")));
    assertEquals(callsBefore + 1, server.calls().size());
  }

  @Test
  void whenASharedBreakersTimeIsUpOnlyTheOldestNodeProbesAndItsVerdictClosesItEverywhere() throws Exception {
    ProviderConfig config = provider(0, ProviderConfig.Price.UNKNOWN, ProviderConfig.Budget.NONE,
        new QuotaReset.After(Duration.ofSeconds(1)));
    ActorRef<ProviderActor.Command> oldest = spawn(nodes.get(0), config);
    ActorRef<ProviderActor.Command> younger = spawn(nodes.get(1), config);
    until(nodes.get(1), younger, s -> s.throttle() != null, SPREAD, "node B's provider is running");

    server.enqueue(FakeProviderServer.Step.status(402));
    assertEquals(OutcomeKind.OUT_OF_CREDITS,
        assertInstanceOf(ProviderResult.Failure.class, Fixtures.ask(nodes.get(1), younger, Fixtures.request("spends"))).kind());
    until(nodes.get(0), oldest, s -> s.state() == BreakerState.OPEN, SPREAD, "the oldest node sees it open");
    Thread.sleep(1200); // past the breaker's 1 s: the time being up is the point of this test
    int calls = server.calls().size();

    ProviderResult waiting = Fixtures.ask(nodes.get(1), younger, Fixtures.request("not a probe"));
    assertEquals(0, assertInstanceOf(ProviderResult.Failure.class, waiting).calls(), "node B leaves the probe to the oldest");
    assertEquals(calls, server.calls().size());

    assertInstanceOf(ProviderResult.Success.class, Fixtures.ask(nodes.get(0), oldest, Fixtures.request("the probe")));
    assertEquals(calls + 1, server.calls().size(), "one probe for the cluster");
    until(nodes.get(1), younger, s -> s.state() == BreakerState.CLOSED, SPREAD, "the probe's verdict closes it on node B");
    assertInstanceOf(ProviderResult.Success.class, Fixtures.ask(nodes.get(1), younger, Fixtures.request("after the probe")));
  }

  /** A reply probe for {@link ProviderActor.Reset}. */
  record TestResetProbe(org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<ResetResult> probe) {
    TestResetProbe(ActorTestKit kit) {
      this(kit.createTestProbe(ResetResult.class));
    }

    ActorRef<ResetResult> ref() {
      return probe.getRef();
    }

    void expectReset() {
      assertEquals(ResetResult.Outcome.RESET, probe.expectMessageClass(ResetResult.class, Duration.ofSeconds(10)).outcome());
    }
  }

  @Test
  void spendTowardADailyBudgetIsSummedOverTheNodes() throws Exception {
    // every answer is 40 characters = 10 output tokens at 1 per token: 10 per call; the cap is 50
    server.setDefault(FakeProviderServer.Step.ok("x".repeat(40)));
    ProviderConfig config = provider(0, new ProviderConfig.Price(0, 1_000_000), new ProviderConfig.Budget(50, 0));
    ActorRef<ProviderActor.Command> onA = spawn(nodes.get(0), config);
    ActorRef<ProviderActor.Command> onB = spawn(nodes.get(1), config);

    List<ProviderResult> results = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      boolean a = i % 2 == 0;
      ActorTestKit node = nodes.get(a ? 0 : 1);
      ActorRef<ProviderActor.Command> actor = a ? onA : onB;
      // the other node's last call is known here within SPREAD; wait for it like a caller one step later would
      double spentBefore = Fixtures.status(node, actor).accounting().spendToday();
      results.add(Fixtures.ask(node, actor, Fixtures.request("call " + i)));
      ActorRef<ProviderActor.Command> other = a ? onB : onA;
      double expected = spentBefore + (results.get(i) instanceof ProviderResult.Success ? 10 : 0);
      until(nodes.get(a ? 1 : 0), other, s -> s.accounting().spendToday() >= expected - 0.001, SPREAD,
          "the other node counts the call");
    }
    long answered = results.stream().filter(r -> r instanceof ProviderResult.Success).count();
    assertEquals(5, answered, "calls until the cap of 50 is reached on the two nodes together: " + results);
    assertEquals(5, server.calls().size(), "no call past the cap from either node");
    ProviderResult.Failure refused = assertInstanceOf(ProviderResult.Failure.class, results.get(9));
    assertEquals(OutcomeKind.BUDGET_EXCEEDED, refused.kind());
    assertEquals(50.0, Fixtures.status(nodes.get(0), onA).accounting().spendToday(), 0.001, "each node shows the cluster's spend");
    assertEquals(50.0, Fixtures.status(nodes.get(1), onB).accounting().spendToday(), 0.001);
  }

  @Test
  void theConfiguredRpmIsDividedAmongTheUpMembersAndGivenBackWhenOneLeaves() throws Exception {
    ProviderConfig config = provider(60, ProviderConfig.Price.UNKNOWN, ProviderConfig.Budget.NONE);
    ActorRef<ProviderActor.Command> onA = spawn(nodes.get(0), config);
    until(nodes.get(0), onA, s -> s.throttle().requestsLeft() == 30, Duration.ofSeconds(5), "half of 60 rpm on node A");

    // two calls on A: 30 rpm is one call every 2 s, so the second waits about 2 s
    Instant start = Instant.now();
    assertInstanceOf(ProviderResult.Success.class, Fixtures.ask(nodes.get(0), onA, Fixtures.request("one")));
    assertInstanceOf(ProviderResult.Success.class, Fixtures.ask(nodes.get(0), onA, Fixtures.request("two")));
    Duration took = Duration.between(start, Instant.now());
    assertTrue(took.compareTo(Duration.ofMillis(1900)) >= 0, "30 rpm on this node spaces calls 2 s apart: " + took);

    Cluster.get(nodes.get(1).system()).manager().tell(
        org.apache.pekko.cluster.typed.Leave.create(Cluster.get(nodes.get(1).system()).selfMember().address()));
    until(nodes.get(0), onA, s -> s.throttle().requestsLeft() >= 59, Duration.ofSeconds(20),
        "node A alone takes the whole 60 rpm again");
  }
}
