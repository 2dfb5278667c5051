package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import switchboard.testkit.telegram.FakeBotApi;
import switchboard.providers.fake.FakeProviderServer;
import switchboard.providers.fake.FakeProviderServer.Step;
import switchboard.supervision.ClusterNodes.Node;

/**
 * Real {@code gateway run} processes forming one cluster on a PostgreSQL store of this test's own,
 * driven through their HTTP APIs and a fake Telegram, and killed with SIGKILL: one history per
 * conversation whichever node is asked, a conversation that survives the death of its node (mid
 * answer, too) with exactly one answer and no turn stored twice, a 402 on one node that spares the
 * others the call, a budget summed over the nodes, and one Telegram poller that another node
 * replaces without losing or doubling an update.
 */
class ClusterEndToEndTest {

  /** The contract's bound for a dead node's conversations and Telegram poller to move. */
  static final Duration MOVE = Duration.ofSeconds(30);

  @TempDir Path dir;
  TestPostgres store;
  FakeProviderServer primary;
  FakeProviderServer backup;

  @BeforeEach
  void start() throws Exception {
    store = TestPostgres.own(dir.resolve("pg"));
    primary = FakeProviderServer.start(0);
    backup = FakeProviderServer.start(0);
  }

  @AfterEach
  void stop() throws Exception {
    primary.close();
    backup.close();
    store.close();
  }

  private String providers(String primaryExtra) {
    return "providers = [\n"
        + "    " + TestGateway.provider("primary", 1, primary, primaryExtra) + "\n"
        + "    " + TestGateway.provider("backup", 2, backup, "fallback-only = true") + "\n"
        + "  ]\n"
        + "  retry { max-retries = 0, backoff-base = 100ms, backoff-max = 200ms, jitter = 0 }\n"
        + "  request-timeout = 60s\n"
        + "  " + store.hocon();
  }

  private static String say(String text) {
    return "{\"text\": " + TestGateway.quote(text) + "}";
  }

  private static String chat(String text) {
    return "{\"messages\": [{\"role\": \"user\", \"content\": " + TestGateway.quote(text) + "}]}";
  }

  private static String reply(Node node, String conversation, String text) throws Exception {
    TestGateway.Reply reply = node.post("/api/conversations/" + conversation + "/messages", say(text));
    assertEquals(200, reply.status(), reply.body());
    return reply.json().path("reply").asText();
  }

  private static List<String> userTexts(Node node, String conversation) throws Exception {
    List<String> texts = new ArrayList<>();
    for (JsonNode m : node.get("/api/conversations/" + conversation).json().path("messages")) {
      if (m.path("role").asText().equals("user")) {
        texts.add(m.path("content").asText());
      }
    }
    return texts;
  }

  @Test
  void aConversationKeepsOneHistoryOnThreeNodesAndOutlivesAKill9OfItsNodeInTheMiddleOfAnAnswer() throws Exception {
    try (ClusterNodes cluster = new ClusterNodes(dir, 3, providers(""))) {
      List<Node> all = List.of(cluster.start(0), cluster.start(1), cluster.start(2));
      ClusterNodes.awaitMembers(all, Duration.ofSeconds(60));

      assertEquals("Echo: my name is Ada", reply(all.get(0), "talk", "my name is Ada"));
      assertEquals("Echo: second", reply(all.get(1), "talk", "second"));
      assertEquals("Echo: third", reply(all.get(2), "talk", "third"));
      String host = all.get(0).get("/api/conversations/talk").json().path("node").asText();
      for (Node node : all) {
        assertEquals(List.of("my name is Ada", "second", "third"), userTexts(node, "talk"), "one history on " + node.address());
      }
      Node hostNode = all.stream().filter(n -> n.address().equals(host)).findFirst()
          .orElseThrow(() -> new AssertionError("no node is " + host));
      List<Node> survivors = all.stream().filter(n -> n != hostNode).toList();
      assertEquals(3, primary.calls().size(), "one call per message");

      // the fourth message is asked through another node; its entity's node dies while the provider answers
      primary.enqueue(Step.ok("too late").withDelay(Duration.ofSeconds(5)));
      CompletableFuture<TestGateway.Reply> fourth = CompletableFuture.supplyAsync(() -> {
        try {
          return survivors.get(0).post("/api/conversations/talk/messages", say("fourth"));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      ClusterNodes.await(Duration.ofSeconds(20), () -> primary.calls().size() == 4, () -> "the fourth call");
      long killed = System.nanoTime();
      hostNode.kill();

      TestGateway.Reply answer = fourth.get(90, TimeUnit.SECONDS);
      Duration took = Duration.ofNanos(System.nanoTime() - killed);
      assertEquals(200, answer.status(), answer.body());
      assertEquals("Echo: fourth", answer.json().path("reply").asText(), "answered again on a surviving node");
      assertTrue(took.compareTo(MOVE) < 0, "the conversation moved within 30 s: " + took);
      assertEquals(List.of("my name is Ada", "second", "third", "fourth"), userTexts(survivors.get(1), "talk"),
          "the full history, the fourth turn stored once");

      assertEquals("Echo: fifth", reply(survivors.get(1), "talk", "fifth"));
      String lastBody = primary.calls().get(primary.calls().size() - 1).body();
      for (String earlier : List.of("my name is Ada", "second", "third", "fourth")) {
        assertTrue(lastBody.contains(earlier), "the next call carries the history (" + earlier + "): " + lastBody);
      }
      ClusterNodes.awaitMembers(survivors, MOVE);
      assertEquals(List.of("my name is Ada", "second", "third", "fourth", "fifth"), userTexts(survivors.get(0), "talk"));
    }
  }

  @Test
  void a402OnOneNodeMeansTheOtherSendsThatProviderNoCallAndTheClusterIsVisibleEverywhere() throws Exception {
    primary.enqueue(Step.status(402));
    backup.setDefault(Step.ok("from the backup"));
    try (ClusterNodes cluster = new ClusterNodes(dir, 2, providers(""))) {
      Node a = cluster.start(0);
      Node b = cluster.start(1);
      ClusterNodes.awaitMembers(List.of(a, b), Duration.ofSeconds(60));

      TestGateway.Reply first = a.post("/v1/chat/completions", chat("hello"));
      assertEquals(200, first.status(), first.body());
      long opened = System.nanoTime();
      assertEquals(1, primary.calls().size());
      ClusterNodes.await(Duration.ofSeconds(2), () -> primaryState(b).equals("open"), () -> "node B sees primary open");
      assertTrue(Duration.ofNanos(System.nanoTime() - opened).compareTo(Duration.ofSeconds(2)) <= 0);
      for (int i = 0; i < 3; i++) {
        TestGateway.Reply onB = b.post("/v1/chat/completions", chat("on b " + i));
        assertEquals(200, onB.status(), onB.body());
        assertTrue(onB.body().contains("from the backup"), onB.body());
      }
      assertEquals(1, primary.calls().size(), "node B sent the out-of-credits provider no call");

      // operations: health, members, this node, gateway status, metrics by node
      assertEquals(200, b.get("/health").status());
      JsonNode clusterStatus = b.get("/api/status").json().path("cluster");
      assertEquals(b.address(), clusterStatus.path("self").asText());
      assertEquals(2, clusterStatus.path("members").size(), clusterStatus.toString());
      MainTest.Run status = MainTest.run("gateway", "status", "--url", b.base);
      assertEquals(0, status.code(), status.err());
      assertTrue(status.out().contains(b.address() + " (this node)"), status.out());
      assertTrue(status.out().contains(a.address()), status.out());
      String metrics = a.get("/metrics").body();
      assertTrue(metrics.contains("node=\"" + a.address() + "\""), "metrics carry the node");
    }
  }

  @Test
  void aNodeThatHasNotJoinedAnswersHealth503SoABalancerSendsItNothing() throws Exception {
    int nobody = ClusterNodes.freePort();
    try (ClusterNodes cluster = new ClusterNodes(dir, 1, providers(""))) {
      Node lonely = cluster.start(0, "cluster.seed-nodes = [\"127.0.0.1:" + nobody + "\"]");
      TestGateway.Reply health = lonely.get("/health");
      assertEquals(503, health.status(), health.body());
      assertEquals("down", health.json().path("status").asText());
      assertTrue(health.json().path("reason").asText().contains("not up"), health.body());
      JsonNode self = lonely.get("/api/status").json().path("cluster");
      assertEquals(lonely.address(), self.path("self").asText());
      assertTrue(!self.path("self_status").asText().equals("up"), self.toString());
    }
  }

  private static String primaryState(Node node) {
    try {
      for (JsonNode p : node.get("/api/status").json().path("providers")) {
        if (p.path("name").asText().equals("primary")) {
          return p.path("state").asText();
        }
      }
    } catch (Exception e) {
      // not answering yet
    }
    return "";
  }

  @Test
  void aDailyBudgetIsNotOvershotByMoreThanTheCallsInFlightWhenTwoNodesSpendIt() throws Exception {
    // each answer is 10 output tokens at 1.0 each: 10 per call, so a daily budget of 50 is 5 calls; a
    // provider takes 200 ms (real ones take longer), against which the nodes' few ms to tell each other are small
    primary.setDefault(Step.ok("x".repeat(40)).withDelay(Duration.ofMillis(200)));
    backup.setDefault(Step.ok("backup"));
    String metered = "price { input-per-million = 0, output-per-million = 1000000 }, budget { daily = 50 }";
    try (ClusterNodes cluster = new ClusterNodes(dir, 2, providers(metered))) {
      List<Node> nodes = List.of(cluster.start(0), cluster.start(1));
      ClusterNodes.awaitMembers(nodes, Duration.ofSeconds(60));

      AtomicInteger answeredByPrimary = new AtomicInteger();
      List<CompletableFuture<Void>> clients = new ArrayList<>();
      for (Node node : nodes) {
        clients.add(CompletableFuture.runAsync(() -> {
          for (int i = 0; i < 8; i++) {
            try {
              TestGateway.Reply r = node.post("/v1/chat/completions", chat("call " + i));
              if (r.body().contains("xxxxxxxx")) {
                answeredByPrimary.incrementAndGet();
              }
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          }
        }));
      }
      CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
      int calls = primary.calls().size();
      assertTrue(calls >= 5, "the budget allows 5 calls: " + calls);
      assertTrue(calls <= 5 + nodes.size(),
          "16 messages over two nodes, a budget of 5 calls: at most one more call per node in flight, not 5 per node: " + calls);
      assertEquals(calls, answeredByPrimary.get());
      for (Node node : nodes) {
        ClusterNodes.await(Duration.ofSeconds(2), () -> spendToday(node) >= 50.0 - 0.001,
            () -> "node " + node.address() + " shows the cluster's spend: " + spendToday(node));
      }
    }
  }

  /** The Telegram channel's pending count, asked through {@code node} (wherever the singleton runs). */
  private static int telegramPending(Node node) {
    try {
      for (JsonNode c : node.get("/api/status").json().path("channels")) {
        if (c.path("name").asText().equals("telegram")) {
          return c.path("pending").asInt(-1);
        }
      }
    } catch (Exception e) {
      // not answering
    }
    return -1;
  }

  private static double spendToday(Node node) {
    try {
      for (JsonNode p : node.get("/api/status").json().path("providers")) {
        if (p.path("name").asText().equals("primary")) {
          return p.path("accounting").path("spend_today").asDouble();
        }
      }
    } catch (Exception e) {
      // not answering
    }
    return -1;
  }

  @Test
  void oneNodePollsTelegramAndWhenItIsKilledAnotherTakesOverWithoutLosingOrDoublingAnUpdate() throws Exception {
    try (FakeBotApi telegram = FakeBotApi.start();
        ClusterNodes cluster = new ClusterNodes(dir, 2, providers("")
            + "\n  channels.telegram { enabled = true, token = \"" + FakeBotApi.TOKEN + "\", base-url = \""
            + telegram.baseUrl() + "\", poll-timeout = 1s }")) {
      Node oldest = cluster.start(0);
      ClusterNodes.awaitMembers(List.of(oldest), Duration.ofSeconds(60));
      Node other = cluster.start(1);
      ClusterNodes.awaitMembers(List.of(oldest, other), Duration.ofSeconds(60));

      for (long chat = 1; chat <= 4; chat++) {
        telegram.userSays(chat, "hello " + chat);
      }
      for (long chat = 1; chat <= 4; chat++) {
        assertEquals("Echo: hello " + chat, telegram.awaitSentTo(chat, 1, Duration.ofSeconds(20)).get(0).text());
      }
      // answered and recorded in the store: the poller's node dies with nothing pending
      ClusterNodes.await(Duration.ofSeconds(10), () -> telegramPending(other) == 0, () -> "nothing pending");
      oldest.kill();
      long killed = System.nanoTime();
      for (long chat = 5; chat <= 8; chat++) {
        telegram.userSays(chat, "hello " + chat);
      }
      assertEquals("Echo: hello 5", telegram.awaitSentTo(5, 1, Duration.ofSeconds(60)).get(0).text());
      Duration took = Duration.ofNanos(System.nanoTime() - killed);
      assertTrue(took.compareTo(MOVE) < 0, "the other node took over polling within 30 s: " + took);
      for (long chat = 6; chat <= 8; chat++) {
        assertEquals("Echo: hello " + chat, telegram.awaitSentTo(chat, 1, Duration.ofSeconds(20)).get(0).text());
      }

      telegram.userSays(9, "still there?");
      assertEquals("Echo: still there?", telegram.awaitSentTo(9, 1, Duration.ofSeconds(20)).get(0).text());
      for (long chat = 1; chat <= 9; chat++) {
        assertEquals(1, telegram.sentTo(chat).size(), "exactly one answer in chat " + chat + ": " + telegram.sentTo(chat));
      }
      assertEquals(9, primary.calls().size(), "one provider call per update");
    }
  }
}
