package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import switchboard.providers.fake.FakeProviderServer;
import switchboard.providers.fake.FakeProviderServer.Step;
import switchboard.supervision.ops.WebhookReceiver;

/**
 * An operator who has just topped up tells the gateway, through {@code POST /api/providers/{name}/reset}
 * or {@code bin/switchboard provider reset}: the very next message goes to the provider again, the
 * reset is alerted as {@code breaker_closed} naming through what, counted in the metrics, and lasts
 * across a restart; without the gateway token it is refused.
 */
@Timeout(90)
class ProviderResetEndToEndTest extends TwoProviderTest {
  private static final String TOKEN = "reset-test-token";
  private static final String[] AUTH = {"Authorization", "Bearer " + TOKEN};

  private String withToken(String more) {
    return "channels.http.auth-token = \"" + TOKEN + "\"\n  " + more;
  }

  @Test
  void aResetOverHttpSendsTheVeryNextMessageToTheToppedUpProviderAndLastsAcrossARestart() throws Exception {
    primary.enqueue(Step.status(402));
    try (WebhookReceiver hook = new WebhookReceiver(0)) {
      String extra = withToken("alerts.webhook-url = \"" + hook.url() + "\"");
      try (TestGateway gw = gateway("", extra)) {
        TestGateway.Reply first = gw.post("/api/conversations/alice/messages", "{\"text\": \"hello\"}", AUTH);
        assertEquals("backup", first.json().path("provider").asText(), first.body());
        JsonNode outOfCredits = hook.next(10).body();
        assertEquals("out_of_credits", outOfCredits.path("type").asText());
        assertTrue(outOfCredits.path("message").asText().contains("Messages go to backup meanwhile"), outOfCredits.toString());
        assertTrue(outOfCredits.path("message").asText().contains("bin/switchboard provider reset primary"), outOfCredits.toString());

        TestGateway.Reply anonymous = gw.post("/api/providers/primary/reset", "");
        assertEquals(401, anonymous.status(), anonymous.body());
        assertEquals("unauthorized", anonymous.errorType());
        assertEquals(404, gw.post("/api/providers/nobody/reset", "", AUTH).status());
        TestGateway.Reply unknownKey = gw.post("/api/providers/primary/reset", "{\"key\": \"primary#7\"}", AUTH);
        assertEquals(404, unknownKey.status(), unknownKey.body());
        assertEquals("not_found", unknownKey.errorType());
        assertEquals(400, gw.post("/api/providers/primary/reset", "{\"key\": 7}", AUTH).status());
        assertEquals("open", status(gw, "primary").path("state").asText(), "refused resets change nothing");

        primary.setDefault(Step.ok("topped up"));
        TestGateway.Reply reset = gw.post("/api/providers/primary/reset", "", AUTH);
        assertEquals(200, reset.status(), reset.body());
        assertEquals("http", reset.json().path("reset_by").asText());
        assertEquals("closed", reset.json().path("status").path("state").asText());
        assertTrue(reset.json().path("closed").asInt() >= 1, reset.body());

        TestGateway.Reply next = gw.post("/api/conversations/alice/messages", "{\"text\": \"and now?\"}", AUTH);
        assertEquals("primary", next.json().path("provider").asText(), next.body());
        assertEquals(2, primary.calls().size(), "the 402, then the message after the reset");

        JsonNode closed = hook.next(10).body();
        assertEquals("breaker_closed", closed.path("type").asText(), closed.toString());
        assertEquals("http", closed.path("by").asText(), closed.toString());
        assertTrue(closed.path("message").asText().contains("reset by an operator via http"), closed.toString());
        String metrics = gw.get("/metrics").body();
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("switchboard_breaker_resets_total{")
            && l.contains("by=\"http\"") && l.contains("provider=\"primary\"") && l.endsWith(" 1.0")), metrics);
      }
      try (TestGateway again = gateway("", withToken(""))) {
        assertEquals("closed", status(again, "primary").path("state").asText(), "the reset outlives the process");
        TestGateway.Reply after = again.post("/api/conversations/bob/messages", "{\"text\": \"hi\"}", AUTH);
        assertEquals("primary", after.json().path("provider").asText(), after.body());
      }
    }
  }

  @Test
  void theCommandLineResetsOneKeyAndSaysWhatWentWrongOnOneLine() throws Exception {
    primary.enqueue(Step.status(402), Step.status(402));
    try (TestGateway gw = gateway("api-keys = [\"sk-one-secret\", \"sk-two-secret\"]", withToken(""))) {
      TestGateway.Reply first = gw.post("/api/conversations/carol/messages", "{\"text\": \"hello\"}", AUTH);
      assertEquals("backup", first.json().path("provider").asText(), first.body());
      assertEquals(2, primary.calls().size(), "one call per key");
      String url = "http://127.0.0.1:" + gw.gateway.httpPort();

      MainTest.Run noToken = MainTest.run("provider", "reset", "primary", "--url", url, "--token", "");
      assertEquals(1, noToken.code());
      assertEquals(1, noToken.err().lines().count(), noToken.err());
      assertTrue(noToken.err().contains("401"), noToken.err());
      MainTest.Run unknown = MainTest.run("provider", "reset", "nobody", "--url", url, "--token", TOKEN);
      assertEquals(1, unknown.code());
      assertEquals(List.of("the gateway at " + url + " answered 404: There is no provider named nobody."),
          unknown.err().lines().toList());

      MainTest.Run reset = MainTest.run("provider", "reset", "primary", "--key", "primary#2", "--url", url, "--token", TOKEN);
      assertEquals(0, reset.code(), reset.err());
      assertEquals(List.of("reset primary key primary#2: provider closed, keys primary#1=open primary#2=closed"),
          reset.out().lines().toList());
      TestGateway.Reply next = gw.post("/api/conversations/carol/messages", "{\"text\": \"topped up?\"}", AUTH);
      assertEquals("primary", next.json().path("provider").asText(), next.body());
      List<FakeProviderServer.RecordedCall> calls = primary.calls();
      assertEquals(3, calls.size());
      assertEquals("sk-two-secret", calls.get(2).apiKey(), "the reset key answers; the other stays closed to calls");
    }
  }

  private static JsonNode status(TestGateway gw, String provider) {
    for (JsonNode p : gw.get("/api/status", AUTH).json().path("providers")) {
      if (p.path("name").asText().equals(provider)) {
        return p;
      }
    }
    throw new AssertionError("no provider " + provider);
  }
}
