package switchboard.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import switchboard.providers.ChatMessage;
import switchboard.providers.OutcomeKind;
import switchboard.testkit.faults.Crashable;

class ConversationsActorTest {
  /** Conversations are event-sourced: the persistence testkit's in-memory journal and snapshot store stand in for the store. */
  static final ActorTestKit kit = ActorTestKit.create(
      ConfigFactory.parseString("pekko.switchboard-test.behavior-decorator = \"switchboard.testkit.faults.Crashable\"")
          .withFallback(PersistenceTestKitPlugin.getInstance().config())
          .withFallback(PersistenceTestKitSnapshotPlugin.config())
          .withFallback(ConfigFactory.load()));
  static final Duration WAIT = Duration.ofSeconds(10);
  static final ConversationSettings SETTINGS =
      ConversationSettings.of(20, Duration.ofMinutes(5), Optional.of("Be brief."), Duration.ofSeconds(30));

  @AfterAll
  static void shutdown() {
    kit.shutdownTestKit();
  }

  private static RouteResult say(ActorRef<ConversationsActor.Command> conversations, String id, String text) {
    TestProbe<RouteResult> probe = kit.createTestProbe();
    conversations.tell(new ConversationsActor.UserMessage(id, text, probe.getRef()));
    return probe.expectMessageClass(RouteResult.class, WAIT);
  }

  private static String reply(ActorRef<ConversationsActor.Command> conversations, String id, String text) {
    return assertInstanceOf(RouteResult.Answered.class, say(conversations, id, text)).text();
  }

  @Test
  void theSecondMessageCarriesTheHistoryAfterTheSystemPrompt() {
    StubRouter router = new StubRouter(kit);
    ActorRef<ConversationsActor.Command> conversations = kit.spawn(ConversationsActor.create(router.ref, SETTINGS));

    assertEquals("echo:my name is Bob", reply(conversations, "http:history", "my name is Bob"));
    assertEquals("echo:what is my name?", reply(conversations, "http:history", "what is my name?"));

    assertEquals(
        List.of(
            ChatMessage.system("Be brief."),
            ChatMessage.user("my name is Bob"),
            ChatMessage.assistant("echo:my name is Bob"),
            ChatMessage.user("what is my name?")),
        router.requests.get(1).messages());
    assertEquals("http:history", router.requests.get(1).origin());
  }

  @Test
  void historyIsBoundedAndFailedTurnsAddNothing() {
    StubRouter router = new StubRouter(kit);
    ConversationSettings two = ConversationSettings.of(2, Duration.ofMinutes(5), Optional.empty(), Duration.ofSeconds(30));
    ActorRef<ConversationsActor.Command> conversations = kit.spawn(ConversationsActor.create(router.ref, two));

    reply(conversations, "c", "one");
    reply(conversations, "c", "two");
    RouteResult.Failed failed = assertInstanceOf(RouteResult.Failed.class, say(conversations, "c", "fail three"));
    assertEquals(OutcomeKind.OUT_OF_CREDITS, failed.kind());
    reply(conversations, "c", "four");

    assertEquals(
        List.of(ChatMessage.user("two"), ChatMessage.assistant("echo:two"), ChatMessage.user("four")),
        router.requests.get(3).messages());
  }

  @Test
  void messagesAreAnsweredInArrivalOrderOneAtATime() {
    StubRouter router = new StubRouter(kit);
    ActorRef<ConversationsActor.Command> conversations = kit.spawn(ConversationsActor.create(router.ref, SETTINGS));
    TestProbe<RouteResult> probe = kit.createTestProbe();

    for (String text : List.of("slow first", "second", "slow third", "fourth")) {
      conversations.tell(new ConversationsActor.UserMessage("telegram:42", text, probe.getRef()));
    }

    for (String text : List.of("slow first", "second", "slow third", "fourth")) {
      assertEquals("echo:" + text, assertInstanceOf(RouteResult.Answered.class, probe.expectMessageClass(RouteResult.class, WAIT)).text());
    }
    assertEquals(
        List.of("recv:slow first", "reply:slow first", "recv:second", "reply:second",
            "recv:slow third", "reply:slow third", "recv:fourth", "reply:fourth"),
        router.log);
    assertEquals(4, router.requests.get(1).messages().size(), "prompt, first turn, second message");
  }

  @Test
  void aMessageWhoseTimeRanOutWhileQueuedIsAnsweredWithoutAProviderCall() {
    StubRouter router = new StubRouter(kit);
    ConversationSettings oneSecond =
        ConversationSettings.of(20, Duration.ofMinutes(5), Optional.empty(), Duration.ofSeconds(1));
    ActorRef<ConversationsActor.Command> conversations = kit.spawn(ConversationsActor.create(router.ref, oneSecond));
    TestProbe<RouteResult> probe = kit.createTestProbe();

    conversations.tell(new ConversationsActor.UserMessage("http:queue", "hold on", probe.getRef()));
    conversations.tell(new ConversationsActor.UserMessage("http:queue", "behind it", probe.getRef()));

    assertEquals("echo:hold on", assertInstanceOf(RouteResult.Answered.class, probe.expectMessageClass(RouteResult.class, WAIT)).text());
    RouteResult.Failed late = assertInstanceOf(RouteResult.Failed.class, probe.expectMessageClass(RouteResult.class, WAIT));
    assertEquals(OutcomeKind.UNAVAILABLE, late.kind());
    assertEquals("Request timed out: earlier messages of this conversation took all of its 1s. Please send it again.", late.message());
    assertEquals(List.of("recv:hold on", "reply:hold on"), router.log);
  }

  @Test
  void anotherConversationIsNotHeldUpByASlowOne() {
    StubRouter router = new StubRouter(kit);
    ActorRef<ConversationsActor.Command> conversations = kit.spawn(ConversationsActor.create(router.ref, SETTINGS));
    TestProbe<RouteResult> slowProbe = kit.createTestProbe();

    conversations.tell(new ConversationsActor.UserMessage("a", "hold on", slowProbe.getRef()));
    assertEquals("echo:quick", reply(conversations, "b", "quick"));

    slowProbe.expectMessageClass(RouteResult.class, WAIT);
    // the two conversations send independently; what matters is that b's reply did not wait for a's
    List<String> log = router.log;
    assertTrue(log.indexOf("reply:quick") < log.indexOf("reply:hold on"), log.toString());
    assertTrue(log.contains("recv:hold on"), log.toString());
  }

  @Test
  void anIdleConversationStopsAndItsSuccessorRecoversTheHistoryFromTheStore() {
    StubRouter router = new StubRouter(kit);
    ConversationSettings quick = ConversationSettings.of(20, Duration.ofMillis(300), Optional.empty(), Duration.ofSeconds(30));
    ActorRef<ConversationsActor.Command> conversations = kit.spawn(ConversationsActor.create(router.ref, quick));
    TestProbe<Set<String>> active = kit.createTestProbe();

    long start = System.nanoTime();
    reply(conversations, "http:idle", "remember me");
    conversations.tell(new ConversationsActor.GetActive(active.getRef()));
    assertEquals(Set.of("http:idle"), active.receiveMessage(WAIT));

    active.awaitAssert(WAIT, () -> {
      conversations.tell(new ConversationsActor.GetActive(active.getRef()));
      assertEquals(Set.of(), active.receiveMessage(WAIT));
      return null;
    });
    assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofMillis(300)) >= 0);

    reply(conversations, "http:idle", "who am I?");
    assertEquals(
        List.of(ChatMessage.user("remember me"), ChatMessage.assistant("echo:remember me"), ChatMessage.user("who am I?")),
        router.requests.get(1).messages());
  }

  @Test
  void resetForgetsTheHistoryAfterEarlierMessagesAreAnswered() {
    StubRouter router = new StubRouter(kit);
    ActorRef<ConversationsActor.Command> conversations = kit.spawn(ConversationsActor.create(router.ref, SETTINGS));
    TestProbe<RouteResult> first = kit.createTestProbe();
    TestProbe<ConversationsActor.Done> done = kit.createTestProbe();

    conversations.tell(new ConversationsActor.UserMessage("telegram:7", "slow hello", first.getRef()));
    conversations.tell(new ConversationsActor.Reset("telegram:7", done.getRef()));
    first.expectMessageClass(RouteResult.class, WAIT);
    done.expectMessage(WAIT, ConversationsActor.Done.INSTANCE);
    reply(conversations, "telegram:7", "fresh start");

    assertEquals(List.of(ChatMessage.system("Be brief."), ChatMessage.user("fresh start")), router.requests.get(1).messages());

    conversations.tell(new ConversationsActor.Reset("telegram:never-seen", done.getRef()));
    done.expectMessage(WAIT, ConversationsActor.Done.INSTANCE);
  }

  @Test
  void aCrashAnswersEveryPendingMessageAndTheConversationKeepsWorking() {
    StubRouter router = new StubRouter(kit);
    ActorRef<ConversationsActor.Command> conversations = kit.spawn(ConversationsActor.create(router.ref, SETTINGS));
    TestProbe<RouteResult> inFlight = kit.createTestProbe();
    TestProbe<RouteResult> queued = kit.createTestProbe();
    reply(conversations, "b", "bystander before");

    conversations.tell(new ConversationsActor.UserMessage("a", "hold this", inFlight.getRef()));
    conversations.tell(new ConversationsActor.UserMessage("a", "queued", queued.getRef()));
    inFlight.awaitAssert(WAIT, () -> {
      assertTrue(router.log.contains("recv:hold this"), "the first message is at the provider");
      return null;
    });
    Crashable.crashChild(conversations, ConversationsActor.childName("a"));

    for (TestProbe<RouteResult> probe : List.of(inFlight, queued)) {
      RouteResult.Failed failed = assertInstanceOf(RouteResult.Failed.class, probe.expectMessageClass(RouteResult.class, WAIT));
      assertEquals(OutcomeKind.UNAVAILABLE, failed.kind());
      assertTrue(failed.message().contains("internal error, please send your message again"), failed.message());
    }
    assertEquals("echo:after the crash", reply(conversations, "a", "after the crash"));
    assertEquals("echo:bystander after", reply(conversations, "b", "bystander after"));

    // the provider's late answer to "hold this" must neither reach its caller again nor be taken
    // as the answer to a newer message
    TestProbe<RouteResult> later = kit.createTestProbe();
    conversations.tell(new ConversationsActor.UserMessage("a", "slow later", later.getRef()));
    assertEquals("echo:slow later", assertInstanceOf(RouteResult.Answered.class, later.expectMessageClass(RouteResult.class, WAIT)).text());
    inFlight.awaitAssert(WAIT, () -> {
      assertTrue(router.log.contains("reply:hold this"));
      return null;
    });
    inFlight.expectNoMessage(Duration.ofMillis(300));
    queued.expectNoMessage(Duration.ofMillis(10));
    later.expectNoMessage(Duration.ofMillis(10));
  }

  @Test
  void anyConversationIdIsAccepted() {
    StubRouter router = new StubRouter(kit);
    ActorRef<ConversationsActor.Command> conversations = kit.spawn(ConversationsActor.create(router.ref, SETTINGS));
    String odd = "http:a b/c?d=é&$x#1";

    assertEquals("echo:hi", reply(conversations, odd, "hi"));
    assertEquals("echo:hi", reply(conversations, "", "hi"));
    TestProbe<Set<String>> active = kit.createTestProbe();
    conversations.tell(new ConversationsActor.GetActive(active.getRef()));
    assertEquals(Set.of(odd, ""), active.receiveMessage(WAIT));
  }

  @Test
  void withTheRealRouterABackupAnswersAndTheHistoryKeepsItsReply() {
    StubProvider primary = StubProvider.spawn(kit, "primary",
        call -> StubProvider.failure("primary", OutcomeKind.OUT_OF_CREDITS, 402, "insufficient credits"));
    StubProvider backup = StubProvider.spawn(kit, "backup", call -> StubProvider.success("backup", "answer " + call));
    ActorRef<RouterActor.Command> router =
        kit.spawn(RouterActor.create(List.of(primary.handle(1), backup.handle(2)), RouterSettings.DEFAULT));
    ActorRef<ConversationsActor.Command> conversations = kit.spawn(ConversationsActor.create(router, SETTINGS));

    RouteResult.Answered first = assertInstanceOf(RouteResult.Answered.class, say(conversations, "http:x", "hello"));
    assertEquals("backup", first.provider());
    reply(conversations, "http:x", "again");

    assertEquals(
        List.of(ChatMessage.system("Be brief."), ChatMessage.user("hello"), ChatMessage.assistant("answer 1"), ChatMessage.user("again")),
        backup.requests.get(1).messages());
    assertEquals(2, primary.calls.get());
  }

  /** A conversation owned by {@code owner} (no {@link ConversationsActor}), idle after {@code idleTimeout}. */
  private static ActorRef<ConversationActor.Command> ownedBy(
      TestProbe<ConversationActor.ToOwner> owner, String id, Duration idleTimeout) {
    ConversationSettings quick = ConversationSettings.of(20, idleTimeout, Optional.empty(), Duration.ofSeconds(30));
    ActorRef<ConversationActor.Command> conversation =
        kit.spawn(ConversationActor.create(id, new StubRouter(kit).ref, quick, owner.getRef()));
    assertEquals(new ConversationActor.Ready(id, conversation), owner.expectMessageClass(ConversationActor.Ready.class, WAIT));
    return conversation;
  }

  @Test
  void theIdleTimeCountsFromTheLastAnswerNotFromTheFirstMessage() {
    TestProbe<ConversationActor.ToOwner> owner = kit.createTestProbe();
    TestProbe<RouteResult> probe = kit.createTestProbe();
    ActorRef<ConversationActor.Command> conversation = ownedBy(owner, "http:busy", Duration.ofSeconds(1));

    long lastAnswer = 0;
    for (int i = 1; i <= 4; i++) {
      owner.expectNoMessage(Duration.ofMillis(300)); // 1.2 s in all: past the idle-timeout, but never 1 s idle
      conversation.tell(new ConversationActor.Message("turn " + i, probe.getRef()));
      assertInstanceOf(RouteResult.Answered.class, probe.expectMessageClass(RouteResult.class, WAIT));
      lastAnswer = System.nanoTime();
    }

    assertEquals(new ConversationActor.Idle("http:busy", conversation), owner.expectMessageClass(ConversationActor.Idle.class, WAIT));
    long idleFor = System.nanoTime() - lastAnswer;
    assertTrue(idleFor >= Duration.ofSeconds(1).toNanos(), "idle after only " + idleFor / 1_000_000 + " ms");
  }

  @Test
  void anIdleConversationFinishesWhatArrivedBeforeItsStop() {
    TestProbe<ConversationActor.ToOwner> owner = kit.createTestProbe();
    TestProbe<RouteResult> probe = kit.createTestProbe();
    ActorRef<ConversationActor.Command> conversation = ownedBy(owner, "http:edge", Duration.ofMillis(200));

    ConversationActor.Idle idle = owner.expectMessageClass(ConversationActor.Idle.class, WAIT);
    assertEquals(new ConversationActor.Idle("http:edge", conversation), idle);
    conversation.tell(new ConversationActor.Message("slow edge", probe.getRef()));
    conversation.tell(ConversationActor.Stop.INSTANCE);

    assertEquals("echo:slow edge", assertInstanceOf(RouteResult.Answered.class, probe.expectMessageClass(RouteResult.class, WAIT)).text());
    probe.expectTerminated(conversation, WAIT);
  }

  @Test
  void theStoreHoldsTheTurnsAResetClearsThemAndALongChatKeepsFewEvents() {
    StubRouter router = new StubRouter(kit);
    ConversationSettings four = ConversationSettings.of(4, Duration.ofMinutes(5), Optional.empty(), Duration.ofSeconds(30));
    ActorRef<ConversationsActor.Command> conversations = kit.spawn(ConversationsActor.create(router.ref, four));
    TestProbe<ConversationActor.Turns> history = kit.createTestProbe();

    conversations.tell(new ConversationsActor.GetHistory("http:stored", history.getRef()));
    assertEquals(List.of(), history.receiveMessage(WAIT).messages(), "never seen: no history");
    for (int i = 1; i <= 9; i++) {
      reply(conversations, "http:stored", "turn " + i);
    }
    conversations.tell(new ConversationsActor.GetHistory("http:stored", history.getRef()));
    assertEquals(
        List.of(ChatMessage.user("turn 8"), ChatMessage.assistant("echo:turn 8"), ChatMessage.user("turn 9"),
            ChatMessage.assistant("echo:turn 9")),
        history.receiveMessage(WAIT).messages(), "the last history-length messages");
    PersistenceTestKit store = PersistenceTestKit.create(kit.system());
    String pid = ConversationActor.persistenceId("http:stored").id();
    history.awaitAssert(WAIT, () -> {
      // a snapshot every 2 turns (history-length / 2), two kept: at most 3 x 2 events stay
      assertTrue(store.persistedInStorage(pid).size() <= 6, "events behind the snapshots are deleted: "
          + store.persistedInStorage(pid));
      return null;
    });

    TestProbe<ConversationsActor.Done> done = kit.createTestProbe();
    conversations.tell(new ConversationsActor.Reset("http:stored", done.getRef()));
    done.expectMessage(WAIT, ConversationsActor.Done.INSTANCE);
    ActorRef<ConversationsActor.Command> restarted = kit.spawn(ConversationsActor.create(router.ref, four));
    restarted.tell(new ConversationsActor.GetHistory("http:stored", history.getRef()));
    assertEquals(List.of(), history.receiveMessage(WAIT).messages(), "the reset is stored: a new incarnation starts empty");
  }
}
