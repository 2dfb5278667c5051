package switchboard.testkit.discord;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A stand-in for Discord on 127.0.0.1, for tests only: the Gateway (v10, JSON over WebSocket at
 * {@link #gatewayUrl()} and at the session's {@code resume_gateway_url}) and the two REST calls a bot
 * makes ({@code GET /gateway/bot}, {@code POST /channels/{id}/messages}), in Discord's wire formats.
 * A test posts messages as users, bots or the bot itself, breaks the connection (a drop, missing
 * heartbeat ACKs, INVALID_SESSION) and makes sends answer 429, then reads what the bot sent, when, and
 * how it identified and resumed. Sequence numbers are per session; a RESUME replays every dispatch
 * after the client's {@code seq}, as Discord does. Thread-safe: every state change is under this
 * object's lock, and the awaits wait on it with a deadline.
 */
public final class FakeDiscord extends AllDirectives implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String GUILD = "800000000000000001";
  private static final String BUCKET = "abcd1234";

  /** One reply the bot sent. */
  public record Sent(String channelId, String content, Instant at) {}

  /** One {@code POST /channels/{id}/messages}, with the status it got. */
  public record Attempt(String channelId, Instant at, int status) {}

  private static final class Session {
    final String id;
    final List<ObjectNode> events = new ArrayList<>();
    long seq;
    boolean resumable = true;

    Session(String id) {
      this.id = id;
    }
  }

  private static final class Connection {
    final BoundedSourceQueue<Message> out;
    Session session;

    Connection(BoundedSourceQueue<Message> out) {
      this.out = out;
    }
  }

  private final String token;
  private final String botUserId = "900000000000000001";
  private final ActorSystem system;
  private final Materializer materializer;
  private final ServerBinding binding;
  private final AtomicLong ids = new AtomicLong(1_100_000_000_000_000_000L);
  private final Map<String, Session> sessions = new HashMap<>();
  private final List<JsonNode> identifies = new ArrayList<>();
  private final List<JsonNode> resumes = new ArrayList<>();
  private final List<Sent> sent = new ArrayList<>();
  private final List<Attempt> attempts = new ArrayList<>();
  private final List<String> authorizations = new ArrayList<>();
  private final Map<String, Integer> typings = new HashMap<>();
  private Connection live;
  private Session current;
  private int connections;
  private int heartbeats;
  private int readies;
  private boolean acks = true;
  private long heartbeatMillis = 45_000;
  private int limitedLeft;
  private Duration limitedFor = Duration.ZERO;
  private boolean limitedGlobal;
  private Optional<Duration> exhaustNext = Optional.empty();
  private java.util.function.Consumer<Sent> sentListener = m -> { };

  private FakeDiscord(String token) {
    this.token = token;
    this.system = ActorSystem.create("fake-discord", ConfigFactory.parseString(
        "pekko.loglevel = WARNING\npekko.stdout-loglevel = OFF")
        .withFallback(ConfigFactory.load()));
    this.materializer = Materializer.matFromSystem(system);
    try {
      this.binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(routes()).toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      system.terminate();
      throw new IllegalStateException("fake Discord could not bind", e);
    }
  }

  /** A fake Discord that accepts {@code token} as the bot's token. */
  public static FakeDiscord start(String token) {
    return new FakeDiscord(token);
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public String apiBaseUrl() {
    return "http://127.0.0.1:" + port() + "/api/v10";
  }

  public String gatewayUrl() {
    return "ws://127.0.0.1:" + port() + "/gateway";
  }

  public String botUserId() {
    return botUserId;
  }

  /** What HELLO announces from now on (default 45 s). */
  public synchronized FakeDiscord heartbeatInterval(Duration interval) {
    heartbeatMillis = interval.toMillis();
    return this;
  }

  // ---- the Gateway ----

  private Route routes() {
    return concat(
        path("gateway", () -> handleWebSocketMessages(socket())),
        path("resume", () -> handleWebSocketMessages(socket())),
        pathPrefix("api", () -> pathPrefix("v10", () -> extractRequest(request -> {
          String auth = request.getHeader("Authorization").map(h -> h.value()).orElse("");
          synchronized (this) {
            authorizations.add(auth);
          }
          if (!auth.equals("Bot " + token)) {
            return complete(json(401, "{\"message\": \"401: Unauthorized\", \"code\": 0}"));
          }
          return concat(
              path(org.apache.pekko.http.javadsl.server.PathMatchers.segment("gateway").slash("bot"), () -> get(() -> complete(json(200,
                  "{\"url\": \"" + gatewayUrl() + "\", \"shards\": 1, \"session_start_limit\": {\"total\": 1000,"
                      + " \"remaining\": 999, \"reset_after\": 14400000, \"max_concurrency\": 1}}")))),
              pathPrefix("channels", () -> pathPrefix(channelId -> concat(
                  path("messages", () -> post(() -> entity(
                      org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller.entityToString(),
                      body -> complete(createMessage(channelId, body))))),
                  path("typing", () -> post(() -> {
                    synchronized (this) {
                      typings.merge(channelId, 1, Integer::sum);
                    }
                    return complete(HttpResponse.create().withStatus(204));
                  }))))));
        }))),
        complete(json(404, "{\"message\": \"404: Not Found\", \"code\": 0}")));
  }

  private Flow<Message, Message, ?> socket() {
    var pair = Source.<Message>queue(256).preMaterialize(materializer);
    Connection connection = new Connection(pair.first());
    synchronized (this) {
      connections++;
      if (live != null) {
        try {
          live.out.complete();
        } catch (IllegalStateException alreadyGone) {
          // the client dropped it
        }
      }
      live = connection;
      ObjectNode hello = JSON.createObjectNode().put("op", 10);
      hello.putObject("d").put("heartbeat_interval", heartbeatMillis);
      hello.putNull("s");
      hello.putNull("t");
      send(connection, hello);
      notifyAll();
    }
    Sink<Message, ?> in = Flow.<Message>create()
        .watchTermination((notUsed, done) -> {
          done.whenComplete((ok, error) -> closed(connection));
          return notUsed;
        })
        .mapAsync(1, m -> m.isText()
            ? m.asTextMessage().toStrict(5000, materializer).thenApply(TextMessage::getStrictText)
            : m.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), materializer).thenApply(d -> ""))
        .to(Sink.foreach(text -> received(connection, text)));
    return Flow.fromSinkAndSourceCoupled(in, pair.second());
  }

  /** The client went away (or this side ended the connection): it is no longer the live one. */
  private synchronized void closed(Connection connection) {
    if (live == connection) {
      live = null;
      notifyAll();
    }
  }

  private synchronized void received(Connection connection, String text) {
    if (text.isEmpty()) {
      return;
    }
    JsonNode frame;
    try {
      frame = JSON.readTree(text);
    } catch (Exception e) {
      connection.out.fail(new IllegalStateException("4002 decode error"));
      return;
    }
    JsonNode d = frame.path("d");
    switch (frame.path("op").asInt(-1)) {
      case 1 -> {
        heartbeats++;
        if (acks) {
          send(connection, JSON.createObjectNode().put("op", 11));
        }
      }
      case 2 -> identify(connection, d);
      case 6 -> resume(connection, d);
      default -> { }
    }
    notifyAll();
  }

  private void identify(Connection connection, JsonNode d) {
    identifies.add(d);
    if (!token.equals(d.path("token").asText())) {
      connection.out.fail(new IllegalStateException("4004 authentication failed"));
      return;
    }
    Session session = new Session("session-" + ids.incrementAndGet());
    sessions.put(session.id, session);
    connection.session = session;
    current = session;
    ObjectNode ready = JSON.createObjectNode();
    ready.put("v", 10);
    ready.put("session_id", session.id);
    ready.put("resume_gateway_url", "ws://127.0.0.1:" + port() + "/resume");
    ready.putObject("user").put("id", botUserId).put("username", "switchboard-bot").put("bot", true);
    ready.putArray("guilds");
    dispatch(session, "READY", ready);
    readies++;
  }

  private void resume(Connection connection, JsonNode d) {
    resumes.add(d);
    Session session = sessions.get(d.path("session_id").asText());
    if (session == null || !session.resumable || !token.equals(d.path("token").asText())) {
      send(connection, JSON.createObjectNode().put("op", 9).put("d", false));
      return;
    }
    connection.session = session;
    current = session;
    long after = d.path("seq").asLong(0);
    session.events.stream().filter(e -> e.path("s").asLong() > after).forEach(e -> send(connection, e));
    dispatch(session, "RESUMED", JSON.createObjectNode());
  }

  private void dispatch(Session session, String type, ObjectNode data) {
    ObjectNode event = JSON.createObjectNode();
    event.put("op", 0);
    event.put("t", type);
    event.put("s", ++session.seq);
    event.set("d", data);
    session.events.add(event);
    if (live != null && live.session == session) {
      send(live, event);
    }
  }

  private static void send(Connection connection, JsonNode frame) {
    connection.out.offer(TextMessage.create(frame.toString()));
  }

  // ---- what a test does ----

  /** Waits until a session is READY (at least as many READYs as sessions identified so far). */
  public void awaitReady(Duration timeout) {
    await(timeout, () -> current != null && live != null && live.session == current, "a READY session");
  }

  /** A user's message in {@code channelId}; returns its id. */
  public String userMessage(String channelId, String authorId, String content) {
    return message(channelId, authorId, "user-" + authorId, false, content);
  }

  /** Another bot's message (author.bot = true). */
  public String botMessage(String channelId, String authorId, String content) {
    return message(channelId, authorId, "bot-" + authorId, true, content);
  }

  /** A message by the bot itself (one of its own replies, as Discord echoes them). */
  public String selfMessage(String channelId, String content) {
    return message(channelId, botUserId, "switchboard-bot", true, content);
  }

  private synchronized String message(String channelId, String authorId, String name, boolean bot, String content) {
    if (current == null) {
      throw new IllegalStateException("no session has been identified yet");
    }
    String id = String.valueOf(ids.incrementAndGet());
    ObjectNode message = JSON.createObjectNode();
    message.put("id", id);
    message.put("channel_id", channelId);
    message.put("guild_id", GUILD);
    ObjectNode author = message.putObject("author").put("id", authorId).put("username", name);
    if (bot) {
      author.put("bot", true);
    }
    message.put("content", content);
    message.put("timestamp", Instant.now().toString());
    message.put("type", 0);
    dispatch(current, "MESSAGE_CREATE", message);
    return id;
  }

  /** Breaks the live connection without a close frame; the session stays resumable. */
  public synchronized void dropConnection() {
    if (live != null) {
      live.out.fail(new IllegalStateException("connection dropped by the test"));
      live = null;
    }
  }

  public synchronized void stopHeartbeatAcks() {
    acks = false;
  }

  public synchronized void resumeHeartbeatAcks() {
    acks = true;
  }

  /** Sends INVALID_SESSION with {@code d = resumable}; a non-resumable session cannot be resumed any more. */
  public synchronized void invalidateSession(boolean resumable) {
    if (current != null && !resumable) {
      current.resumable = false;
    }
    if (live != null) {
      send(live, JSON.createObjectNode().put("op", 9).put("d", resumable));
    }
  }

  /** Sends RECONNECT (op 7). */
  public synchronized void sendReconnect() {
    if (live != null) {
      send(live, JSON.createObjectNode().put("op", 7).putNull("d"));
    }
  }

  /** The next {@code times} sends answer 429 with {@code retry_after} (and every rate-limit header). */
  public synchronized void rateLimitNext(int times, Duration retryAfter, boolean global) {
    limitedLeft = times;
    limitedFor = retryAfter;
    limitedGlobal = global;
  }

  /** The next successful send says its bucket is empty for {@code resetAfter}. */
  public synchronized void exhaustBucketNext(Duration resetAfter) {
    exhaustNext = Optional.of(resetAfter);
  }

  private synchronized HttpResponse createMessage(String channelId, String body) {
    Instant now = Instant.now();
    String content;
    try {
      content = JSON.readTree(body).path("content").asText("");
    } catch (Exception e) {
      attempts.add(new Attempt(channelId, now, 400));
      return json(400, "{\"code\": 50109, \"message\": \"The request body contains invalid JSON.\"}");
    }
    if (limitedLeft > 0) {
      limitedLeft--;
      attempts.add(new Attempt(channelId, now, 429));
      double seconds = limitedFor.toMillis() / 1000.0;
      HttpResponse limited = json(429, "{\"message\": \"You are being rate limited.\", \"retry_after\": " + seconds
          + ", \"global\": " + limitedGlobal + "}")
          .addHeader(RawHeader.create("Retry-After", String.valueOf((long) Math.ceil(seconds))))
          .addHeader(RawHeader.create("X-RateLimit-Limit", "5"))
          .addHeader(RawHeader.create("X-RateLimit-Remaining", "0"))
          .addHeader(RawHeader.create("X-RateLimit-Reset-After", String.valueOf(seconds)))
          .addHeader(RawHeader.create("X-RateLimit-Bucket", BUCKET))
          .addHeader(RawHeader.create("X-RateLimit-Scope", limitedGlobal ? "global" : "user"));
      return limitedGlobal ? limited.addHeader(RawHeader.create("X-RateLimit-Global", "true")) : limited;
    }
    if (content.isEmpty() || content.length() > 2000) {
      attempts.add(new Attempt(channelId, now, 400));
      return json(400, "{\"code\": 50035, \"message\": \"Invalid Form Body\", \"errors\": {\"content\":"
          + " {\"_errors\": [{\"code\": \"BASE_TYPE_MAX_LENGTH\", \"message\": \"Must be 2000 or fewer in length.\"}]}}}");
    }
    attempts.add(new Attempt(channelId, now, 200));
    Sent reply = new Sent(channelId, content, now);
    sent.add(reply);
    sentListener.accept(reply);
    notifyAll();
    ObjectNode message = JSON.createObjectNode();
    message.put("id", String.valueOf(ids.incrementAndGet()));
    message.put("channel_id", channelId);
    message.put("content", content);
    message.putObject("author").put("id", botUserId).put("username", "switchboard-bot").put("bot", true);
    Optional<Duration> exhausted = exhaustNext;
    exhaustNext = Optional.empty();
    return json(200, message.toString())
        .addHeader(RawHeader.create("X-RateLimit-Limit", "5"))
        .addHeader(RawHeader.create("X-RateLimit-Remaining", exhausted.isPresent() ? "0" : "4"))
        .addHeader(RawHeader.create("X-RateLimit-Reset-After",
            String.valueOf(exhausted.map(d -> d.toMillis() / 1000.0).orElse(1.0))))
        .addHeader(RawHeader.create("X-RateLimit-Bucket", BUCKET));
  }

  // ---- what a test reads ----

  /** {@code listener} hears every reply as it is taken (inside this fake's lock: keep it quick). */
  public synchronized void onSent(java.util.function.Consumer<Sent> listener) {
    sentListener = listener;
  }

  /** Whether the bot is connected with a ready session, so that a {@link #userMessage} reaches it now. */
  public synchronized boolean ready() {
    return current != null && live != null && live.session == current;
  }

  public synchronized List<Sent> sent() {
    return List.copyOf(sent);
  }

  public synchronized List<Sent> sent(String channelId) {
    return sent.stream().filter(s -> s.channelId().equals(channelId)).toList();
  }

  /** Waits until {@code count} replies went to {@code channelId}; returns them. */
  public List<Sent> awaitSent(String channelId, int count, Duration timeout) {
    await(timeout, () -> sent(channelId).size() >= count, count + " replies to " + channelId);
    return sent(channelId);
  }

  public synchronized List<Attempt> attempts() {
    return List.copyOf(attempts);
  }

  public synchronized List<JsonNode> identifies() {
    return List.copyOf(identifies);
  }

  public synchronized List<JsonNode> resumes() {
    return List.copyOf(resumes);
  }

  public synchronized List<String> authorizationHeaders() {
    return List.copyOf(authorizations);
  }

  public synchronized int connections() {
    return connections;
  }

  public synchronized int heartbeats() {
    return heartbeats;
  }

  public synchronized int typings(String channelId) {
    return typings.getOrDefault(channelId, 0);
  }

  public void awaitIdentifies(int count, Duration timeout) {
    await(timeout, () -> identifies.size() >= count, count + " IDENTIFYs");
  }

  public void awaitResumes(int count, Duration timeout) {
    await(timeout, () -> resumes.size() >= count, count + " RESUMEs");
  }

  public void awaitConnections(int count, Duration timeout) {
    await(timeout, () -> connections >= count, count + " connections");
  }

  /** Waits, under the lock, until {@code condition} holds; each state change wakes it. */
  private synchronized void await(Duration timeout, BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (left <= 0) {
        throw new AssertionError("fake Discord: timed out waiting for " + what + "; sent " + sent
            + ", identifies " + identifies.size() + ", resumes " + resumes.size() + ", connections " + connections);
      }
      try {
        wait(Math.min(left, 50));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }

  private static HttpResponse json(int status, String body) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, body);
  }

  @Override
  public void close() {
    binding.unbind();
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // a fake that is slow to stop does not fail the test
    }
  }
}
