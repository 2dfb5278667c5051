package switchboard.testkit.discord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgradeResponse;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import switchboard.testkit.discord.FakeDiscord.Attempt;

/**
 * The fake Discord speaks the Gateway and the REST API the way Discord does, as seen by a real
 * WebSocket client (Pekko HTTP's) and a real HTTP client (java.net.http).
 */
class FakeDiscordTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAx.GaBcDe.fake-token-for-fake-discord-test";
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final String CHANNEL = "700000000000000042";

  private static ActorSystem clientSystem;
  private static Materializer materializer;
  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(WAIT).build();

  private final FakeDiscord discord = FakeDiscord.start(TOKEN).heartbeatInterval(Duration.ofMillis(300));

  @BeforeAll
  static void startClient() {
    clientSystem =
        ActorSystem.create(
            "fake-discord-test-client",
            ConfigFactory.parseString("pekko.loglevel = WARNING\npekko.stdout-loglevel = OFF")
                .withFallback(ConfigFactory.load()));
    materializer = Materializer.matFromSystem(clientSystem);
  }

  @AfterAll
  static void stopClient() throws Exception {
    clientSystem.terminate();
    clientSystem.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void close() {
    discord.close();
  }

  // ---------------------------------------------------------------- gateway

  @Test
  void helloThenIdentifyIsAnsweredWithReady() throws Exception {
    try (Gateway gateway = new Gateway(discord.gatewayUrl() + "?v=10&encoding=json")) {
      JsonNode hello = gateway.next();
      assertEquals(10, hello.path("op").asInt());
      assertEquals(300, hello.path("d").path("heartbeat_interval").asInt());
      assertTrue(hello.path("s").isNull());
      assertTrue(hello.path("t").isNull());

      gateway.send(identify(TOKEN));
      JsonNode ready = gateway.next();
      assertEquals(0, ready.path("op").asInt());
      assertEquals("READY", ready.path("t").asText());
      assertEquals(1, ready.path("s").asInt());
      assertEquals(10, ready.path("d").path("v").asInt());
      assertFalse(ready.path("d").path("session_id").asText().isEmpty());
      assertEquals("ws://127.0.0.1:" + discord.port() + "/resume", ready.path("d").path("resume_gateway_url").asText());
      assertEquals(discord.botUserId(), ready.path("d").path("user").path("id").asText());
      assertEquals("switchboard-bot", ready.path("d").path("user").path("username").asText());
      assertTrue(ready.path("d").path("user").path("bot").asBoolean());
      assertTrue(ready.path("d").path("guilds").isArray());

      discord.awaitReady(WAIT);
      assertEquals(1, discord.connections());
      List<JsonNode> identifies = discord.identifies();
      assertEquals(1, identifies.size());
      assertEquals(TOKEN, identifies.get(0).path("token").asText());
      assertEquals(37377, identifies.get(0).path("intents").asInt());
      assertEquals("switchboard", identifies.get(0).path("properties").path("browser").asText());
    }
  }

  @Test
  void heartbeatsAreAckedUntilAcksAreSwitchedOff() throws Exception {
    try (Gateway gateway = new Gateway(discord.gatewayUrl())) {
      ready(gateway);
      gateway.send("{\"op\":1,\"d\":1}");
      assertEquals(11, gateway.next().path("op").asInt());
      assertEquals(1, discord.heartbeats());

      discord.stopHeartbeatAcks();
      gateway.send("{\"op\":1,\"d\":1}");
      assertEquals(Optional.empty(), gateway.nextWithin(Duration.ofMillis(400)), "a zombie gets no ACK");
      assertEquals(2, discord.heartbeats());

      discord.resumeHeartbeatAcks();
      gateway.send("{\"op\":1,\"d\":null}");
      assertEquals(11, gateway.next().path("op").asInt());
      assertEquals(3, discord.heartbeats());
    }
  }

  @Test
  void messagesArriveAsMessageCreateDispatches() throws Exception {
    try (Gateway gateway = new Gateway(discord.gatewayUrl())) {
      ready(gateway);
      String id = discord.userMessage(CHANNEL, "555000000000000001", "hello bot");
      JsonNode created = gateway.next();
      assertEquals(0, created.path("op").asInt());
      assertEquals("MESSAGE_CREATE", created.path("t").asText());
      assertEquals(2, created.path("s").asInt());
      JsonNode d = created.path("d");
      assertEquals(id, d.path("id").asText());
      assertEquals(CHANNEL, d.path("channel_id").asText());
      assertEquals("800000000000000001", d.path("guild_id").asText());
      assertEquals("555000000000000001", d.path("author").path("id").asText());
      assertFalse(d.path("author").path("username").asText().isEmpty());
      assertFalse(d.path("author").has("bot"), "a person's author.bot is left out");
      assertEquals("hello bot", d.path("content").asText());
      assertEquals(0, d.path("type").asInt());
      OffsetDateTime.parse(d.path("timestamp").asText()); // ISO 8601

      discord.botMessage(CHANNEL, "555000000000000002", "beep");
      JsonNode fromBot = gateway.next();
      assertEquals(3, fromBot.path("s").asInt());
      assertTrue(fromBot.path("d").path("author").path("bot").asBoolean());

      discord.selfMessage(CHANNEL, "my own reply");
      JsonNode fromSelf = gateway.next();
      assertEquals(4, fromSelf.path("s").asInt());
      assertEquals(discord.botUserId(), fromSelf.path("d").path("author").path("id").asText());
      assertTrue(fromSelf.path("d").path("author").path("bot").asBoolean());
    }
  }

  @Test
  void aResumeAfterADropReplaysWhatWasMissedThenSaysResumed() throws Exception {
    String sessionId;
    try (Gateway first = new Gateway(discord.gatewayUrl())) {
      sessionId = ready(first).path("d").path("session_id").asText();
      discord.userMessage(CHANNEL, "555000000000000001", "before the drop");
      assertEquals(2, first.next().path("s").asInt());

      discord.dropConnection();
      first.awaitEnd();
    }
    discord.userMessage(CHANNEL, "555000000000000001", "while away"); // only logged: no live connection

    try (Gateway second = new Gateway("ws://127.0.0.1:" + discord.port() + "/resume?v=10&encoding=json")) {
      assertEquals(10, second.next().path("op").asInt());
      second.send("{\"op\":6,\"d\":{\"token\":\"" + TOKEN + "\",\"session_id\":\"" + sessionId + "\",\"seq\":2}}");
      JsonNode replayed = second.next();
      assertEquals("MESSAGE_CREATE", replayed.path("t").asText());
      assertEquals(3, replayed.path("s").asInt());
      assertEquals("while away", replayed.path("d").path("content").asText());
      JsonNode resumed = second.next();
      assertEquals(0, resumed.path("op").asInt());
      assertEquals("RESUMED", resumed.path("t").asText());
      assertEquals(4, resumed.path("s").asInt());

      discord.awaitResumes(1, WAIT);
      assertEquals(sessionId, discord.resumes().get(0).path("session_id").asText());
      assertEquals(2, discord.resumes().get(0).path("seq").asInt());
      assertEquals(2, discord.connections());
      assertEquals(1, discord.identifies().size());

      discord.userMessage(CHANNEL, "555000000000000001", "after the resume");
      JsonNode after = second.next();
      assertEquals(5, after.path("s").asInt());
      assertEquals("after the resume", after.path("d").path("content").asText());
    }
  }

  @Test
  void aSessionInvalidatedForGoodCannotBeResumed() throws Exception {
    String sessionId;
    try (Gateway first = new Gateway(discord.gatewayUrl())) {
      sessionId = ready(first).path("d").path("session_id").asText();
      discord.invalidateSession(false);
      JsonNode invalid = first.next();
      assertEquals(9, invalid.path("op").asInt());
      assertFalse(invalid.path("d").asBoolean(true));
    }
    try (Gateway second = new Gateway("ws://127.0.0.1:" + discord.port() + "/resume")) {
      assertEquals(10, second.next().path("op").asInt());
      second.send("{\"op\":6,\"d\":{\"token\":\"" + TOKEN + "\",\"session_id\":\"" + sessionId + "\",\"seq\":1}}");
      JsonNode answer = second.next();
      assertEquals(9, answer.path("op").asInt());
      assertTrue(answer.path("d").isBoolean());
      assertFalse(answer.path("d").asBoolean());
      discord.awaitResumes(1, WAIT);
    }
  }

  // ---------------------------------------------------------------- REST

  @Test
  void restNeedsTheBotAuthorizationHeader() throws Exception {
    HttpResponse<String> anonymous = get("/gateway/bot", null);
    assertEquals(401, anonymous.statusCode());
    assertEquals("401: Unauthorized", JSON.readTree(anonymous.body()).path("message").asText());
    assertEquals(0, JSON.readTree(anonymous.body()).path("code").asInt(-1));
    assertEquals(401, get("/gateway/bot", TOKEN).statusCode(), "the token without 'Bot '");
    assertEquals(401, postMessage(CHANNEL, "hi", null).statusCode());

    HttpResponse<String> bot = get("/gateway/bot", "Bot " + TOKEN);
    assertEquals(200, bot.statusCode());
    JsonNode gateway = JSON.readTree(bot.body());
    assertEquals(discord.gatewayUrl(), gateway.path("url").asText());
    assertEquals(1, gateway.path("shards").asInt());
    assertEquals(1000, gateway.path("session_start_limit").path("total").asInt());
    assertEquals(999, gateway.path("session_start_limit").path("remaining").asInt());
    assertEquals(1, gateway.path("session_start_limit").path("max_concurrency").asInt());

    assertEquals(List.of("", TOKEN, "", "Bot " + TOKEN), discord.authorizationHeaders());
    assertEquals(List.of(), discord.sent());
  }

  @Test
  void anInjectedRateLimitAnswers429WithDiscordsBodyAndHeaders() throws Exception {
    discord.rateLimitNext(1, Duration.ofMillis(800), false);
    HttpResponse<String> limited = postMessage(CHANNEL, "first try", "Bot " + TOKEN);
    assertEquals(429, limited.statusCode());
    JsonNode body = JSON.readTree(limited.body());
    assertEquals("You are being rate limited.", body.path("message").asText());
    assertEquals(0.8, body.path("retry_after").asDouble(), 1e-9);
    assertTrue(body.path("global").isBoolean());
    assertFalse(body.path("global").asBoolean());
    assertEquals("1", header(limited, "Retry-After"));
    assertEquals("5", header(limited, "X-RateLimit-Limit"));
    assertEquals("0", header(limited, "X-RateLimit-Remaining"));
    assertEquals(0.8, Double.parseDouble(header(limited, "X-RateLimit-Reset-After")), 1e-9);
    assertEquals("abcd1234", header(limited, "X-RateLimit-Bucket"));
    assertEquals("user", header(limited, "X-RateLimit-Scope"));
    assertEquals(Optional.empty(), limited.headers().firstValue("X-RateLimit-Global"));

    HttpResponse<String> retried = postMessage(CHANNEL, "first try", "Bot " + TOKEN);
    assertEquals(200, retried.statusCode());
    JsonNode message = JSON.readTree(retried.body());
    assertFalse(message.path("id").asText().isEmpty());
    assertEquals(CHANNEL, message.path("channel_id").asText());
    assertEquals("first try", message.path("content").asText());
    assertEquals(discord.botUserId(), message.path("author").path("id").asText());
    assertEquals("5", header(retried, "X-RateLimit-Limit"));
    assertEquals("4", header(retried, "X-RateLimit-Remaining"));
    assertEquals(1.0, Double.parseDouble(header(retried, "X-RateLimit-Reset-After")), 1e-9);
    assertEquals("abcd1234", header(retried, "X-RateLimit-Bucket"));

    List<Attempt> attempts = discord.attempts();
    assertEquals(List.of(429, 200), attempts.stream().map(Attempt::status).toList());
    assertFalse(attempts.get(1).at().isBefore(attempts.get(0).at()));
    assertEquals(List.of("first try"), discord.sent(CHANNEL).stream().map(FakeDiscord.Sent::content).toList());

    discord.rateLimitNext(1, Duration.ofMillis(1500), true);
    HttpResponse<String> global = postMessage(CHANNEL, "again", "Bot " + TOKEN);
    assertEquals(429, global.statusCode());
    assertTrue(JSON.readTree(global.body()).path("global").asBoolean());
    assertEquals("2", header(global, "Retry-After"));
    assertEquals("global", header(global, "X-RateLimit-Scope"));
    assertEquals("true", header(global, "X-RateLimit-Global"));

    discord.exhaustBucketNext(Duration.ofSeconds(2));
    HttpResponse<String> exhausted = postMessage(CHANNEL, "again", "Bot " + TOKEN);
    assertEquals(200, exhausted.statusCode());
    assertEquals("0", header(exhausted, "X-RateLimit-Remaining"));
    assertEquals(2.0, Double.parseDouble(header(exhausted, "X-RateLimit-Reset-After")), 1e-9);
    assertEquals("4", header(postMessage(CHANNEL, "and again", "Bot " + TOKEN), "X-RateLimit-Remaining"));
  }

  @Test
  void contentOver2000CharactersIsAnInvalidFormBody() throws Exception {
    HttpResponse<String> tooLong = postMessage(CHANNEL, "x".repeat(2001), "Bot " + TOKEN);
    assertEquals(400, tooLong.statusCode());
    JsonNode body = JSON.readTree(tooLong.body());
    assertEquals(50035, body.path("code").asInt());
    assertEquals("Invalid Form Body", body.path("message").asText());
    assertEquals(List.of(), discord.sent());

    assertEquals(200, postMessage(CHANNEL, "y".repeat(2000), "Bot " + TOKEN).statusCode());
    assertEquals(2000, discord.awaitSent(CHANNEL, 1, WAIT).get(0).content().length());
    assertEquals(List.of(400, 200), discord.attempts().stream().map(Attempt::status).toList());
  }

  @Test
  void typingIsCountedAndUnknownPathsAre404() throws Exception {
    HttpResponse<String> typing =
        send(HttpRequest.newBuilder(URI.create(discord.apiBaseUrl() + "/channels/" + CHANNEL + "/typing"))
            .header("Authorization", "Bot " + TOKEN)
            .POST(HttpRequest.BodyPublishers.noBody()));
    assertEquals(204, typing.statusCode());
    assertEquals(1, discord.typings(CHANNEL));
    assertEquals(0, discord.typings("1"));

    HttpResponse<String> unknown = get("/users/@me/guilds", "Bot " + TOKEN);
    assertEquals(404, unknown.statusCode());
    assertEquals("404: Not Found", JSON.readTree(unknown.body()).path("message").asText());
    assertEquals(404, send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + discord.port() + "/nowhere")).GET())
        .statusCode());
  }

  // ---------------------------------------------------------------- helpers

  private static String identify(String token) {
    return "{\"op\":2,\"d\":{\"token\":\"" + token + "\",\"intents\":37377,"
        + "\"properties\":{\"os\":\"linux\",\"browser\":\"switchboard\",\"device\":\"switchboard\"}}}";
  }

  /** HELLO, IDENTIFY, READY; returns READY. */
  private JsonNode ready(Gateway gateway) throws Exception {
    assertEquals(10, gateway.next().path("op").asInt());
    gateway.send(identify(TOKEN));
    JsonNode ready = gateway.next();
    assertEquals("READY", ready.path("t").asText());
    discord.awaitReady(WAIT);
    return ready;
  }

  private HttpResponse<String> get(String path, String authorization) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(discord.apiBaseUrl() + path)).GET();
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return send(request);
  }

  private HttpResponse<String> postMessage(String channelId, String content, String authorization) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(discord.apiBaseUrl() + "/channels/" + channelId + "/messages"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(
                JSON.createObjectNode().put("content", content).toString()));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return send(request);
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return HTTP.send(request.timeout(WAIT).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String header(HttpResponse<String> response, String name) {
    return response.headers().firstValue(name).orElseThrow(() -> new AssertionError("no " + name + " header"));
  }

  /** A gateway client on Pekko HTTP's WebSocket client: a queue of what arrives, a queue to send. */
  private static final class Gateway implements AutoCloseable {
    private final LinkedBlockingQueue<JsonNode> inbox = new LinkedBlockingQueue<>();
    private final BoundedSourceQueue<Message> out;
    private final CompletableFuture<Done> ended;

    Gateway(String url) throws Exception {
      Sink<Message, CompletionStage<Done>> in =
          Flow.<Message>create()
              .mapAsync(1, message -> message.asTextMessage().toStrict(WAIT.toMillis(), materializer))
              .toMat(Sink.foreach(text -> inbox.add(JSON.readTree(text.getStrictText()))), Keep.right());
      Flow<Message, Message, Pair<CompletionStage<Done>, BoundedSourceQueue<Message>>> flow =
          Flow.fromSinkAndSourceCoupledMat(in, Source.<Message>queue(64), Keep.both());
      Pair<CompletionStage<WebSocketUpgradeResponse>, Pair<CompletionStage<Done>, BoundedSourceQueue<Message>>> started =
          Http.get(clientSystem).singleWebSocketRequest(WebSocketRequest.create(url), flow, materializer);
      WebSocketUpgradeResponse upgrade = started.first().toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertEquals(101, upgrade.response().status().intValue(), "WebSocket upgrade of " + url);
      ended = started.second().first().toCompletableFuture();
      out = started.second().second();
    }

    void send(String json) {
      out.offer(TextMessage.create(json));
    }

    JsonNode next() throws InterruptedException {
      return nextWithin(WAIT).orElseThrow(() -> new AssertionError("no gateway payload within " + WAIT));
    }

    Optional<JsonNode> nextWithin(Duration timeout) throws InterruptedException {
      return Optional.ofNullable(inbox.poll(timeout.toMillis(), TimeUnit.MILLISECONDS));
    }

    /** Waits until the server ended the connection (with whatever close, or none). */
    void awaitEnd() {
      try {
        ended.handle((done, failure) -> done).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        fail("the connection did not end within " + WAIT, e);
      }
    }

    @Override
    public void close() {
      try {
        out.complete();
      } catch (RuntimeException alreadyEnded) {
        // the stream is gone already
      }
    }
  }
}
