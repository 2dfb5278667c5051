package switchboard.channels.telegram;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import switchboard.testkit.telegram.FakeBotApi;
import switchboard.testkit.telegram.FakeBotApi.SentMessage;
import switchboard.router.ConversationsActor;

/**
 * Whole actor systems stopped and started again on the same data dir, as a process restart does:
 * what was being answered is answered after the restart, and exactly once.
 */
class TelegramRestartTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dataDir;
  private FakeBotApi api;
  private ActorTestKit system;

  @BeforeEach
  void startApi() {
    api = FakeBotApi.start();
  }

  @AfterEach
  void stop() {
    if (system != null) {
      system.shutdownTestKit();
    }
    api.close();
  }

  private ActorTestKit newSystem() {
    return ActorTestKit.create("telegram-restart", ConfigFactory.parseString("pekko.log-dead-letters = off"));
  }

  private void startChannel(ActorTestKit kit, ActorRef<ConversationsActor.Command> conversations) {
    TelegramConfig config =
        new TelegramConfig(
            true, api.token(), api.baseUrl(), 10, "busy", Set.of(),
            Duration.ofSeconds(1), Duration.ofMillis(100), Duration.ofMillis(400));
    kit.spawn(TelegramChannel.create(config, conversations, dataDir), "telegram");
  }

  private ActorRef<ConversationsActor.Command> echo(ActorTestKit kit, TestProbe<ConversationsActor.Command> seen) {
    return kit.spawn(StubConversations.create(seen.ref(), StubConversations::script, Duration.ZERO));
  }

  private SentMessage reply(long chatId, String text, long updateId) {
    return new SentMessage(chatId, text, Optional.of(api.messageIdOf(updateId)));
  }

  @Test
  void aMessageBeingAnsweredWhenTheSystemStopsIsAnsweredOnceAfterTheRestart() {
    system = newSystem();
    TestProbe<ConversationsActor.Command> slow = system.createTestProbe();
    startChannel(system, slow.ref());
    long u = api.userSays(1, "answer me across a restart");
    // The conversation has the message and is slow to answer; the process stops now.
    slow.expectMessageClass(ConversationsActor.UserMessage.class, WAIT);
    system.shutdownTestKit();

    system = newSystem();
    TestProbe<ConversationsActor.Command> seen = system.createTestProbe();
    startChannel(system, echo(system, seen));
    assertEquals(List.of(reply(1, "echo: answer me across a restart", u)), api.awaitSentTo(1, 1, WAIT));

    long next = api.userSays(1, "and the next one");
    assertEquals(
        List.of(reply(1, "echo: answer me across a restart", u), reply(1, "echo: and the next one", next)),
        api.awaitSentTo(1, 2, WAIT));
    assertEquals(2, api.sent().size());
  }

  @Test
  void anAnsweredUpdateDeliveredAgainAfterARestartIsNotAnsweredAgain() {
    system = newSystem();
    TestProbe<ConversationsActor.Command> seen = system.createTestProbe();
    startChannel(system, echo(system, seen));
    long u = api.userSays(2, "first");
    api.awaitSentTo(2, 1, WAIT);
    // Stopping between Telegram taking the answer and the journal recording it would answer again
    // after the restart (at-least-once at that one point): wait until the answer is recorded.
    seen.awaitAssert(
        WAIT,
        () -> {
          assertTrue(Files.readString(dataDir.resolve("telegram/journal.jsonl")).contains("{\"done\":" + u + "}"));
          return null;
        });
    system.shutdownTestKit();

    // Telegram did not hear the confirmation before the stop and delivers the update again.
    api.redeliver(u);
    system = newSystem();
    TestProbe<ConversationsActor.Command> seenAgain = system.createTestProbe();
    startChannel(system, echo(system, seenAgain));
    long next = api.userSays(2, "second");

    assertEquals(
        List.of(reply(2, "echo: first", u), reply(2, "echo: second", next)), api.awaitSentTo(2, 2, WAIT));
    assertEquals(
        "second", seenAgain.expectMessageClass(ConversationsActor.UserMessage.class, WAIT).text());
    assertEquals(2, api.sent().size());
  }
}
