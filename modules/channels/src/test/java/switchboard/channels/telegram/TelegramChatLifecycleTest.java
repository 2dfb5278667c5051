package switchboard.channels.telegram;

import switchboard.channels.Channel;
import switchboard.testkit.faults.Crashable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import switchboard.testkit.telegram.FakeBotApi;
import switchboard.testkit.telegram.FakeBotApi.SentMessage;
import switchboard.router.ConversationsActor;

/**
 * A chat's actor lives while the chat has something to answer: once idle for
 * {@code chat-idle-timeout} it goes, so memory is bounded by the active chats, and the chat's next
 * message gets a new actor with nothing lost. While an answer is produced the chat shows "typing".
 */
class TelegramChatLifecycleTest {
  private static final Duration WAIT = Duration.ofSeconds(240);
  /** The store's ledger runs on Pekko's in-memory journal here, so 10,000 answers need no 10,000 fsyncs. */
  private static final ActorTestKit testKit =
      ActorTestKit.create("telegram-chat-lifecycle-test", ConfigFactory.parseString(
          "pekko.log-dead-letters = off\n"
              + "pekko.persistence.journal.plugin = \"pekko.persistence.journal.inmem\"\n"
              + "pekko.persistence.snapshot-store.plugin = \"pekko.persistence.snapshot-store.local\"\n"
              + "pekko.persistence.snapshot-store.local.dir = \""
              + System.getProperty("java.io.tmpdir").replace("\\", "/") + "/telegram-lifecycle-snapshots-"
              + ProcessHandle.current().pid() + "\"\n"));

  /**
   * Left to the end of the class: a journal write queued just before a test stops its channel may
   * still land after the test, so the directories go once the actor system (and its IO) has ended.
   */
  @TempDir(cleanup = CleanupMode.NEVER) Path dataDir;
  private static final List<Path> DATA_DIRS = new java.util.concurrent.CopyOnWriteArrayList<>();
  private FakeBotApi api;
  private ActorRef<Channel.Command> channel;

  @BeforeEach
  void startApi() {
    DATA_DIRS.add(dataDir);
    api = FakeBotApi.start();
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

  private TelegramConfig config(int maxPending, Duration idle) {
    return new TelegramConfig(
        true, api.token(), api.baseUrl(), maxPending, "busy", Set.of(),
        Duration.ofSeconds(1), Duration.ofMillis(100), Duration.ofMillis(400)).withChatIdleTimeout(idle);
  }

  private ActorRef<ConversationsActor.Command> echo() {
    ActorRef<ConversationsActor.Command> ignore = testKit.spawn(Behaviors.ignore());
    return testKit.spawn(StubConversations.create(ignore, StubConversations::script, Duration.ZERO));
  }

  private int chatActors() {
    TestProbe<Integer> probe = testKit.createTestProbe();
    channel.tell(new TelegramChannel.CountChats(probe.ref()));
    return probe.receiveMessage(Duration.ofSeconds(10));
  }

  private void awaitChatActors(int expected) {
    TestProbe<Integer> probe = testKit.createTestProbe();
    probe.awaitAssert(WAIT, Duration.ofMillis(50), () -> {
      assertEquals(expected, chatActors());
      return null;
    });
  }

  @Test
  void tenThousandChatsThatWentIdleLeaveNoChatActorsBehind() {
    int chats = 10_000;
    ActorRef<TelegramLedger.Command> ledger = testKit.spawn(TelegramLedger.create());
    channel = testKit.spawn(TelegramChannel.create(config(chats + 10, Duration.ofMillis(500)), echo(), dataDir,
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), Duration.ofMinutes(2), Optional.of(ledger)));
    for (long chat = 1; chat <= chats; chat++) {
      api.userSays(chat, "hello from " + chat);
    }
    TestProbe<Integer> probe = testKit.createTestProbe();
    probe.awaitAssert(WAIT, Duration.ofMillis(200), () -> {
      assertEquals(chats, api.sent().size());
      return null;
    });
    List<SentMessage> sent = api.sent();
    assertEquals(chats, sent.stream().map(SentMessage::chatId).collect(Collectors.toSet()).size(), "one reply per chat");
    assertTrue(sent.stream().allMatch(m -> m.text().equals("echo: hello from " + m.chatId())));
    awaitChatActors(0);
  }

  @Test
  void aChatWhoseActorWentIsAnsweredAgainWithNothingLost() {
    channel = testKit.spawn(TelegramChannel.create(config(10, Duration.ofMillis(300)), echo(), dataDir));
    long u1 = api.userSays(5, "one");
    assertEquals(1, api.awaitSentTo(5, 1, WAIT).size());
    awaitChatActors(0);
    long u2 = api.userSays(5, "two");
    long u3 = api.userSays(5, "three");
    assertEquals(
        List.of(new SentMessage(5, "echo: one", Optional.of(api.messageIdOf(u1))),
            new SentMessage(5, "echo: two", Optional.of(api.messageIdOf(u2))),
            new SentMessage(5, "echo: three", Optional.of(api.messageIdOf(u3)))),
        api.awaitSentTo(5, 3, WAIT));
  }

  @Test
  void theChatShowsTypingWhileItsAnswerIsProduced() {
    TestProbe<ConversationsActor.Command> held = testKit.createTestProbe();
    channel = testKit.spawn(TelegramChannel.create(config(10, Duration.ofMinutes(10)), held.ref(), dataDir));
    api.userSays(7, "think hard");
    ConversationsActor.UserMessage question = held.expectMessageClass(ConversationsActor.UserMessage.class, WAIT);
    held.awaitAssert(WAIT, () -> {
      assertEquals(List.of("typing"), api.chatActions(7));
      return null;
    });
    assertEquals(0, api.sentTo(7).size(), "typing comes before the answer");
    question.replyTo().tell(StubConversations.answered("done thinking"));
    assertEquals("done thinking", api.awaitSentTo(7, 1, WAIT).get(0).text());
    assertEquals(1, chatActors(), "an active chat keeps its actor");
  }
}
