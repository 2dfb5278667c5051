package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.supervision.TestGateway.provider;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import switchboard.testkit.telegram.FakeBotApi;
import switchboard.testkit.telegram.FakeBotApi.SentMessage;
import switchboard.providers.fake.FakeProviderServer.Step;

/**
 * The Telegram channel inside the whole gateway (real router, conversations and provider actors)
 * against a stand-in Bot API and stand-in providers: every message gets exactly one answer, a 402
 * reaches its chat as the contract's text, and the bot keeps polling after provider failures.
 */
@Timeout(60)
class TelegramEndToEndTest extends TwoProviderTest {
  static final Duration WAIT = Duration.ofSeconds(15);
  static final String OUT_OF_CREDITS =
      "Provider primary returned 402: insufficient credits. Please top up your balance and try again.";

  FakeBotApi telegram;

  @BeforeEach
  void startTelegram() {
    telegram = FakeBotApi.start();
  }

  @AfterEach
  void stopTelegram() {
    telegram.close();
  }

  private String telegramOn(String more) {
    return "channels.telegram { enabled = true, token = \"" + telegram.token() + "\", base-url = \""
        + telegram.baseUrl() + "\", poll-timeout = 1s" + (more.isEmpty() ? "" : ", " + more) + " }";
  }

  @Test
  void aChatWhoseOnlyProviderIsOutOfCreditsGetsThe402TextAndOtherChatsAreStillAnswered() throws Exception {
    primary.setDefault(Step.status(402));
    try (TestGateway gw = TestGateway.start(dir, List.of(provider("primary", 1, primary, "")), telegramOn(""))) {
      telegram.userSays(100, "hello");
      List<SentMessage> first = telegram.awaitSentTo(100, 1, WAIT);
      assertEquals(OUT_OF_CREDITS, first.get(0).text());
      assertTrue(first.get(0).replyTo().isPresent(), "answers reply to the user's message");

      telegram.userSays(200, "anyone there?");
      assertEquals(OUT_OF_CREDITS, telegram.awaitSentTo(200, 1, WAIT).get(0).text());
      assertEquals(1, primary.calls().size(), "the open breaker spared the second paid call");

      primary.setDefault(Step.ok("back in business"));
      gw.gateway.children().providers().get("primary").tell(
          new switchboard.providers.ProviderActor.Reset(Optional.empty(), "http", gw.gateway.system().ignoreRef()));
      telegram.userSays(300, "and now?");
      assertEquals("back in business", telegram.awaitSentTo(300, 1, WAIT).get(0).text());
      assertEquals(1, telegram.sentTo(100).size(), "exactly one answer per message");
      assertEquals(1, telegram.sentTo(200).size());
    }
  }

  @Test
  void aFallbackAnswersTelegramAndTheConversationKeepsItsHistory() throws Exception {
    primary.enqueue(Step.status(402));
    backup.setDefault(Step.ok("from the backup"));
    try (TestGateway gw = gateway("", telegramOn(""))) {
      telegram.userSays(42, "my name is Ada");
      assertEquals("from the backup", telegram.awaitSentTo(42, 1, WAIT).get(0).text());
      telegram.userSays(42, "what is my name?");
      telegram.awaitSentTo(42, 2, WAIT);

      assertEquals(1, primary.calls().size());
      assertEquals(2, backup.calls().size());
      String second = backup.calls().get(1).body();
      assertTrue(second.contains("my name is Ada") && second.contains("what is my name?"),
          "the second request carries the conversation's history: " + second);
    }
  }

  @Test
  void chatsOutsideTheAllowListGetNothingAndCostNoCall() throws Exception {
    try (TestGateway gw = gateway("", telegramOn("allowed-chat-ids = [7]"))) {
      telegram.userSays(8, "let me in");
      telegram.userSays(7, "hi");
      telegram.awaitSentTo(7, 1, WAIT);
      assertTrue(telegram.sentTo(8).isEmpty(), "a chat outside allowed-chat-ids gets no answer");
      assertEquals(1, primary.calls().size() + backup.calls().size(), "only the allowed chat cost a call");
      assertFalse(gw.get("/api/status").body().contains(telegram.token()), "the bot token is never shown");
    }
  }

  @Test
  void theBookkeepingIsInTheStoreSoARedeliveredUpdateIsNotAnsweredAgainAfterARestart() throws Exception {
    long first;
    try (TestGateway gw = gateway("", telegramOn(""))) {
      first = telegram.userSays(400, "remember this");
      assertEquals(1, telegram.awaitSentTo(400, 1, WAIT).size());
    }
    assertFalse(java.nio.file.Files.exists(dir.resolve("data/telegram/journal.jsonl")), "kept in the store, not in a file");
    try (TestGateway gw = gateway("", telegramOn(""))) {
      telegram.redeliver(first);
      long second = telegram.userSays(400, "and this?");
      List<SentMessage> sent = telegram.awaitSentTo(400, 2, WAIT);
      assertEquals(2, sent.size(), "the redelivered update is known: answered once in all");
      assertEquals(Optional.of(telegram.messageIdOf(second)), sent.get(1).replyTo());
      assertTrue(primary.calls().get(primary.calls().size() - 1).body().contains("remember this"),
          "and the chat's history is in the store too");
      assertEquals(2, primary.calls().size());
    }
  }

  @Test
  void aJournalFileOfAnEarlierVersionIsMovedIntoTheStoreAndWhatItHadPendingIsAnsweredOnce() throws Exception {
    java.nio.file.Path journal = dir.resolve("data/telegram/journal.jsonl");
    java.nio.file.Files.createDirectories(journal.getParent());
    java.nio.file.Files.writeString(journal,
        "{\"done\":7}\n{\"recv\":{\"u\":8,\"c\":500,\"m\":80,\"a\":\"ASK\",\"t\":\"left over\"}}\n");
    try (TestGateway gw = gateway("", telegramOn(""))) {
      List<SentMessage> sent = telegram.awaitSentTo(500, 1, WAIT);
      assertEquals(Optional.of(80L), sent.get(0).replyTo(), "the pending update of the old journal is answered");
      assertTrue(primary.calls().get(0).body().contains("left over"));
    }
    assertFalse(java.nio.file.Files.exists(journal));
    assertTrue(java.nio.file.Files.exists(journal.resolveSibling("journal.jsonl.migrated")));
    try (TestGateway gw = gateway("", telegramOn(""))) {
      long next = telegram.userSays(500, "hello again");
      assertEquals(2, telegram.awaitSentTo(500, 2, WAIT).size());
      assertEquals(Optional.of(telegram.messageIdOf(next)), telegram.sentTo(500).get(1).replyTo());
      assertEquals(2, primary.calls().size(), "the migrated update is not answered a second time");
    }
  }
}
