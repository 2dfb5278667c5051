package switchboard.testkit.telegram;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import switchboard.testkit.telegram.FakeBotApi;
import switchboard.testkit.telegram.FakeBotApi.SentMessage;

/** The fake Bot API speaks enough of Telegram's protocol for the channel and the gateway tests. */
class FakeBotApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final FakeBotApi api = FakeBotApi.start();

  @AfterEach
  void close() {
    api.close();
  }

  private CompletableFuture<HttpResponse<String>> post(String path, String contentType, String body) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(api.baseUrl() + path))
            .timeout(Duration.ofSeconds(20))
            .header("Content-Type", contentType)
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode call(String method, String json) throws Exception {
    HttpResponse<String> response =
        post("/bot" + api.token() + "/" + method, "application/json", json).get(20, TimeUnit.SECONDS);
    return JSON.readTree(response.body());
  }

  @Test
  void methodNamesAreCaseInsensitiveAndFormBodiesWork() throws Exception {
    assertTrue(call("deleteWebhook", "{}").path("result").asBoolean());
    assertEquals("switchboard_test_bot", call("GETME", "{}").path("result").path("username").asText());
    HttpResponse<String> sent =
        post("/bot" + api.token() + "/sendmessage", "application/x-www-form-urlencoded",
                "chat_id=42&text=hi%20there&reply_parameters=%7B%22message_id%22%3A7%7D")
            .get(20, TimeUnit.SECONDS);
    assertEquals(200, sent.statusCode());
    assertEquals(List.of(new SentMessage(42, "hi there", Optional.of(7L))), api.sentTo(42));
  }

  @Test
  void aWrongTokenIsRefused() throws Exception {
    HttpResponse<String> response = post("/bot1:wrong/getMe", "application/json", "{}").get(20, TimeUnit.SECONDS);
    assertEquals(401, response.statusCode());
  }

  @Test
  void getUpdatesWaitsAndReturnsEarlyWhenAnUpdateArrives() throws Exception {
    long started = System.nanoTime();
    CompletableFuture<HttpResponse<String>> poll =
        post("/bot" + api.token() + "/getUpdates", "application/json", "{\"timeout\":15}");
    long id = api.userSays(5, "hello");
    JsonNode updates = JSON.readTree(poll.get(20, TimeUnit.SECONDS).body()).path("result");
    assertTrue(System.nanoTime() - started < Duration.ofSeconds(10).toNanos(), "returned before the timeout");
    assertEquals(1, updates.size());
    assertEquals(id, updates.get(0).path("update_id").asLong());
    assertEquals("hello", updates.get(0).path("message").path("text").asText());
    assertEquals(api.messageIdOf(id), updates.get(0).path("message").path("message_id").asLong());

    // Without an offset the unconfirmed update comes again; an offset past it confirms it.
    assertEquals(1, call("getUpdates", "{}").path("result").size());
    assertEquals(0, call("getUpdates", "{\"offset\":" + (id + 1) + "}").path("result").size());
    assertEquals(0, call("getUpdates", "{}").path("result").size());
  }

  @Test
  void anEmptyLongPollWaitsForItsTimeout() throws Exception {
    long started = System.nanoTime();
    assertEquals(0, call("getUpdates", "{\"timeout\":1}").path("result").size());
    assertTrue(System.nanoTime() - started >= Duration.ofMillis(900).toNanos());
  }

  @Test
  void injectedFailuresComeFirst() throws Exception {
    api.failNext(409, 1);
    api.failNext(502, 1);
    JsonNode conflict = call("getUpdates", "{}");
    assertEquals(409, conflict.path("error_code").asInt());
    HttpResponse<String> gateway =
        post("/bot" + api.token() + "/getUpdates", "application/json", "{}").get(20, TimeUnit.SECONDS);
    assertEquals(502, gateway.statusCode());
    assertTrue(call("getUpdates", "{}").path("ok").asBoolean());
    assertEquals(3, api.calls("getUpdates"));
  }
}
