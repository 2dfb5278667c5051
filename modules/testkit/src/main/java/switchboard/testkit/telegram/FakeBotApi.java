package switchboard.testkit.telegram;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A stand-in for the Telegram Bot API, for tests of this module and of the gateway: an HTTP server
 * on 127.0.0.1 (a free port) answering {@code POST /bot<token>/<method>} for {@code getUpdates},
 * {@code sendMessage}, {@code deleteWebhook} and {@code getMe} (names matched case-insensitively,
 * parameters as JSON, form or query string).
 *
 * <p>{@code getUpdates} has Telegram's long-poll semantics: it returns the updates with
 * {@code update_id >= offset}, waits up to {@code timeout} seconds for one when there are none and
 * returns as soon as one arrives; an offset confirms (forgets) every update below it, and a call
 * without offset returns the unconfirmed ones. {@link #sent()} holds every message Telegram would
 * have delivered; faults are injected with {@link #failNext}, {@link #garbageNext},
 * {@link #failNextSends}, {@link #chatNotFound} and {@link #redeliver}.
 */
public final class FakeBotApi implements AutoCloseable {
  /** A token in Telegram's format, used by {@link #start()}. */
  public static final String TOKEN = "7012345678:TEST-fake-token-for-tests-xyz0123456789";

  /** A message the bot sent: {@code replyTo} is the message id it replied to, when it did. */
  public record SentMessage(long chatId, String text, Optional<Long> replyTo) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String token;
  private final HttpServer server;
  private final ExecutorService executor;
  private final Deque<ObjectNode> updates = new ArrayDeque<>();
  private final Map<Long, ObjectNode> delivered = new HashMap<>();
  private final Map<Long, Long> messageIds = new HashMap<>();
  private final List<SentMessage> sent = new ArrayList<>();
  private final Map<String, Integer> calls = new TreeMap<>();
  private final Set<Long> unknownChats = new HashSet<>();
  private final Map<Long, List<String>> chatActions = new java.util.HashMap<>();
  private final Deque<Integer> pollFailures = new ArrayDeque<>();
  private final Deque<Integer> sendFailures = new ArrayDeque<>();
  private Integer outage;
  private int swallowSends;
  private java.util.function.Consumer<SentMessage> sentListener = m -> { };
  private long nextUpdateId = 1000;
  private long nextMessageId = 1;
  private long confirmed;
  private boolean closed;

  private FakeBotApi(String token) throws IOException {
    this.token = token;
    this.executor =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "fake-bot-api");
              t.setDaemon(true);
              return t;
            });
    this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  /** Starts a fake Bot API for {@link #TOKEN}. */
  public static FakeBotApi start() {
    return start(TOKEN);
  }

  /** Starts a fake Bot API that accepts only {@code token}. */
  public static FakeBotApi start(String token) {
    try {
      return new FakeBotApi(token);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String token() {
    return token;
  }

  /** The value for {@code channels.telegram.base-url}, e.g. {@code http://127.0.0.1:41234}. */
  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** A user writes {@code text} in chat {@code chatId}; returns the update id. */
  public synchronized long userSays(long chatId, String text) {
    ObjectNode message = newMessage(chatId);
    message.put("text", text);
    return enqueue(message);
  }

  /** A user sends a sticker (a message without text); returns the update id. */
  public synchronized long sendSticker(long chatId) {
    ObjectNode message = newMessage(chatId);
    message.putObject("sticker").put("file_id", "CAACAgIAAxkBAAEFake").put("emoji", "\uD83D\uDC4D");
    return enqueue(message);
  }

  /** A user edits an earlier message: an {@code edited_message} update; returns the update id. */
  public synchronized long userEdits(long chatId, long updateId, String text) {
    ObjectNode message = newMessage(chatId);
    message.put("message_id", messageIdOf(updateId)).put("text", text);
    ObjectNode update = JSON.createObjectNode().put("update_id", nextUpdateId++);
    update.set("edited_message", message);
    return offer(update);
  }

  /** The message id of the user's message in update {@code updateId}. */
  public synchronized long messageIdOf(long updateId) {
    Long id = messageIds.get(updateId);
    if (id == null) {
      throw new IllegalArgumentException("no message in update " + updateId);
    }
    return id;
  }

  /**
   * Delivers update {@code updateId} once more, even though its offset was confirmed: what the bot
   * sees when a restart happened before Telegram heard the confirmation.
   */
  public synchronized void redeliver(long updateId) {
    ObjectNode update = delivered.get(updateId);
    if (update == null) {
      throw new IllegalArgumentException("unknown update " + updateId);
    }
    update = update.deepCopy().put("__redeliver", true);
    updates.addFirst(update);
    notifyAll();
  }

  /**
   * Delivers the message of update {@code updateId} again under a new update id: a Telegram that
   * misbehaves, for showing that a soak's "answered twice" check catches a second answer.
   */
  public synchronized long deliverAgainAsNew(long updateId) {
    ObjectNode update = delivered.get(updateId);
    if (update == null || !update.has("message")) {
      throw new IllegalArgumentException("unknown update " + updateId);
    }
    ObjectNode copy = JSON.createObjectNode().put("update_id", nextUpdateId++);
    copy.set("message", update.get("message").deepCopy());
    messageIds.put(copy.get("update_id").asLong(), update.get("message").get("message_id").asLong());
    return offer(copy);
  }

  /**
   * The next {@code times} sendMessage calls answer 200 but are not delivered: a Telegram that
   * loses messages, for showing that a soak's "lost" check catches a missing answer.
   */
  public synchronized void swallowNextSends(int times) {
    swallowSends += times;
  }

  /** {@code listener} hears every message as it is delivered (inside this fake's lock: keep it quick). */
  public synchronized void onSent(java.util.function.Consumer<SentMessage> listener) {
    sentListener = listener;
  }

  /** The next {@code times} getUpdates calls answer HTTP {@code status} (409 Conflict, 502, 429...). */
  public synchronized void failNext(int status, int times) {
    for (int i = 0; i < times; i++) {
      pollFailures.add(status);
    }
  }

  /** Every getUpdates call answers HTTP {@code status} until {@link #heal()}. */
  public synchronized void failUntilHealed(int status) {
    outage = status;
  }

  /** Ends {@link #failUntilHealed} and drops failures still queued by {@link #failNext}. */
  public synchronized void heal() {
    outage = null;
    pollFailures.clear();
  }

  /** The next {@code times} getUpdates calls answer 200 with a body that is not JSON. */
  public synchronized void garbageNext(int times) {
    failNext(-1, times);
  }

  /** The next {@code times} sendMessage calls answer HTTP {@code status}. */
  public synchronized void failNextSends(int status, int times) {
    for (int i = 0; i < times; i++) {
      sendFailures.add(status);
    }
  }

  /** sendMessage to {@code chatId} answers 400 "chat not found" from now on. */
  public synchronized void chatNotFound(long chatId) {
    unknownChats.add(chatId);
  }

  /** Every message sent so far, in order. */
  public synchronized List<SentMessage> sent() {
    return List.copyOf(sent);
  }

  /** The messages sent to {@code chatId}, in order. */
  public synchronized List<SentMessage> sentTo(long chatId) {
    return sent.stream().filter(m -> m.chatId() == chatId).toList();
  }

  /**
   * Waits until at least {@code count} messages were sent to {@code chatId} and returns them all;
   * fails with an AssertionError naming what was sent after {@code timeout}.
   */
  public synchronized List<SentMessage> awaitSentTo(long chatId, int count, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (sentTo(chatId).size() < count) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError(
            "expected " + count + " message(s) to chat " + chatId + " within " + timeout + ", got " + sentTo(chatId));
      }
      try {
        wait(Math.max(1, left / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
    return sentTo(chatId);
  }

  /** How often {@code method} (lower case, e.g. {@code getupdates}) was called, failures included. */
  public synchronized int calls(String method) {
    return calls.getOrDefault(method.toLowerCase(Locale.ROOT), 0);
  }

  @Override
  public void close() {
    synchronized (this) {
      closed = true;
      notifyAll();
    }
    server.stop(0);
    executor.shutdownNow();
  }

  private ObjectNode newMessage(long chatId) {
    ObjectNode message = JSON.createObjectNode();
    message.put("message_id", nextMessageId++);
    message.put("date", System.currentTimeMillis() / 1000);
    message.putObject("from").put("id", chatId).put("is_bot", false).put("first_name", "Tester");
    message.putObject("chat").put("id", chatId).put("type", chatId < 0 ? "group" : "private");
    return message;
  }

  private long enqueue(ObjectNode message) {
    ObjectNode update = JSON.createObjectNode().put("update_id", nextUpdateId++);
    update.set("message", message);
    messageIds.put(update.get("update_id").asLong(), message.get("message_id").asLong());
    return offer(update);
  }

  private long offer(ObjectNode update) {
    long id = update.get("update_id").asLong();
    updates.addLast(update);
    delivered.put(id, update);
    notifyAll();
    return id;
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      String path = exchange.getRequestURI().getPath();
      String prefix = "/bot" + token + "/";
      if (!path.startsWith(prefix)) {
        respond(exchange, 401, error(401, "Unauthorized"));
        return;
      }
      String method = path.substring(prefix.length()).toLowerCase(Locale.ROOT);
      synchronized (this) {
        calls.merge(method, 1, Integer::sum);
      }
      Map<String, JsonNode> params = params(exchange);
      switch (method) {
        case "getupdates" -> getUpdates(exchange, params);
        case "sendmessage" -> sendMessage(exchange, params);
        case "deletewebhook" -> respond(exchange, 200, ok(JSON.getNodeFactory().booleanNode(true)));
        case "getme" -> respond(exchange, 200, ok(getMe()));
        case "sendchataction" -> chatAction(exchange, params);
        default -> respond(exchange, 404, error(404, "Not Found: method not found"));
      }
    } catch (RuntimeException e) {
      respond(exchange, 500, error(500, "Internal Server Error: " + e));
    } finally {
      exchange.close();
    }
  }

  private void chatAction(HttpExchange exchange, Map<String, JsonNode> params) throws IOException {
    synchronized (this) {
      long chatId = params.containsKey("chat_id") ? params.get("chat_id").asLong() : 0;
      chatActions.computeIfAbsent(chatId, k -> new ArrayList<>())
          .add(params.containsKey("action") ? params.get("action").asText() : "");
    }
    respond(exchange, 200, ok(JSON.getNodeFactory().booleanNode(true)));
  }

  /** The chat actions ({@code typing}, ...) sent to {@code chatId}, in order. */
  public synchronized List<String> chatActions(long chatId) {
    return List.copyOf(chatActions.getOrDefault(chatId, List.of()));
  }

  private void getUpdates(HttpExchange exchange, Map<String, JsonNode> params) throws IOException {
    long offset = params.containsKey("offset") ? params.get("offset").asLong() : 0;
    long timeout = params.containsKey("timeout") ? params.get("timeout").asLong() : 0;
    int limit = params.containsKey("limit") ? params.get("limit").asInt(100) : 100;
    Integer failure;
    List<JsonNode> result = new ArrayList<>();
    synchronized (this) {
      failure = pollFailures.isEmpty() ? outage : pollFailures.poll();
      if (failure == null) {
        long deadline = System.nanoTime() + Duration.ofSeconds(timeout).toNanos();
        while (true) {
          if (offset > 0) {
            confirmed = Math.max(confirmed, offset);
          }
          for (Iterator<ObjectNode> it = updates.iterator(); it.hasNext() && result.size() < limit; ) {
            ObjectNode update = it.next();
            if (update.has("__redeliver")) {
              it.remove();
              ObjectNode copy = update.deepCopy();
              copy.remove("__redeliver");
              result.add(copy);
            } else if (update.get("update_id").asLong() < confirmed) {
              it.remove();
            } else {
              result.add(update);
            }
          }
          long left = deadline - System.nanoTime();
          if (!result.isEmpty() || left <= 0 || closed) {
            break;
          }
          try {
            wait(Math.max(1, left / 1_000_000));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            break;
          }
        }
      }
    }
    if (failure == null) {
      respond(exchange, 200, ok(JSON.valueToTree(result)));
    } else if (failure == -1) {
      respond(exchange, 200, "<html>not json".getBytes(StandardCharsets.UTF_8), "text/html");
    } else if (failure >= 500) {
      String html = "<html><body><h1>" + failure + " Bad Gateway</h1></body></html>";
      respond(exchange, failure, html.getBytes(StandardCharsets.UTF_8), "text/html");
    } else if (failure == 409) {
      respond(exchange, 409, error(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"));
    } else {
      respond(exchange, failure, error(failure, "Error " + failure));
    }
  }

  private void sendMessage(HttpExchange exchange, Map<String, JsonNode> params) throws IOException {
    long chatId = params.containsKey("chat_id") ? params.get("chat_id").asLong() : 0;
    String text = params.containsKey("text") ? params.get("text").asText() : "";
    Optional<Long> replyTo = Optional.empty();
    if (params.containsKey("reply_parameters")) {
      replyTo = Optional.of(params.get("reply_parameters").path("message_id").asLong());
    } else if (params.containsKey("reply_to_message_id")) {
      replyTo = Optional.of(params.get("reply_to_message_id").asLong());
    }
    int status;
    byte[] body;
    synchronized (this) {
      Integer failure = sendFailures.poll();
      if (failure != null) {
        status = failure;
        body = error(failure, failure == 429 ? "Too Many Requests: retry after 1" : "Error " + failure);
      } else if (chatId == 0 || unknownChats.contains(chatId)) {
        status = 400;
        body = error(400, "Bad Request: chat not found");
      } else if (text.isEmpty()) {
        status = 400;
        body = error(400, "Bad Request: message text is empty");
      } else if (text.length() > 4096) {
        status = 400;
        body = error(400, "Bad Request: message is too long");
      } else {
        if (swallowSends > 0) {
          swallowSends--;
        } else {
          SentMessage out = new SentMessage(chatId, text, replyTo);
          sent.add(out);
          sentListener.accept(out);
        }
        ObjectNode message = JSON.createObjectNode();
        message.put("message_id", nextMessageId++).put("date", System.currentTimeMillis() / 1000);
        message.putObject("chat").put("id", chatId);
        message.put("text", text);
        status = 200;
        body = ok(message);
        notifyAll();
      }
    }
    respond(exchange, status, body);
  }

  private ObjectNode getMe() {
    return JSON.createObjectNode()
        .put("id", botId())
        .put("is_bot", true)
        .put("first_name", "Switchboard test bot")
        .put("username", "switchboard_test_bot");
  }

  private long botId() {
    int colon = token.indexOf(':');
    try {
      return Long.parseLong(colon < 0 ? token : token.substring(0, colon));
    } catch (NumberFormatException e) {
      return 1;
    }
  }

  /** Query string, then a JSON or form body; JSON-looking form values (reply_parameters) are parsed. */
  private static Map<String, JsonNode> params(HttpExchange exchange) throws IOException {
    Map<String, JsonNode> params = new HashMap<>();
    String query = exchange.getRequestURI().getRawQuery();
    if (query != null) {
      form(query, params);
    }
    byte[] body = exchange.getRequestBody().readAllBytes();
    String type = Optional.ofNullable(exchange.getRequestHeaders().getFirst("Content-Type")).orElse("").toLowerCase(Locale.ROOT);
    if (body.length > 0 && type.contains("json")) {
      JsonNode json = JSON.readTree(body);
      json.fields().forEachRemaining(e -> params.put(e.getKey(), e.getValue()));
    } else if (body.length > 0) {
      form(new String(body, StandardCharsets.UTF_8), params);
    }
    return params;
  }

  private static void form(String encoded, Map<String, JsonNode> params) {
    for (String pair : encoded.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      JsonNode node = JSON.getNodeFactory().textNode(value);
      if (value.startsWith("{") || value.startsWith("[")) {
        try {
          node = JSON.readTree(value);
        } catch (IOException e) {
          // not JSON after all: keep the text
        }
      }
      params.put(key, node);
    }
  }

  private static byte[] ok(JsonNode result) {
    ObjectNode body = JSON.createObjectNode().put("ok", true);
    body.set("result", result);
    return body.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] error(int code, String description) {
    ObjectNode body = JSON.createObjectNode().put("ok", false).put("error_code", code).put("description", description);
    if (code == 429) {
      body.putObject("parameters").put("retry_after", 1);
    }
    return body.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static void respond(HttpExchange exchange, int status, byte[] body) throws IOException {
    respond(exchange, status, body, "application/json");
  }

  private static void respond(HttpExchange exchange, int status, byte[] body, String contentType) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }
}
