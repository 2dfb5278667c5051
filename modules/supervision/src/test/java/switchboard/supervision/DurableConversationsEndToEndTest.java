package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A conversation's history outlives its actor and its process, in the embedded store under
 * {@code data-dir}: after idle passivation, after a graceful stop and start, and after {@code kill -9}
 * and start, the provider sees the earlier turns with the next message. {@code GET} and
 * {@code DELETE /api/conversations/{id}} read and clear it.
 */
@Timeout(120)
class DurableConversationsEndToEndTest extends TwoProviderTest {

  /** The request bodies the primary received, newest last. */
  private List<String> primaryBodies() {
    return primary.calls().stream().map(c -> c.body()).toList();
  }

  private String lastPrimaryBody() {
    List<String> bodies = primaryBodies();
    return bodies.get(bodies.size() - 1);
  }

  @Test
  void historySurvivesIdlePassivationAndAGracefulRestartAndCanBeReadAndCleared() throws Exception {
    String quickIdle = "conversations.idle-timeout = 300ms";
    try (TestGateway gw = gateway("", quickIdle)) {
      assertEquals(200, gw.say("ann", "my name is Ann").status());
      TestGateway.eventually("the idle conversation to be passivated", () -> !activeConversations(gw).contains("http:ann"));
      assertEquals(200, gw.say("ann", "who am I?").status());
      assertTrue(lastPrimaryBody().contains("my name is Ann"), "passivated, then recovered: " + lastPrimaryBody());
    }
    try (TestGateway gw = gateway("", quickIdle)) {
      assertEquals(200, gw.say("ann", "and now?").status());
      String body = lastPrimaryBody();
      assertTrue(body.contains("my name is Ann") && body.contains("who am I?"), "after a restart: " + body);

      TestGateway.Reply history = gw.get("/api/conversations/ann");
      assertEquals(200, history.status(), history.body());
      JsonNode messages = history.json().path("messages");
      assertEquals(6, messages.size(), history.body());
      assertEquals("user", messages.get(0).path("role").asText());
      assertEquals("my name is Ann", messages.get(0).path("content").asText());
      assertEquals("assistant", messages.get(1).path("role").asText());
      assertEquals("and now?", messages.get(4).path("content").asText());

      assertEquals(404, gw.get("/api/conversations/nobody").status());
      assertEquals("not_found", gw.get("/api/conversations/nobody").errorType());
      TestGateway.Reply deleted = gw.delete("/api/conversations/ann");
      assertEquals(204, deleted.status(), deleted.body());
      assertEquals(404, gw.get("/api/conversations/ann").status(), "cleared");
      assertEquals(200, gw.say("ann", "fresh start").status());
      assertTrue(!lastPrimaryBody().contains("my name is Ann"), "cleared history is not sent: " + lastPrimaryBody());
    }
  }

  @Test
  void historySurvivesKillDashNine() throws Exception {
    killAndRestart("", "bo");
  }

  @Test
  void historySurvivesKillDashNineAndPassivationOnPostgres() throws Exception {
    try (TestPostgres postgres = TestPostgres.shared(dir)) {
      String id = "pg-" + java.util.UUID.randomUUID();
      try (TestGateway gw = gateway("", postgres.hocon() + "\n  conversations.idle-timeout = 300ms")) {
        assertEquals(200, gw.say(id, "my name is Flo").status());
        TestGateway.eventually("the idle conversation to be passivated", () -> !activeConversations(gw).contains("http:" + id));
        assertEquals(200, gw.say(id, "who am I?").status());
        assertTrue(lastPrimaryBody().contains("my name is Flo"), "passivated, then recovered: " + lastPrimaryBody());
      }
      killAndRestart(postgres.hocon(), "pg-kill-" + java.util.UUID.randomUUID());
    }
  }

  /** A turn, {@code kill -9} of the gateway process, a new process: the next message carries the turn. */
  private void killAndRestart(String storeConfig, String id) throws Exception {
    int callsBefore = primary.calls().size();
    Path conf = dir.resolve("kill.conf");
    Files.writeString(conf, "switchboard {\n"
        + "  providers = [" + TestGateway.provider("primary", 1, primary, "") + "]\n"
        + "  channels.http.port = 0\n"
        + "  data-dir = \"" + dir.resolve("data") + "\"\n"
        + "  provider-log.path = \"" + dir.resolve("provider.log") + "\"\n"
        + "  " + storeConfig + "\n"
        + "}\n");
    Process first = startGateway(conf);
    try {
      String base = address(first);
      assertEquals(200, post(base, "/api/conversations/" + id + "/messages", "{\"text\": \"my name is Bo\"}").statusCode());
    } finally {
      first.destroyForcibly(); // SIGKILL: no drain, no shutdown hook
      first.waitFor(30, TimeUnit.SECONDS);
    }
    Process second = startGateway(conf);
    try {
      String base = address(second);
      HttpResponse<String> next = post(base, "/api/conversations/" + id + "/messages", "{\"text\": \"who am I?\"}");
      assertEquals(200, next.statusCode(), next.body());
      assertTrue(lastPrimaryBody().contains("my name is Bo"), "after kill -9: " + lastPrimaryBody());
      assertEquals(callsBefore + 2, primary.calls().size(), "one call per message, none repeated");
    } finally {
      second.destroy();
      second.waitFor(30, TimeUnit.SECONDS);
    }
  }

  private static java.util.Set<String> activeConversations(TestGateway gw) {
    var probe = org.apache.pekko.actor.typed.javadsl.AskPattern.<switchboard.router.ConversationsActor.Command, java.util.Set<String>>ask(
        gw.gateway.children().conversations(), switchboard.router.ConversationsActor.GetActive::new,
        java.time.Duration.ofSeconds(5), gw.gateway.system().scheduler());
    return probe.toCompletableFuture().join();
  }

  private Process startGateway(Path conf) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "gateway", "run", "--config", conf.toString())
        .directory(dir.toFile())
        .redirectError(dir.resolve("gateway-" + System.nanoTime() + ".err").toFile())
        .start();
  }

  /** The HTTP address the gateway prints once it listens. */
  private static String address(Process process) throws Exception {
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    Pattern address = Pattern.compile("HTTP API on (http://127\\.0\\.0\\.1:\\d+)");
    String base = CompletableFuture.supplyAsync(() -> {
      try {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
          Matcher m = address.matcher(line);
          if (m.find()) {
            return m.group(1);
          }
        }
        return null;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }).get(60, TimeUnit.SECONDS);
    assertTrue(base != null, "the gateway printed no address");
    return base;
  }

  private static HttpResponse<String> post(String base, String path, String body) throws Exception {
    return HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(base + path)).timeout(java.time.Duration.ofSeconds(20))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
