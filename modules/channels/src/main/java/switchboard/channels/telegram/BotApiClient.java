package switchboard.channels.telegram;

import switchboard.channels.Redactor;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * The few Bot API methods the channel uses, over the JDK's non-blocking {@link HttpClient}: every
 * call returns a CompletionStage that the actors pipe to themselves, so no actor thread ever waits
 * on Telegram. Why not Pekko HTTP's client: its connection pool logs request URIs, and a Bot API
 * URI carries the token ({@code /bot<token>/getUpdates}); the JDK client logs nothing. Every
 * failure becomes a {@link BotApiException} whose text has the token redacted.
 */
final class BotApiClient {
  /** How much longer than the long-poll timeout a getUpdates may take before it counts as hung. */
  static final Duration POLL_GRACE = Duration.ofSeconds(10);

  private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http;
  private final String methodBase;
  private final Redactor redactor;

  BotApiClient(TelegramConfig config) {
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
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

  /** Shows {@code action} (e.g. {@code typing}) in {@code chatId} for a few seconds; a failure is only logged at debug. */
  CompletionStage<Void> sendChatAction(long chatId, String action) {
    ObjectNode params = JSON.createObjectNode();
    params.put("chat_id", chatId);
    params.put("action", action);
    return call("sendChatAction", params, SEND_TIMEOUT).handle((result, error) -> null);
  }

  private CompletionStage<JsonNode> call(String method, ObjectNode params, Duration timeout) {
    CompletableFuture<JsonNode> result;
    try {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create(methodBase + method))
              .timeout(timeout)
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(params)))
              .build();
      result =
          http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray())
              .thenApply(response -> parse(method, response.statusCode(), response.body()));
    } catch (IOException | RuntimeException e) {
      result = CompletableFuture.failedFuture(e);
    }
    return result.exceptionally(
        e -> {
          throw failure(method, e);
        });
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
    String what = cause instanceof HttpTimeoutException ? "timed out" : describe(cause);
    return new BotApiException(0, redactor.redact(method + ": " + what), Optional.empty());
  }

  /** The exception's class and the first message found down its causes (the JDK often nests them). */
  static String describe(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        return error.getClass().getSimpleName() + ": " + t.getMessage();
      }
    }
    return error.getClass().getSimpleName();
  }
}
