package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The store on a real PostgreSQL: a conversation's history survives a restart of the gateway; when
 * the server stops mid-run, messages that need the store get a clear {@code unavailable} answer
 * naming it while the rest of the gateway keeps working, and conversations recover by themselves
 * once the server is back, with nothing stored lost or doubled.
 */
@Timeout(180)
class PostgresStoreEndToEndTest extends TwoProviderTest {

  private String lastPrimaryBody() {
    List<String> bodies = primary.calls().stream().map(c -> c.body()).toList();
    return bodies.get(bodies.size() - 1);
  }

  @Test
  void historySurvivesARestartOnPostgres() throws Exception {
    String id = "pg-" + UUID.randomUUID();
    try (TestPostgres postgres = TestPostgres.shared(dir)) {
      try (TestGateway gw = gateway("", postgres.hocon())) {
        assertEquals(200, gw.say(id, "my name is Cy").status());
      }
      try (TestGateway gw = gateway("", postgres.hocon())) {
        TestGateway.Reply next = gw.say(id, "who am I?");
        assertEquals(200, next.status(), next.body());
        assertTrue(lastPrimaryBody().contains("my name is Cy"), "after a restart: " + lastPrimaryBody());
        assertEquals(4, gw.get("/api/conversations/" + id).json().path("messages").size());
      }
    }
  }

  @Test
  void aStoppedServerGivesClearErrorsAndConversationsRecoverWhenItIsBack() throws Exception {
    try (TestPostgres postgres = TestPostgres.own(dir);
        TestGateway gw = gateway("", postgres.hocon())) {
      assertEquals(200, gw.say("dee", "my name is Dee").status());

      postgres.stop();
      TestGateway.Reply down = gw.say("dee", "still there?");
      assertEquals(503, down.status(), down.body());
      assertEquals("unavailable", down.errorType());
      assertTrue(down.errorMessage().contains("conversation store"), down.errorMessage());
      TestGateway.Reply fresh = gw.say("eve", "a conversation that must be read from the store first");
      assertEquals(503, fresh.status(), fresh.body());
      assertTrue(fresh.errorMessage().contains("conversation store"), fresh.errorMessage());
      assertTrue(fresh.took().compareTo(Duration.ofSeconds(30)) < 0, "answered in " + fresh.took());
      assertEquals(200, gw.get("/health").status());
      TestGateway.Reply stateless = gw.post("/v1/chat/completions",
          "{\"messages\": [{\"role\": \"user\", \"content\": \"no store needed\"}]}");
      assertEquals(200, stateless.status(), stateless.body());
      assertEquals(200, gw.get("/api/status").status());

      postgres.start();
      Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
      TestGateway.Reply back = gw.say("dee", "who am I?");
      while (back.status() != 200 && Instant.now().isBefore(deadline)) {
        back = gw.say("dee", "who am I?");
      }
      assertEquals(200, back.status(), back.body());
      assertTrue(lastPrimaryBody().contains("my name is Dee"), "recovered with its history: " + lastPrimaryBody());
      List<String> contents = gw.get("/api/conversations/dee").json().findValuesAsText("content");
      assertEquals(1, contents.stream().filter("my name is Dee"::equals).count(), "stored once: " + contents);
      assertEquals(0, contents.stream().filter("still there?"::equals).count(), "a failed turn is not stored: " + contents);
    }
  }
}
