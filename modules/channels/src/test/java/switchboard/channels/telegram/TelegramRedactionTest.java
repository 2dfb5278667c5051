package switchboard.channels.telegram;

import switchboard.channels.Channel;
import switchboard.testkit.faults.Crashable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.ConfigFactory;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import switchboard.channels.ChannelStatus;
import switchboard.testkit.telegram.FakeBotApi;
import switchboard.router.ConversationsActor;

/**
 * The bot token appears in no log line, at any level, whatever goes wrong: Bot API errors, garbage,
 * refused connections, refused sends. Logs are captured with a Logback ListAppender on the root.
 */
class TelegramRedactionTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String TOKEN = "5550001234:TEST-verySecretTokenPart_0123456789ab";
  private static final String SECRET = TOKEN.substring(TOKEN.indexOf(':') + 1);

  @TempDir Path dataDir;
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private final Logger pekko = (Logger) LoggerFactory.getLogger("org.apache.pekko");
  private Level pekkoLevel;
  private ActorTestKit testKit;
  private FakeBotApi api;

  @BeforeEach
  void capture() {
    logs.start();
    root.addAppender(logs);
    pekkoLevel = pekko.getLevel();
    pekko.setLevel(Level.DEBUG);
    root.setLevel(Level.DEBUG);
    testKit =
        ActorTestKit.create(
            "telegram-redaction", ConfigFactory.parseString("pekko.loglevel = DEBUG\npekko.log-dead-letters = on"));
    api = FakeBotApi.start(TOKEN);
  }

  @AfterEach
  void release() {
    testKit.shutdownTestKit();
    api.close();
    root.detachAppender(logs);
    pekko.setLevel(pekkoLevel);
    root.setLevel(Level.INFO);
  }

  private TelegramConfig config(String baseUrl) {
    return new TelegramConfig(
        true, TOKEN, baseUrl, 10, "busy", Set.of(), Duration.ofSeconds(1), Duration.ofMillis(100), Duration.ofMillis(300));
  }

  @Test
  void theTokenAppearsInNoLogLine() throws Exception {
    TestProbe<ConversationsActor.Command> seen = testKit.createTestProbe();
    ActorRef<ConversationsActor.Command> echo =
        testKit.spawn(StubConversations.create(seen.ref(), StubConversations::script, Duration.ZERO));
    api.failNext(409, 1);
    api.failNext(502, 1);
    api.garbageNext(1);
    api.failNext(429, 1);
    api.failNextSends(500, 1);
    api.chatNotFound(2);
    ActorRef<Channel.Command> channel =
        testKit.spawn(TelegramChannel.create(config(api.baseUrl()), echo, dataDir.resolve("a")));
    api.userSays(2, "to a chat that is gone");
    api.userSays(1, "hello");
    api.awaitSentTo(1, 1, WAIT);
    TestProbe<ChannelStatus> status = testKit.createTestProbe();
    status.awaitAssert(
        WAIT,
        () -> {
          channel.tell(new Channel.GetStatus(status.ref()));
          assertEquals(0, status.receiveMessage().pending(), "the message to the gone chat was given up");
          return null;
        });

    // And a Bot API that is not there at all: connection refused.
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    ActorRef<Channel.Command> deaf =
        testKit.spawn(TelegramChannel.create(config("http://127.0.0.1:" + closedPort), echo, dataDir.resolve("b")));
    status.awaitAssert(
        WAIT,
        () -> {
          deaf.tell(new Channel.GetStatus(status.ref()));
          ChannelStatus s = status.receiveMessage();
          assertEquals("retrying", s.state());
          assertFalse(s.lastError().orElse("").contains(SECRET), s.lastError().toString());
          return null;
        });
    testKit.stop(channel);
    testKit.stop(deaf);

    List<String> lines = logs.list.stream().map(TelegramRedactionTest::render).toList();
    assertTrue(lines.stream().anyMatch(l -> l.contains("getUpdates failed")), "failures were logged");
    assertTrue(lines.stream().anyMatch(l -> l.contains("chat not found")), "the refused send was logged");
    for (String line : lines) {
      assertFalse(line.contains(SECRET), "token in log line: " + line.replace(SECRET, "<SECRET>"));
    }
  }

  private static String render(ILoggingEvent event) {
    StringBuilder out = new StringBuilder(event.getLoggerName()).append(' ').append(event.getFormattedMessage());
    for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
      out.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
    }
    event.getMDCPropertyMap().values().forEach(v -> out.append(' ').append(v));
    return out.toString();
  }
}
