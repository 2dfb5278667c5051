package switchboard.supervision.chaos;

import static switchboard.providers.fake.FakeProviderServer.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import switchboard.supervision.chaos.ChaosHistory.Answer;
import switchboard.supervision.chaos.ChaosHistory.AnswerKind;
import switchboard.supervision.chaos.ChaosHistory.Channel;
import switchboard.supervision.chaos.ChaosHistory.Message;
import switchboard.testkit.telegram.FakeBotApi;

/**
 * The users of a soak: HTTP clients (conversations, chat completions whole and streamed, Anthropic
 * messages), Telegram chats and Discord channels, sending {@code rate} messages a second in a seeded mix. Every
 * message carries its id in its text. An HTTP request whose connection fails (the gateway was
 * killed or is restarting) is sent again with the same {@code Idempotency-Key}, as a careful client
 * would, until it is answered or the run's drain time is over; each failure is recorded so the
 * checks can tell a kill's dropped connections from any other. The fake Telegram also misbehaves
 * now and then: a failed poll, a failed send, an update delivered twice.
 */
final class ChaosLoad implements AutoCloseable {

  static final int CONVERSATIONS = 30;
  static final int CHATS = 20;
  static final int DISCORD_CHANNELS = 8;
  /** How far back an answered Telegram update may be delivered again (a poll batch is at most 100). */
  static final int RECENT_UPDATES = 50;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String[] WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
      "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"};

  /** A connection that failed, with when its request was sent. */
  record Drop(String messageId, Instant sent, Instant failed, String error) {}

  private final ChaosSettings settings;
  private final ChaosSetup setup;
  private final ChaosHistory history;
  private final String base;
  private final Random random;
  private final ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor(daemon("chaos-load"));
  private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor(daemon("chaos-resend"));
  private final ExecutorService io = Executors.newCachedThreadPool(daemon("chaos-http"));
  private final HttpClient client;
  private final AtomicLong ids = new AtomicLong();
  private final AtomicLong heapConversations = new AtomicLong();
  private final Map<Long, String> telegramIds = new ConcurrentHashMap<>();
  private final Map<String, Long> updateOf = new ConcurrentHashMap<>();
  /** The update ids of the last answered Telegram messages, oldest first. */
  private final java.util.ArrayDeque<Long> recentlyAnswered = new java.util.ArrayDeque<>();
  /** Per Discord channel, its messages not answered yet, oldest first (guarded by the fake's lock). */
  private final Map<String, java.util.Deque<String>> discordPending = new ConcurrentHashMap<>();
  /** When each Discord message still waited for was sent (guarded by the fake's lock). */
  private final Map<String, Instant> discordSentAt = new java.util.HashMap<>();
  private final Set<String> pending = ConcurrentHashMap.newKeySet();
  final java.util.concurrent.ConcurrentLinkedQueue<Drop> drops = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private volatile Instant giveUpAt = Instant.MAX;
  /** With {@link Sabotage#HEAP}: big messages from here on, after the first heap sample. */
  private volatile Instant heapFrom = Instant.MAX;

  ChaosLoad(ChaosSettings settings, ChaosSetup setup, ChaosHistory history, String base) {
    this.settings = settings;
    this.setup = setup;
    this.history = history;
    this.base = base;
    this.random = new Random(settings.seed());
    this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2)).executor(io).build();
    setup.telegram.onSent(this::telegramAnswered);
    setup.discord.onSent(this::discordAnswered);
  }

  /** Starts sending; stop with {@link #stopSending()}. */
  void start() {
    if (settings.breaks(Sabotage.HEAP)) {
      heapFrom = Instant.now().plus(ChaosRun.WARMUP).plusSeconds(2);
    }
    long period = Math.max(1, Math.round(1_000_000 / settings.rate()));
    ticks.scheduleAtFixedRate(this::tick, 0, period, TimeUnit.MICROSECONDS);
  }

  void stopSending() {
    ticks.shutdownNow();
  }

  /** Messages sent and not answered yet. */
  int pending() {
    return pending.size();
  }

  /** Failed HTTP requests are no longer sent again after {@code at}. */
  void giveUpAt(Instant at) {
    giveUpAt = at;
  }

  private void tick() {
    try {
      int pick = random.nextInt(100);
      String id = "m" + ids.incrementAndGet();
      if (pick < 25) {
        telegram(id);
      } else if (pick < 35) {
        discord(id);
      } else if (pick < 65 || Instant.now().isAfter(heapFrom)) {
        conversation(id);
      } else if (pick < 80) {
        completion(id, false);
      } else if (pick < 90) {
        completion(id, true);
      } else {
        anthropic(id);
      }
      telegramFaults();
    } catch (RuntimeException e) {
      // a tick must never end the schedule
    }
  }

  private String text(String id) {
    StringBuilder text = new StringBuilder("chaos-").append(id);
    int words = 2 + random.nextInt(8);
    for (int i = 0; i < words; i++) {
      text.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
    }
    return text.toString();
  }

  // ---- Telegram ---------------------------------------------------------------------------------

  private void telegram(String id) {
    long chat = 7000 + random.nextInt(CHATS);
    pending.add(id);
    long update;
    synchronized (setup.telegram) {
      update = setup.telegram.userSays(chat, text(id));
      long messageId = setup.telegram.messageIdOf(update);
      telegramIds.put(messageId, id);
      updateOf.put(id, update);
      history.message(new Message(id, Channel.TELEGRAM, "telegram:" + chat, Instant.now(), messageId));
    }
  }

  private void telegramAnswered(FakeBotApi.SentMessage sent) {
    String id = sent.replyTo().map(telegramIds::get).orElse(null);
    if (id == null) {
      return;
    }
    chatAnswered(id, sent.text());
    Long update = updateOf.get(id);
    if (update == null) {
      return;
    }
    synchronized (recentlyAnswered) {
      recentlyAnswered.addLast(update);
      if (recentlyAnswered.size() > RECENT_UPDATES) {
        recentlyAnswered.removeFirst();
      }
    }
    if (settings.breaks(Sabotage.TWICE) && random.nextInt(10) == 0) {
      io.execute(() -> setup.telegram.deliverAgainAsNew(update));
    }
  }

  /** A chat's answer to message {@code id}: a reply echoes it, anything else is an error (or names nothing). */
  private void chatAnswered(String id, String text) {
    pending.remove(id);
    AnswerKind kind = text.startsWith("Echo: ") ? AnswerKind.REPLY : text.isBlank() ? AnswerKind.UNCLEAR : AnswerKind.ERROR;
    history.answer(new Answer(id, Instant.now(), kind, kind == AnswerKind.REPLY ? "" : abbreviate(text)));
  }

  // ---- Discord ----------------------------------------------------------------------------------

  /**
   * A user's message in one of the Discord channels; while the bot is not connected (starting, or
   * the gateway restarting), a Telegram one instead: Discord would not deliver it to a later session.
   */
  private void discord(String id) {
    if (!setup.discord.ready()) {
      telegram(id);
      return;
    }
    String channel = "91000000000000000" + random.nextInt(DISCORD_CHANNELS);
    pending.add(id);
    synchronized (setup.discord) {
      discordPending.computeIfAbsent(channel, c -> new java.util.ArrayDeque<>()).addLast(id);
      discordSentAt.put(id, Instant.now());
      history.message(new Message(id, Channel.DISCORD, "discord:" + channel, Instant.now(), 0));
      setup.discord.userMessage(channel, "700000000000000001", text(id));
    }
  }

  /**
   * The gateway was started again at {@code at}: a Discord message sent before then and not
   * answered never will be (Discord does not hand a new session what the old one missed), so it is
   * no longer waited for. The checks still see it, and count it apart from the lost.
   */
  void restarted(Instant at) {
    synchronized (setup.discord) {
      discordSentAt.entrySet().removeIf(e -> {
        if (e.getValue().isBefore(at) && pending.remove(e.getKey())) {
          discordPending.values().forEach(waiting -> waiting.remove(e.getKey()));
          return true;
        }
        return !pending.contains(e.getKey());
      });
    }
  }

  /**
   * A reply in a Discord channel: a reply names its message in its text (the fake echoes it); an
   * error, which does not, answers the oldest message of that channel still waiting, as a channel's
   * answers go out in arrival order.
   */
  private void discordAnswered(switchboard.testkit.discord.FakeDiscord.Sent sent) {
    java.util.Deque<String> waiting = discordPending.get(sent.channelId());
    if (waiting == null) {
      return;
    }
    java.util.regex.Matcher named = ChaosProvider.MESSAGE_ID.matcher(sent.content());
    String id = named.find() && waiting.remove(named.group(1)) ? named.group(1) : waiting.pollFirst();
    if (id != null) {
      chatAnswered(id, sent.content());
    }
  }

  /** Telegram's own faults, now and then: a failed poll, a failed send, an answered update seen again. */
  private void telegramFaults() {
    int pick = random.nextInt(1000);
    if (pick < 8) {
      setup.telegram.failNext(pick < 4 ? 502 : 429, 1);
    } else if (pick < 14) {
      setup.telegram.failNextSends(pick < 11 ? 502 : 429, 1);
    } else if (pick < 20) {
      recentlyAnsweredUpdate().ifPresent(setup.telegram::redeliver);
    }
    if (settings.breaks(Sabotage.LOST) && ids.get() % 40 == 0) {
      setup.telegram.swallowNextSends(1);
    }
  }

  /**
   * One of the last {@link #RECENT_UPDATES} answered updates: what Telegram can really deliver again
   * (a restart before it heard the offset confirmed resends the last poll's batch, at most 100 updates;
   * one confirmed long ago it never sends again).
   */
  private java.util.Optional<Long> recentlyAnsweredUpdate() {
    synchronized (recentlyAnswered) {
      if (recentlyAnswered.isEmpty()) {
        return java.util.Optional.empty();
      }
      return java.util.Optional.of(List.copyOf(recentlyAnswered).get(random.nextInt(recentlyAnswered.size())));
    }
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  private void conversation(String id) {
    String conversation;
    String text = text(id);
    if (Instant.now().isAfter(heapFrom)) {
      conversation = "heap-" + heapConversations.incrementAndGet();
      text = text + " " + "x".repeat(600 * 1024);
    } else {
      conversation = "c" + random.nextInt(CONVERSATIONS);
    }
    ObjectNode body = JSON.createObjectNode().put("text", text);
    HttpRequest request = post("/api/conversations/" + conversation + "/messages", body)
        .header("Idempotency-Key", "chaos-" + settings.seed() + "-" + id).build();
    send(new Message(id, Channel.CONVERSATION, conversation, Instant.now(), 0), request);
  }

  private void completion(String id, boolean stream) {
    ObjectNode body = JSON.createObjectNode().put("model", "chaos");
    body.putArray("messages").addObject().put("role", "user").put("content", text(id));
    HttpRequest.Builder request;
    if (stream) {
      body.put("stream", true);
      body.putObject("stream_options").put("include_usage", true);
      request = post("/v1/chat/completions", body);
    } else {
      request = post("/v1/chat/completions", body).header("Idempotency-Key", "chaos-" + settings.seed() + "-" + id);
    }
    send(new Message(id, stream ? Channel.COMPLETION_STREAM : Channel.COMPLETION, "", Instant.now(), 0), request.build());
  }

  private void anthropic(String id) {
    ObjectNode body = JSON.createObjectNode().put("model", "chaos").put("max_tokens", 64);
    body.putArray("messages").addObject().put("role", "user").put("content", text(id));
    boolean stream = random.nextBoolean();
    if (stream) {
      body.put("stream", true);
    }
    HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/messages"))
        .timeout(requestTimeout()).header("Content-Type", "application/json")
        .header("x-api-key", setup.httpToken).header("anthropic-version", "2023-06-01")
        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
    send(new Message(id, Channel.MESSAGES, "", Instant.now(), 0), request);
  }

  private HttpRequest.Builder post(String path, ObjectNode body) {
    return HttpRequest.newBuilder(URI.create(base + path)).timeout(requestTimeout())
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + setup.httpToken)
        .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
  }

  private Duration requestTimeout() {
    return setup.checked.router().requestTimeout().plus(Duration.ofSeconds(30));
  }

  private void send(Message message, HttpRequest request) {
    pending.add(message.id());
    history.message(message);
    attempt(message, request);
  }

  private void attempt(Message message, HttpRequest request) {
    Instant sent = Instant.now();
    client.sendAsync(request, HttpResponse.BodyHandlers.ofString()).whenComplete((response, error) -> {
      if (error == null) {
        pending.remove(message.id());
        history.answer(classify(message, response));
        return;
      }
      drops.add(new Drop(message.id(), sent, Instant.now(), describe(error)));
      if (Instant.now().isBefore(giveUpAt)) {
        history.resent(message.id());
        later.schedule(() -> attempt(message, request), 300, TimeUnit.MILLISECONDS);
      }
    });
  }


  /** What an HTTP answer was: a reply, a clear error (JSON or an error event naming its type), or neither. */
  static Answer classify(Message message, HttpResponse<String> response) {
    Instant now = Instant.now();
    String body = response.body() == null ? "" : response.body();
    String contentType = response.headers().firstValue("content-type").orElse("");
    if (contentType.startsWith("text/event-stream")) {
      return streamAnswer(message.id(), now, body);
    }
    JsonNode json;
    try {
      json = JSON.readTree(body);
    } catch (IOException e) {
      return new Answer(message.id(), now, AnswerKind.UNCLEAR, response.statusCode() + " with a body that is not JSON");
    }
    if (json == null) {
      return new Answer(message.id(), now, AnswerKind.UNCLEAR, response.statusCode() + " with an empty body");
    }
    if (response.statusCode() == 200) {
      boolean reply = json.path("reply").isTextual() || json.path("choices").path(0).path("message").isObject()
          || json.path("type").asText().equals("message");
      return new Answer(message.id(), now, reply ? AnswerKind.REPLY : AnswerKind.UNCLEAR, reply ? "" : "200 without a reply");
    }
    return errorAnswer(message.id(), now, json.path("error"), response.statusCode() + " ");
  }

  private static Answer streamAnswer(String id, Instant now, String body) {
    for (String line : body.split("\n")) {
      if (line.startsWith("data: {") && line.contains("\"error\"")) {
        try {
          JsonNode event = JSON.readTree(line.substring("data: ".length()));
          if (event.has("error")) {
            return errorAnswer(id, now, event.path("error"), "stream error event: ");
          }
        } catch (IOException e) {
          return new Answer(id, now, AnswerKind.UNCLEAR, "a stream event that is not JSON");
        }
      }
    }
    if (body.contains("data: [DONE]") || body.contains("event: message_stop")) {
      return new Answer(id, now, AnswerKind.REPLY, "");
    }
    return new Answer(id, now, AnswerKind.UNCLEAR, "a stream that ended with neither its end marker nor an error");
  }

  private static Answer errorAnswer(String id, Instant now, JsonNode error, String prefix) {
    String type = error.path("type").asText("");
    String text = error.path("message").asText("");
    if (type.isEmpty() || text.isEmpty()) {
      return new Answer(id, now, AnswerKind.UNCLEAR, prefix + "an error without a type and a message");
    }
    return new Answer(id, now, AnswerKind.ERROR, prefix.startsWith("stream") ? "stream: " + type : type);
  }

  private static String describe(Throwable error) {
    Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
    return cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
  }

  private static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
  }

  @Override
  public void close() {
    ticks.shutdownNow();
    later.shutdownNow();
    io.shutdownNow();
  }
}
