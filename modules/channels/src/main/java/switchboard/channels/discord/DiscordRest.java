package switchboard.channels.discord;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import switchboard.channels.Redactor;
import switchboard.providers.wire.Json;

/**
 * The two REST calls the Discord channel makes ({@code GET /gateway/bot}, {@code POST
 * /channels/{id}/messages}), over the JDK's non-blocking {@link HttpClient} like the Telegram
 * channel's Bot API client, so no actor thread waits. Every call carries {@code Authorization: Bot
 * <token>}; what comes back is a {@link Response} with Discord's rate-limit headers read out, and a
 * failure's text never holds the token.
 */
final class DiscordRest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final HttpClient http;
  private final String base;
  private final String authorization;
  private final Redactor redactor;

  DiscordRest(DiscordConfig config) {
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
    this.base = config.apiBaseUrl();
    this.authorization = "Bot " + config.token();
    this.redactor = new Redactor(config.token());
  }

  /**
   * One answer of Discord's REST API.
   *
   * @param retryAfter how long to wait before the next call: a 429's {@code retry_after} (or its
   *     {@code Retry-After} header), or {@code X-RateLimit-Reset-After} when {@code
   *     X-RateLimit-Remaining} is 0; zero when nothing needs waiting
   * @param global the 429 applies to every call of the bot, not only this route
   */
  record Response(int status, Optional<JsonNode> body, Duration retryAfter, boolean global) {
    boolean ok() {
      return status / 100 == 2;
    }

    /** The error text Discord sent, for the log. */
    String message() {
      return body.map(b -> b.path("message").asText("")).filter(m -> !m.isEmpty()).orElse("HTTP " + status);
    }
  }

  /** {@code GET /gateway/bot}: the Gateway's WebSocket URL. */
  CompletionStage<Response> gatewayBot() {
    return call(HttpRequest.newBuilder(URI.create(base + "/gateway/bot")).GET());
  }

  /** {@code POST /channels/{channelId}/messages} with {@code content}. */
  CompletionStage<Response> createMessage(String channelId, String content) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("content", content);
    body.putObject("allowed_mentions").putArray("parse");
    return call(HttpRequest.newBuilder(URI.create(base + "/channels/" + channelId + "/messages"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body))));
  }

  /** {@code text} without the token, for logs and status. */
  String redact(String text) {
    return redactor.redact(text);
  }

  private CompletionStage<Response> call(HttpRequest.Builder request) {
    return http.sendAsync(
            request.header("Authorization", authorization)
                .header("User-Agent", "DiscordBot (https://github.com/switchboard, 0.1)")
                .timeout(TIMEOUT)
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .thenApply(DiscordRest::response);
  }

  private static Response response(HttpResponse<String> response) {
    Optional<JsonNode> body = Json.parse(response.body()).filter(JsonNode::isObject);
    boolean limited = response.statusCode() == 429;
    double wait = 0;
    if (limited) {
      wait = body.map(b -> b.path("retry_after").asDouble(0)).orElse(0.0);
      wait = Math.max(wait, header(response, "retry-after").map(DiscordRest::seconds).orElse(0.0));
    }
    boolean exhausted = header(response, "x-ratelimit-remaining").map(DiscordRest::seconds).orElse(1.0) <= 0;
    if (limited || exhausted) {
      wait = Math.max(wait, header(response, "x-ratelimit-reset-after").map(DiscordRest::seconds).orElse(0.0));
    }
    boolean global = limited && (body.map(b -> b.path("global").asBoolean(false)).orElse(false)
        || header(response, "x-ratelimit-global").map(v -> v.equalsIgnoreCase("true")).orElse(false)
        || header(response, "x-ratelimit-scope").map(v -> v.equalsIgnoreCase("global")).orElse(false));
    if (limited && wait <= 0) {
      wait = 1;
    }
    return new Response(response.statusCode(), body, Duration.ofMillis((long) Math.ceil(wait * 1000)), global);
  }

  private static Optional<String> header(HttpResponse<?> response, String name) {
    return response.headers().firstValue(name.toLowerCase(Locale.ROOT)).map(String::trim);
  }

  private static double seconds(String value) {
    try {
      double parsed = Double.parseDouble(value);
      return Double.isFinite(parsed) && parsed > 0 ? parsed : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
