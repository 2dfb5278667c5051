package switchboard.channels.telegram;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.apache.pekko.stream.Materializer;

/**
 * The few Bot API methods the channel uses, over the Pekko HTTP client (non-blocking: every call
 * returns a CompletionStage the actors pipe to themselves, so no actor thread ever waits on
 * Telegram). Every failure becomes a {@link BotApiException} whose text has the token redacted.
 */
final class BotApiClient {
  /** How much longer than the long-poll timeout a getUpdates may take before it counts as hung. */
  static final Duration POLL_GRACE = Duration.ofSeconds(10);

  private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Http http;
  private final org.apache.pekko.event.LoggingAdapter log;
  private final Materializer materializer;
  private final ConnectionPoolSettings pool;
  private final String methodBase;
  private final Redactor redactor;

  BotApiClient(ActorSystem<?> system, TelegramConfig config) {
    this.http = Http.get(system);
    this.log = system.classicSystem().log();
    this.materializer = Materializer.matFromSystem(system);
    Duration idle = config.pollTimeout().plus(POLL_GRACE);
    this.pool =
        ConnectionPoolSettings.create(system.classicSystem())
            .withMaxConnections(16)
            .withMaxOpenRequests(256)
            .withMaxRetries(0)
            .withConnectionSettings(
                ClientConnectionSettings.create(system.classicSystem())
                    .withIdleTimeout(idle)
                    .withConnectingTimeout(Duration.ofSeconds(10)));
    this.methodBase = config.baseUrl() + "/bot" + config.token() + "/";
    this.redactor = new Redactor(config.token());
  }

  Redactor redactor() {
    return redactor;
  }

  /** Switches the bot to getUpdates: Telegram refuses long polling while a webhook is set. */
  CompletionStage<Void> deleteWebhook() {
    return call("deleteWebhook", JSON.createObjectNode(), SEND_TIMEOUT).thenApply(result -> null);
  }

  /** One long poll: updates with {@code update_id >= offset} (no offset when 0). */
  CompletionStage<List<TelegramUpdate>> getUpdates(long offset, Duration timeout) {
    ObjectNode params = JSON.createObjectNode();
    if (offset != 0) {
      params.put("offset", offset);
    }
    params.put("timeout", timeout.toSeconds());
    params.putArray("allowed_updates").add("message");
    return call("getUpdates", params, timeout.plus(POLL_GRACE))
        .thenApply(
            result -> {
              if (!result.isArray()) {
                throw new BotApiException(0, "getUpdates result is not a list", Optional.empty());
              }
              List<TelegramUpdate> updates = new ArrayList<>();
              result.forEach(u -> updates.add(TelegramUpdate.parse(u)));
              return updates;
            });
  }

  /** Sends {@code text} to {@code chatId}, as a reply to {@code replyTo} when it is not 0. */
  CompletionStage<Void> sendMessage(long chatId, String text, long replyTo) {
    ObjectNode params = JSON.createObjectNode();
    params.put("chat_id", chatId);
    params.put("text", text);
    if (replyTo != 0) {
      params.putObject("reply_parameters")
          .put("message_id", replyTo)
          .put("allow_sending_without_reply", true);
    }
    return call("sendMessage", params, SEND_TIMEOUT).thenApply(result -> null);
  }

  private CompletionStage<JsonNode> call(String method, ObjectNode params, Duration timeout) {
    byte[] body;
    try {
      body = JSON.writeValueAsBytes(params);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
    HttpRequest request =
        HttpRequest.POST(methodBase + method)
            .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body));
    return http.singleRequest(request, http.defaultClientHttpsContext(), pool, log)
        .thenCompose(response -> read(method, response, timeout))
        .toCompletableFuture()
        .orTimeout(timeout.toMillis() + 1000, java.util.concurrent.TimeUnit.MILLISECONDS)
        .exceptionally(
            e -> {
              throw failure(method, e);
            });
  }

  private CompletionStage<JsonNode> read(String method, HttpResponse response, Duration timeout) {
    int status = response.status().intValue();
    return response
        .entity()
        .toStrict(timeout.toMillis(), materializer)
        .thenApply(strict -> parse(method, status, strict.getData().toArray()));
  }

  private JsonNode parse(String method, int status, byte[] body) {
    JsonNode json;
    try {
      json = JSON.readTree(body);
    } catch (IOException e) {
      json = null;
    }
    if (json == null || !json.isObject() || !json.path("ok").isBoolean()) {
      throw new BotApiException(
          status == 200 ? 0 : status,
          method + ": HTTP " + status + " with a body that is not a Bot API response",
          Optional.empty());
    }
    if (json.path("ok").asBoolean() && status / 100 == 2) {
      return json.path("result");
    }
    int code = json.path("error_code").asInt(status);
    JsonNode retryAfter = json.path("parameters").path("retry_after");
    throw new BotApiException(
        code,
        method + ": HTTP " + code + " " + json.path("description").asText(""),
        retryAfter.canConvertToLong()
            ? Optional.of(Duration.ofSeconds(retryAfter.asLong()))
            : Optional.empty());
  }

  private BotApiException failure(String method, Throwable e) {
    Throwable cause = e;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof BotApiException api) {
      return new BotApiException(api.status(), redactor.redact(api.getMessage()), api.retryAfter());
    }
    String what =
        cause instanceof TimeoutException
            ? "timed out"
            : cause.getClass().getSimpleName() + ": " + cause.getMessage();
    return new BotApiException(0, redactor.redact(method + ": " + what), Optional.empty());
  }
}
