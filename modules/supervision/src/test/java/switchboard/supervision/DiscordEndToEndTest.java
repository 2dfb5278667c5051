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
import switchboard.providers.fake.FakeProviderServer.Step;
import switchboard.testkit.discord.FakeDiscord;

/**
 * The Discord channel inside the whole gateway (real router, conversations and provider actors)
 * against a stand-in Discord (Gateway WebSocket and REST) and stand-in providers (CONTRACT.md
 * section 10): one reply per user message and none to bots or itself, a 402 answered with its text
 * while the bot keeps going, a dropped or zombie connection resumed with nothing lost or answered
 * twice, a new IDENTIFY after a non-resumable INVALID_SESSION, Discord's own 429 waited out, the busy
 * reply, disallowed channels costing no provider call, and the token in no log line.
 */
@Timeout(90)
class DiscordEndToEndTest extends TwoProviderTest {
  static final Duration WAIT = Duration.ofSeconds(20);
  static final String TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gx-secret.discord-bot-token-value";
  static final String CHANNEL = "1000000000000000001";
  static final String OTHER = "1000000000000000002";
  static final String USER = "500000000000000001";
  static final String OUT_OF_CREDITS =
      "Provider primary returned 402: insufficient credits. Please top up your balance and try again.";

  FakeDiscord discord;

  @BeforeEach
  void startDiscord() {
    discord = FakeDiscord.start(TOKEN);
  }

  @AfterEach
  void stopDiscord() {
    discord.close();
  }

  private String discordOn(String more) {
    return "channels.discord { enabled = true, token = \"" + TOKEN + "\", api-base-url = \"" + discord.apiBaseUrl()
        + "\", retry-backoff-base = 100ms, retry-backoff-max = 1s" + (more.isEmpty() ? "" : ", " + more) + " }";
  }

  private TestGateway onlyPrimary(String more) throws Exception {
    TestGateway gw = TestGateway.start(dir, List.of(provider("primary", 1, primary, "")), discordOn(more));
    discord.awaitReady(WAIT);
    return gw;
  }

  private List<String> texts(String channelId) {
    return discord.sent(channelId).stream().map(FakeDiscord.Sent::content).toList();
  }

  private List<String> awaitTexts(String channelId, int count) {
    return discord.awaitSent(channelId, count, WAIT).stream().map(FakeDiscord.Sent::content).toList();
  }

  @Test
  void eachUserMessageGetsOneReplyBotsAndItselfNoneAndA402IsAnsweredWhileTheBotGoesOn() throws Exception {
    primary.setDefault(Step.status(402));
    try (LogCapture logs = new LogCapture(); TestGateway gw = onlyPrimary("")) {
      assertEquals("Bot " + TOKEN, discord.authorizationHeaders().get(0), "REST calls carry the bot token");
      assertEquals(TOKEN, discord.identifies().get(0).path("token").asText());
      int intents = discord.identifies().get(0).path("intents").asInt();
      assertEquals((1 << 9) | (1 << 12) | (1 << 15), intents & ((1 << 9) | (1 << 12) | (1 << 15)),
          "GUILD_MESSAGES, DIRECT_MESSAGES and MESSAGE_CONTENT");

      discord.botMessage(CHANNEL, "600000000000000001", "I am another bot");
      discord.selfMessage(CHANNEL, "my own earlier reply");
      discord.userMessage(CHANNEL, USER, "hello");
      assertEquals(List.of(OUT_OF_CREDITS), awaitTexts(CHANNEL, 1));

      discord.userMessage(CHANNEL, USER, "anyone there?");
      assertEquals(List.of(OUT_OF_CREDITS, OUT_OF_CREDITS), awaitTexts(CHANNEL, 2));
      assertEquals(1, primary.calls().size(), "the open breaker spared the second paid call");

      primary.setDefault(Step.ok("back in business"));
      gw.gateway.children().providers().get("primary").tell(
          new switchboard.providers.ProviderActor.Reset(Optional.empty(), "http", gw.gateway.system().ignoreRef()));
      discord.userMessage(CHANNEL, USER, "and now?");
      assertEquals(List.of(OUT_OF_CREDITS, OUT_OF_CREDITS, "back in business"), awaitTexts(CHANNEL, 3));
      assertEquals(3, discord.sent().size(), "no reply to the bot's or its own messages");
      assertEquals("discord", gw.get("/api/status").json().path("channels").get(1).path("name").asText());
      assertFalse(logs.text().contains(TOKEN), "the token is in no log line");
      assertFalse(logs.text().contains("Gx-secret"), "nor any part of it");
    }
  }

  @Test
  void aDroppedConnectionIsResumedWithNoMessageLostOrAnsweredTwice() throws Exception {
    primary.setDefault(Step.ok("answer"));
    try (LogCapture logs = new LogCapture(); TestGateway gw = onlyPrimary("")) {
      discord.userMessage(CHANNEL, USER, "before the drop");
      assertEquals(1, awaitTexts(CHANNEL, 1).size());

      discord.dropConnection();
      discord.userMessage(CHANNEL, USER, "while it was down");
      discord.awaitResumes(1, WAIT);
      assertEquals(1, discord.identifies().size(), "resumed, not identified anew");
      assertEquals(2, awaitTexts(CHANNEL, 2).size(), "the message sent during the drop was replayed and answered");

      discord.userMessage(CHANNEL, USER, "after the resume");
      assertEquals(3, awaitTexts(CHANNEL, 3).size());
      assertEquals(3, primary.calls().size(), "each message asked once");
      assertEquals(3, discord.sent(CHANNEL).size(), "each message answered once");
      assertFalse(logs.text().contains(TOKEN), "the token is in no log line");
    }
  }

  @Test
  void aConnectionWhoseHeartbeatsGoUnansweredIsDroppedAndResumed() throws Exception {
    discord.heartbeatInterval(Duration.ofMillis(300));
    primary.setDefault(Step.ok("still here"));
    try (TestGateway gw = onlyPrimary("")) {
      discord.stopHeartbeatAcks();
      discord.awaitResumes(1, WAIT);
      discord.resumeHeartbeatAcks();
      discord.userMessage(CHANNEL, USER, "hello after the zombie");
      assertEquals(List.of("still here"), awaitTexts(CHANNEL, 1));
      assertEquals(1, discord.identifies().size());
    }
  }

  @Test
  void aSessionThatCannotBeResumedIsIdentifiedAnew() throws Exception {
    primary.setDefault(Step.ok("fresh session"));
    try (TestGateway gw = onlyPrimary("")) {
      long started = System.nanoTime();
      discord.invalidateSession(false);
      discord.awaitIdentifies(2, WAIT);
      assertTrue(Duration.ofNanos(System.nanoTime() - started).toMillis() >= 1000,
          "a new IDENTIFY waits 1-5 s after INVALID_SESSION");
      discord.awaitReady(WAIT);
      discord.userMessage(CHANNEL, USER, "hello again");
      assertEquals(List.of("fresh session"), awaitTexts(CHANNEL, 1));
    }
  }

  @Test
  void aDiscord429OnSendingIsWaitedOutForAtLeastItsRetryAfter() throws Exception {
    primary.setDefault(Step.ok("worth the wait"));
    try (TestGateway gw = onlyPrimary("")) {
      discord.rateLimitNext(1, Duration.ofMillis(800), false);
      discord.userMessage(CHANNEL, USER, "hello");
      assertEquals(List.of("worth the wait"), awaitTexts(CHANNEL, 1));
      List<FakeDiscord.Attempt> attempts = discord.attempts();
      assertEquals(2, attempts.size(), attempts.toString());
      assertEquals(429, attempts.get(0).status());
      assertEquals(200, attempts.get(1).status());
      long gap = Duration.between(attempts.get(0).at(), attempts.get(1).at()).toMillis();
      assertTrue(gap >= 800, "waited " + gap + " ms, less than retry_after");
    }
  }

  @Test
  void aReplyOver2000CharactersIsSplitOnWordsAndSentInOrder() throws Exception {
    String answer = ("word ".repeat(300) + "\n").repeat(3).strip();
    primary.setDefault(Step.ok(answer));
    try (TestGateway gw = onlyPrimary("")) {
      discord.userMessage(CHANNEL, USER, "tell me a lot");
      List<String> parts = awaitTexts(CHANNEL, 3);
      assertTrue(parts.stream().allMatch(p -> p.length() <= 2000), "each part fits Discord's limit");
      assertEquals(answer, String.join("", parts), "nothing lost, in order");
      assertTrue(parts.get(0).endsWith("\n") || parts.get(0).endsWith(" "), "cut on a line or word boundary");
    }
  }

  @Test
  void beyondMaxPendingTheBusyReplyComesAtOnceAndDisallowedChannelsCostNothing() throws Exception {
    primary.setDefault(Step.ok("slow answer").withDelay(Duration.ofMillis(1500)));
    try (TestGateway gw = onlyPrimary("max-pending-messages = 1, allowed-channel-ids = [\"" + CHANNEL + "\", \""
        + OTHER + "\"]")) {
      discord.userMessage("1000000000000000099", USER, "not allowed here");
      discord.userMessage(CHANNEL, USER, "first");
      TestGateway.eventually("the first message at the provider", () -> primary.calls().size() == 1);
      long asked = System.nanoTime();
      discord.userMessage(OTHER, USER, "second");
      assertEquals(List.of("System busy, please try again in a moment."), awaitTexts(OTHER, 1));
      assertTrue(Duration.ofNanos(System.nanoTime() - asked).toMillis() < 1500, "the busy reply did not wait");
      assertEquals(List.of("slow answer"), awaitTexts(CHANNEL, 1));
      assertEquals(1, primary.calls().size(), "the busy and the disallowed message cost no provider call");
      assertTrue(discord.sent("1000000000000000099").isEmpty(), "a disallowed channel gets no answer");
    }
  }
}
