package switchboard.channels.telegram;

import switchboard.channels.Channel;
import switchboard.testkit.faults.Crashable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import switchboard.channels.ChannelStatus;
import switchboard.testkit.telegram.FakeBotApi;
import switchboard.testkit.telegram.FakeBotApi.SentMessage;
import switchboard.router.ConversationsActor;

/** The Telegram channel against the fake Bot API, with a stub ConversationsActor. */
class TelegramChannelTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String BUSY = "Busy here, try again soon.";
  private static final ActorTestKit testKit =
      ActorTestKit.create("telegram-channel-test", ConfigFactory.parseString("pekko.log-dead-letters = off"));

  /**
   * Left to the end of the class: a journal write queued just before a test stops its channel may
   * still land after the test, so the directories go once the actor system (and its IO) has ended.
   */
  @TempDir(cleanup = CleanupMode.NEVER) Path dataDir;
  private static final List<Path> DATA_DIRS = new java.util.concurrent.CopyOnWriteArrayList<>();
  private FakeBotApi api;
  private ActorRef<Channel.Command> channel;
  private TestProbe<ConversationsActor.Command> seen;

  @BeforeEach
  void startApi() {
    DATA_DIRS.add(dataDir);
    api = FakeBotApi.start();
    seen = testKit.createTestProbe();
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      testKit.stop(channel, Duration.ofSeconds(10));
    }
    api.close();
  }

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
    DATA_DIRS.forEach(TelegramChannelTest::deleteQuietly);
  }

  /** Deletes a test's directory once nothing writes to it any more; what cannot be deleted stays. */
  static void deleteQuietly(Path dir) {
    try (java.util.stream.Stream<Path> paths = java.nio.file.Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      // a temp directory left behind is harmless
    }
  }

  private TelegramConfig config(int maxPending, Set<Long> allowed) {
    return new TelegramConfig(
        true, api.token(), api.baseUrl(), maxPending, BUSY, allowed,
        Duration.ofSeconds(1), Duration.ofMillis(100), Duration.ofMillis(400));
  }

  private ActorRef<ConversationsActor.Command> echo() {
    return testKit.spawn(StubConversations.create(seen.ref(), StubConversations::script, Duration.ZERO));
  }

  private void start(TelegramConfig config, ActorRef<ConversationsActor.Command> conversations) {
    channel = testKit.spawn(TelegramChannel.create(config, conversations, dataDir));
  }

  private ChannelStatus status() {
    TestProbe<ChannelStatus> probe = testKit.createTestProbe();
    channel.tell(new Channel.GetStatus(probe.ref()));
    return probe.receiveMessage(Duration.ofSeconds(5));
  }

  private SentMessage reply(long chatId, String text, long updateId) {
    return new SentMessage(chatId, text, Optional.of(api.messageIdOf(updateId)));
  }

  private void eventually(Runnable assertion) {
    seen.awaitAssert(
        WAIT,
        () -> {
          assertion.run();
          return null;
        });
  }

  private ConversationsActor.UserMessage nextUserMessage(TestProbe<ConversationsActor.Command> probe) {
    return probe.expectMessageClass(ConversationsActor.UserMessage.class, WAIT);
  }

  @Test
  void threeChatsEachGetExactlyOneReply() {
    start(config(10, Set.of()), echo());
    long u1 = api.userSays(1, "hello one");
    long u2 = api.userSays(2, "hello two");
    long u3 = api.userSays(3, "hello three");

    assertEquals(List.of(reply(1, "echo: hello one", u1)), api.awaitSentTo(1, 1, WAIT));
    assertEquals(List.of(reply(2, "echo: hello two", u2)), api.awaitSentTo(2, 1, WAIT));
    assertEquals(List.of(reply(3, "echo: hello three", u3)), api.awaitSentTo(3, 1, WAIT));
    Set<String> conversations =
        seen.receiveSeveralMessages(3, WAIT).stream()
            .map(m -> ((ConversationsActor.UserMessage) m).conversationId())
            .collect(Collectors.toSet());
    assertEquals(Set.of("telegram:1", "telegram:2", "telegram:3"), conversations);

    long u4 = api.userSays(1, "again");
    assertEquals(List.of(reply(1, "echo: hello one", u1), reply(1, "echo: again", u4)), api.awaitSentTo(1, 2, WAIT));
    assertEquals(4, api.sent().size());
    assertEquals(1, api.calls("deletewebhook"));
  }

  @Test
  void outOfCreditsTextReachesItsChatAndPollingGoesOn() {
    start(config(10, Set.of()), echo());
    long u1 = api.userSays(10, "credits please");
    assertEquals(List.of(reply(10, StubConversations.OUT_OF_CREDITS, u1)), api.awaitSentTo(10, 1, WAIT));

    long u2 = api.userSays(11, "still there?");
    assertEquals(List.of(reply(11, "echo: still there?", u2)), api.awaitSentTo(11, 1, WAIT));
    assertEquals(1, api.sentTo(10).size());
  }

  @Test
  void beyondMaxPendingTheMessageGetsTheBusyReplyAtOnce() {
    TestProbe<ConversationsActor.Command> held = testKit.createTestProbe();
    start(config(2, Set.of()), held.ref());
    api.userSays(21, "first");
    api.userSays(22, "second");
    long u3 = api.userSays(23, "third");
    ConversationsActor.UserMessage first = nextUserMessage(held);
    ConversationsActor.UserMessage second = nextUserMessage(held);

    // The two accepted messages are still unanswered: the busy reply does not wait for them.
    assertEquals(List.of(reply(23, BUSY, u3)), api.awaitSentTo(23, 1, WAIT));
    assertTrue(api.sentTo(21).isEmpty() && api.sentTo(22).isEmpty());
    ChannelStatus busy = status();
    assertEquals(2, busy.pending());
    assertEquals(2, busy.maxPending());
    assertEquals(1, busy.busyReplies());

    // The two chats ask concurrently: answer each with the text of its own message.
    first.replyTo().tell(StubConversations.answered("answer to " + first.text()));
    second.replyTo().tell(StubConversations.answered("answer to " + second.text()));
    assertEquals("answer to first", api.awaitSentTo(21, 1, WAIT).get(0).text());
    assertEquals("answer to second", api.awaitSentTo(22, 1, WAIT).get(0).text());
    eventually(() -> assertEquals(0, status().pending()));

    // The busy message never reached the conversations; the next one does.
    api.userSays(23, "fourth");
    assertEquals("fourth", nextUserMessage(held).text());
  }

  /**
   * Found by {@code switchboard chaos}: an update taken during a SIGTERM's drain was asked, cut short
   * by the stopping conversation ("internal error"), and answered again after the restart.
   */
  @Test
  void aDrainTakesNoNewUpdatesAndTheyAreAnsweredOnceAfterTheRestart() {
    TestProbe<ConversationsActor.Command> held = testKit.createTestProbe();
    start(config(10, Set.of()), held.ref());
    long u1 = api.userSays(31, "before the drain");
    ConversationsActor.UserMessage first = nextUserMessage(held);
    TestProbe<Channel.Drained> drained = testKit.createTestProbe();
    channel.tell(new Channel.Drain(Duration.ofSeconds(10), drained.ref()));
    long u2 = api.userSays(32, "during the drain");
    held.expectNoMessage(Duration.ofMillis(1500));
    first.replyTo().tell(StubConversations.answered("answer to " + first.text()));
    assertEquals(new Channel.Drained("telegram", 0), drained.receiveMessage(WAIT));
    assertEquals(List.of(reply(31, "answer to before the drain", u1)), api.awaitSentTo(31, 1, WAIT));
    assertTrue(api.sentTo(32).isEmpty());
    assertEquals("draining", status().state());

    testKit.stop(channel, Duration.ofSeconds(10));
    start(config(10, Set.of()), echo());
    assertEquals(List.of(reply(32, "echo: during the drain", u2)), api.awaitSentTo(32, 1, WAIT));
    assertEquals(1, api.sentTo(31).size(), "the answered update is not answered again");
  }

  @Test
  void metricsCountAnswersByOutcomeBusyRepliesAndPendingMessages() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    TestProbe<ConversationsActor.Command> held = testKit.createTestProbe();
    channel = testKit.spawn(TelegramChannel.create(config(2, Set.of()), held.ref(), dataDir, registry, Duration.ofSeconds(30)));
    eventually(() -> assertTrue(registry.scrape().contains("switchboard_pending_messages{channel=\"telegram\"} 0.0")));
    api.userSays(101, "hello");
    api.userSays(102, "credits please");
    ConversationsActor.UserMessage first = nextUserMessage(held);
    ConversationsActor.UserMessage second = nextUserMessage(held);
    api.userSays(103, "one too many");
    api.awaitSentTo(103, 1, WAIT);
    eventually(() -> assertTrue(registry.scrape().contains("switchboard_pending_messages{channel=\"telegram\"} 2.0")));

    // A command asks no provider and is not counted as a request.
    api.userSays(104, "/start");
    api.awaitSentTo(104, 1, WAIT);
    first.replyTo().tell(StubConversations.script(first.text()));
    second.replyTo().tell(StubConversations.script(second.text()));
    api.awaitSentTo(101, 1, WAIT);
    assertEquals(StubConversations.OUT_OF_CREDITS, api.awaitSentTo(102, 1, WAIT).get(0).text());

    eventually(
        () -> {
          String scrape = registry.scrape();
          assertTrue(scrape.contains("switchboard_requests_total{channel=\"telegram\",outcome=\"ok\"} 1.0"), scrape);
          assertTrue(
              scrape.contains("switchboard_requests_total{channel=\"telegram\",outcome=\"out_of_credits\"} 1.0"), scrape);
          assertTrue(scrape.contains("switchboard_requests_total{channel=\"telegram\",outcome=\"busy\"} 1.0"), scrape);
          assertTrue(scrape.contains("switchboard_busy_replies_total{channel=\"telegram\"} 1.0"), scrape);
          assertTrue(scrape.contains("switchboard_request_seconds_count{channel=\"telegram\"} 3"), scrape);
          assertTrue(scrape.contains("switchboard_pending_messages{channel=\"telegram\"} 0.0"), scrape);
        });
    assertEquals(
        3,
        registry.scrape().lines().filter(l -> l.startsWith("switchboard_requests_total{channel=\"telegram\"")).count());
  }

  @Test
  void chatsOutsideAllowedChatIdsGetNothingAndCauseNoConversationMessage() {
    start(config(10, Set.of(31L)), echo());
    api.userSays(32, "let me in");
    long allowed = api.userSays(31, "member here");

    assertEquals(List.of(reply(31, "echo: member here", allowed)), api.awaitSentTo(31, 1, WAIT));
    assertEquals("telegram:31", ((ConversationsActor.UserMessage) seen.receiveMessage(WAIT)).conversationId());
    seen.expectNoMessage(Duration.ofMillis(300));
    assertTrue(api.sentTo(32).isEmpty());
  }

  @Test
  void conflictBadGatewayAndGarbageDelayAnswersButLoseNone() {
    api.failNext(409, 3);
    api.failNext(502, 3);
    api.garbageNext(2);
    start(config(10, Set.of()), echo());
    long u1 = api.userSays(41, "during the outage");
    long u2 = api.userSays(42, "me too");

    assertEquals(List.of(reply(41, "echo: during the outage", u1)), api.awaitSentTo(41, 1, WAIT));
    assertEquals(List.of(reply(42, "echo: me too", u2)), api.awaitSentTo(42, 1, WAIT));
    assertTrue(api.calls("getupdates") >= 9, "every failed poll was retried");
    long u3 = api.userSays(41, "after");
    assertEquals(reply(41, "echo: after", u3), api.awaitSentTo(41, 2, WAIT).get(1));
    assertEquals(3, api.sent().size());
  }

  @Test
  void statusShowsRetryingWithTheLastErrorThenPollingAgain() {
    api.failUntilHealed(409);
    start(config(10, Set.of()), echo());
    eventually(
        () -> {
          ChannelStatus s = status();
          assertEquals("retrying", s.state());
          assertTrue(s.lastError().orElse("").contains("409"), s.lastError().toString());
        });
    assertFalse(status().lastError().orElse("").contains(api.token()));
    long u = api.userSays(45, "hello?");
    api.heal();
    assertEquals(List.of(reply(45, "echo: hello?", u)), api.awaitSentTo(45, 1, WAIT));
    ChannelStatus s = status();
    assertEquals("polling", s.state());
    assertEquals(Optional.empty(), s.lastError());
    assertEquals("telegram", s.name());
  }

  @Test
  void anUpdateDeliveredTwiceIsAnsweredOnce() {
    start(config(10, Set.of()), echo());
    long u1 = api.userSays(51, "once");
    api.awaitSentTo(51, 1, WAIT);
    api.redeliver(u1);
    long u2 = api.userSays(51, "later");

    assertEquals(List.of(reply(51, "echo: once", u1), reply(51, "echo: later", u2)), api.awaitSentTo(51, 2, WAIT));
    assertEquals("once", nextUserMessage(seen).text());
    assertEquals("later", nextUserMessage(seen).text());
    assertEquals(2, api.sentTo(51).size());
  }

  @Test
  void longRepliesAreSplitIntoSeveralMessages() {
    start(config(10, Set.of()), echo());
    long u = api.userSays(55, "long 10000");
    List<SentMessage> parts = api.awaitSentTo(55, 3, WAIT);
    assertEquals(3, parts.size());
    parts.forEach(p -> assertTrue(p.text().length() <= 4096, "part of " + p.text().length()));
    parts.forEach(p -> assertEquals(Optional.of(api.messageIdOf(u)), p.replyTo()));
    assertEquals(StubConversations.longText(10000), parts.stream().map(SentMessage::text).collect(Collectors.joining()));
  }

  @Test
  void newClearsTheHistoryAndStartGreetsWithoutAProviderCall() {
    start(config(10, Set.of()), echo());
    long start = api.userSays(61, "/start");
    long reset = api.userSays(61, "/new@switchboard_test_bot");
    assertEquals(
        List.of(reply(61, TelegramChannel.GREETING, start), reply(61, TelegramChat.RESET_REPLY, reset)),
        api.awaitSentTo(61, 2, WAIT));
    ConversationsActor.Reset r = seen.expectMessageClass(ConversationsActor.Reset.class, WAIT);
    assertEquals("telegram:61", r.conversationId());

    api.userSays(61, "fresh start");
    assertEquals("fresh start", nextUserMessage(seen).text());
    api.awaitSentTo(61, 3, WAIT);
  }

  @Test
  void nonTextMessagesGetAShortNoteAndEditsAreIgnored() {
    start(config(10, Set.of()), echo());
    long sticker = api.sendSticker(71);
    long text = api.userSays(71, "words");
    api.userEdits(71, text, "edited words");
    long last = api.userSays(71, "more words");

    assertEquals(
        List.of(
            reply(71, TelegramChannel.NON_TEXT_REPLY, sticker),
            reply(71, "echo: words", text),
            reply(71, "echo: more words", last)),
        api.awaitSentTo(71, 3, WAIT));
    assertEquals("words", nextUserMessage(seen).text());
    assertEquals("more words", nextUserMessage(seen).text());
  }

  @Test
  void repliesLeaveInArrivalOrderEvenWhenTheSecondAnswerComesBackFirst() {
    start(config(10, Set.of()), testKit.spawn(StubConversations.answeringSecondFirst(seen.ref(), Duration.ofMillis(300))));
    long first = api.userSays(73, "first");
    assertEquals("first", nextUserMessage(seen).text());
    long second = api.userSays(73, "second");
    assertEquals("second", nextUserMessage(seen).text());
    long sticker = api.sendSticker(73);

    assertEquals(
        List.of(
            reply(73, "echo: first", first),
            reply(73, "echo: second", second),
            reply(73, TelegramChannel.NON_TEXT_REPLY, sticker)),
        api.awaitSentTo(73, 3, WAIT));
    eventually(() -> assertEquals(0, status().pending()));
  }

  @Test
  void failedSendsAreRetriedAndA400IsGivenUp() {
    start(config(10, Set.of()), echo());
    api.failNextSends(502, 2);
    long u = api.userSays(81, "retry me");
    assertEquals(List.of(reply(81, "echo: retry me", u)), api.awaitSentTo(81, 1, WAIT));
    assertTrue(api.calls("sendmessage") >= 3);

    api.chatNotFound(82);
    api.userSays(82, "nobody home");
    long fine = api.userSays(83, "fine");
    assertEquals(List.of(reply(83, "echo: fine", fine)), api.awaitSentTo(83, 1, WAIT));
    eventually(() -> assertEquals(0, status().pending()));
    assertTrue(api.sentTo(82).isEmpty());
  }

  @Test
  void anAdminNoticeGoesToTheAdminChatWhenOneIsSet() {
    start(config(10, Set.of()).withAdminChat(Optional.of(91L)), echo());
    channel.tell(new Channel.AdminNotice("provider primary is out of credits"));
    assertEquals(
        List.of(new SentMessage(91, "provider primary is out of credits", Optional.empty())),
        api.awaitSentTo(91, 1, WAIT));
  }

  @Test
  void notifySendsATextToAChat() {
    start(config(10, Set.of()), echo());
    channel.tell(new TelegramChannel.Notify(91, "provider primary is out of credits"));
    assertEquals(
        List.of(new SentMessage(91, "provider primary is out of credits", Optional.empty())),
        api.awaitSentTo(91, 1, WAIT));
  }

  @Test
  void aCrashedChannelIsRestartedAndAnswersWhatWasPendingOnce() {
    TestProbe<ConversationsActor.Command> held = testKit.createTestProbe();
    channel =
        testKit.spawn(
            Behaviors.supervise(Crashable.wrap(TelegramChannel.create(config(10, Set.of()), held.ref(), dataDir)))
                .onFailure(SupervisorStrategy.restart()));
    long u = api.userSays(96, "pending during the crash");
    ConversationsActor.UserMessage before = nextUserMessage(held);

    Crashable.crash(channel);
    ConversationsActor.UserMessage replayed = nextUserMessage(held);
    assertEquals("pending during the crash", replayed.text());
    before.replyTo().tell(StubConversations.answered("answer to the dead incarnation"));
    replayed.replyTo().tell(StubConversations.answered("the answer"));
    assertEquals(List.of(reply(96, "the answer", u)), api.awaitSentTo(96, 1, WAIT));

    long after = api.userSays(96, "after the crash");
    ConversationsActor.UserMessage next = nextUserMessage(held);
    assertEquals("after the crash", next.text());
    next.replyTo().tell(StubConversations.answered("still polling"));
    assertEquals(
        List.of(reply(96, "the answer", u), reply(96, "still polling", after)), api.awaitSentTo(96, 2, WAIT));
  }

  @Test
  void splitKeepsSurrogatePairsAndPrefersWordBoundaries() {
    String emoji = "\uD83D\uDE00";
    String text = "a".repeat(4095) + emoji + "b";
    List<String> parts = switchboard.channels.Replies.split(text, 4096);
    assertEquals(List.of("a".repeat(4095), emoji + "b"), parts);

    List<String> words = switchboard.channels.Replies.split("x".repeat(3000) + " " + "y".repeat(3000), 4096);
    assertEquals(List.of("x".repeat(3000) + " ", "y".repeat(3000)), words);
    assertEquals(List.of("short"), switchboard.channels.Replies.split("short", 4096));
  }
}
