package switchboard.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import switchboard.providers.ChatMessage;

/**
 * Conversations as Cluster Sharding entities on two nodes of a real cluster in one JVM (two actor
 * systems over Artery on loopback, so the messages that cross nodes go through the Jackson
 * serializer): whichever node a message is sent to, it reaches the one entity of its conversation,
 * in order, with the same history; and a message sent again under its delivery id costs one call and
 * one turn, and is answered each time.
 */
class ShardedConversationsTest {

  static final Duration WAIT = Duration.ofSeconds(15);

  final List<ActorTestKit> nodes = new ArrayList<>();
  final List<StubRouter> routers = new ArrayList<>();
  final List<ActorRef<ConversationsActor.Command>> conversations = new ArrayList<>();

  static Config nodeConfig() {
    return ConfigFactory.parseString(
            "pekko.actor.provider = cluster\n"
                + "pekko.remote.artery.canonical { hostname = \"127.0.0.1\", port = 0 }\n"
                + "pekko.cluster.jmx.multi-mbeans-in-same-jvm = on\n"
                + "pekko.cluster.sharding.passivation.strategy = none\n"
                + "pekko.loglevel = WARNING\n")
        .withFallback(PersistenceTestKitPlugin.getInstance().config())
        .withFallback(PersistenceTestKitSnapshotPlugin.config())
        .withFallback(ConfigFactory.load());
  }

  @BeforeEach
  void cluster() throws Exception {
    for (int i = 0; i < 2; i++) {
      nodes.add(ActorTestKit.create("switchboard", nodeConfig()));
    }
    var seed = Cluster.get(nodes.get(0).system()).selfMember().address();
    for (ActorTestKit node : nodes) {
      Cluster.get(node.system()).manager().tell(Join.create(seed));
    }
    for (ActorTestKit node : nodes) {
      long end = System.nanoTime() + WAIT.toNanos();
      while (upMembers(node) < 2) {
        assertTrue(System.nanoTime() < end, "the two nodes did not form a cluster");
        Thread.sleep(20);
      }
      StubRouter router = new StubRouter(node);
      routers.add(router);
      conversations.add(node.spawn(ShardedConversations.create(router.ref,
          ConversationSettings.of(20, Duration.ofMinutes(5), Optional.empty(), Duration.ofSeconds(10)))));
    }
  }

  @AfterEach
  void stop() {
    nodes.forEach(ActorTestKit::shutdownTestKit);
  }

  static int upMembers(ActorTestKit node) {
    int up = 0;
    for (org.apache.pekko.cluster.Member m : Cluster.get(node.system()).state().getMembers()) {
      up += m.status() == MemberStatus.up() ? 1 : 0;
    }
    return up;
  }

  RouteResult say(int node, String conversation, String text) {
    TestProbe<RouteResult> probe = nodes.get(node).createTestProbe(RouteResult.class);
    conversations.get(node).tell(new ConversationsActor.UserMessage(conversation, text, probe.getRef()));
    RouteResult result = probe.expectMessageClass(RouteResult.class, WAIT);
    probe.expectNoMessage(Duration.ofMillis(100));
    return result;
  }

  ConversationActor.Turns history(int node, String conversation) {
    TestProbe<ConversationActor.Turns> probe = nodes.get(node).createTestProbe(ConversationActor.Turns.class);
    conversations.get(node).tell(new ConversationsActor.GetHistory(conversation, probe.getRef()));
    return probe.expectMessageClass(ConversationActor.Turns.class, WAIT);
  }

  @Test
  void aConversationAnsweredThroughBothNodesHasOneEntityAndOneHistory() {
    for (int i = 1; i <= 4; i++) {
      RouteResult.Answered answered = assertInstanceOf(RouteResult.Answered.class, say(i % 2, "http:shared", "turn " + i));
      assertEquals("echo:turn " + i, answered.text());
    }
    int a = routers.get(0).requests.size();
    int b = routers.get(1).requests.size();
    assertTrue((a == 4 && b == 0) || (a == 0 && b == 4), "one entity on one node made every call: " + a + " / " + b);
    StubRouter host = a == 4 ? routers.get(0) : routers.get(1);
    assertEquals(7, host.requests.get(3).messages().size(), "the 4th call carried the 3 turns before it");

    ConversationActor.Turns fromA = history(0, "http:shared");
    ConversationActor.Turns fromB = history(1, "http:shared");
    assertEquals(8, fromA.messages().size());
    assertEquals(fromA.messages(), fromB.messages(), "the same history through either node");
    assertEquals(ChatMessage.user("turn 1"), fromA.messages().get(0));
    String hostNode = Cluster.get(nodes.get(a == 4 ? 0 : 1).system()).selfMember().address().hostPort();
    assertTrue(hostNode.endsWith(fromA.node()), "the history says where the conversation lives: " + fromA.node());
  }

  @Test
  void messagesForManyConversationsFromBothNodesAreAllAnsweredInOrder() {
    List<TestProbe<RouteResult>> probes = new ArrayList<>();
    for (int c = 0; c < 10; c++) {
      for (int i = 0; i < 3; i++) {
        TestProbe<RouteResult> probe = nodes.get(c % 2).createTestProbe(RouteResult.class);
        conversations.get(c % 2).tell(new ConversationsActor.UserMessage("http:many-" + c, "m" + i, probe.getRef()));
        probes.add(probe);
      }
    }
    for (int k = 0; k < probes.size(); k++) {
      assertEquals("echo:m" + (k % 3), assertInstanceOf(RouteResult.Answered.class,
          probes.get(k).expectMessageClass(RouteResult.class, WAIT)).text());
    }
    for (int c = 0; c < 10; c++) {
      List<ChatMessage> messages = history(c % 2 == 0 ? 1 : 0, "http:many-" + c).messages();
      assertEquals(List.of("m0", "echo:m0", "m1", "echo:m1", "m2", "echo:m2"),
          messages.stream().map(ChatMessage::content).toList(), "arrival order in conversation " + c);
    }
    assertTrue(routers.get(0).requests.size() > 0 && routers.get(1).requests.size() > 0,
        "the conversations are spread over both nodes");
  }

  @Test
  void aMessageSentAgainUnderItsDeliveryIdCostsOneCallAndOneTurn() {
    ActorRef<ShardingEnvelope<ConversationActor.Command>> region =
        ConversationActor.initSharding(nodes.get(1).system(), routers.get(1).ref,
            ConversationSettings.of(20, Duration.ofMinutes(5), Optional.empty(), Duration.ofSeconds(10)));
    TestProbe<RouteResult> first = nodes.get(1).createTestProbe(RouteResult.class);
    TestProbe<RouteResult> again = nodes.get(1).createTestProbe(RouteResult.class);
    TestProbe<ConversationActor.Accepted> acks = nodes.get(1).createTestProbe(ConversationActor.Accepted.class);
    ConversationActor.Delivery delivery = new ConversationActor.Delivery("d-1", 10_000, acks.getRef());
    // "slow": the repeat arrives while the first is being answered; it waits for that answer
    region.tell(new ShardingEnvelope<>("http:repeat",
        new ConversationActor.Message("slow once", Optional.empty(), first.getRef(), Optional.of(delivery))));
    region.tell(new ShardingEnvelope<>("http:repeat",
        new ConversationActor.Message("slow once", Optional.empty(), again.getRef(), Optional.of(delivery))));
    assertEquals("echo:slow once", assertInstanceOf(RouteResult.Answered.class, first.expectMessageClass(RouteResult.class, WAIT)).text());
    assertEquals("echo:slow once", assertInstanceOf(RouteResult.Answered.class, again.expectMessageClass(RouteResult.class, WAIT)).text());
    assertEquals("d-1", acks.expectMessageClass(ConversationActor.Accepted.class, WAIT).id());
    assertEquals("d-1", acks.expectMessageClass(ConversationActor.Accepted.class, WAIT).id());

    // a third sending after the answer: from the stored turn
    TestProbe<RouteResult> late = nodes.get(1).createTestProbe(RouteResult.class);
    region.tell(new ShardingEnvelope<>("http:repeat",
        new ConversationActor.Message("slow once", Optional.empty(), late.getRef(), Optional.of(delivery))));
    assertEquals("echo:slow once", assertInstanceOf(RouteResult.Answered.class, late.expectMessageClass(RouteResult.class, WAIT)).text());

    long calls = routers.stream().mapToLong(r -> r.requests.stream()
        .filter(q -> StubRouter.lastText(q).equals("slow once")).count()).sum();
    assertEquals(1, calls, "one provider call for three sendings");
    assertEquals(2, history(0, "http:repeat").messages().size(), "one turn stored");
  }
}
