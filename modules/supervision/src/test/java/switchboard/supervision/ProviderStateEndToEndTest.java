package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import switchboard.providers.fake.FakeProviderServer.Step;

/**
 * Breakers and spend live in the same store as the conversations: an out-of-credits primary stays
 * open across a restart of the gateway (no call is paid for), its call count is kept, and the files
 * of an earlier version under {@code data-dir} are moved into the store once.
 */
@Timeout(90)
class ProviderStateEndToEndTest extends TwoProviderTest {

  @Test
  void anOpenBreakerAndTheSpendSurviveARestartInTheStore() throws Exception {
    primary.enqueue(Step.status(402));
    try (TestGateway gw = gateway("", "")) {
      assertEquals("backup", gw.say("ivy", "hello").json().path("provider").asText());
      assertEquals("open", gw.providerStatus("primary").path("state").asText());
    }
    assertFalse(Files.exists(dir.resolve("data/breakers/primary.json")), "kept in the store, not in a file");
    try (TestGateway gw = gateway("", "")) {
      JsonNode primaryStatus = gw.providerStatus("primary");
      assertEquals("open", primaryStatus.path("state").asText(), "restored from the store");
      assertEquals("out_of_credits", primaryStatus.path("reason").asText());
      assertEquals(1, primaryStatus.path("accounting").path("calls").asInt(), "the spend ledger too");
      assertEquals("backup", gw.say("ivy", "again").json().path("provider").asText());
      assertEquals(1, primary.calls().size(), "no call to the open primary after the restart");
    }
  }

  @Test
  void breakerFilesOfAnEarlierVersionAreMovedIntoTheStoreOnce() throws Exception {
    Path breakers = dir.resolve("data/breakers/primary.json");
    Files.createDirectories(breakers.getParent());
    Files.writeString(breakers, """
        {"provider": "primary", "unavailable-opens": 0,
         "provider-breaker": {"state": "closed", "detail": ""},
         "keys": {"primary#1": {"state": "open", "reason": "out_of_credits", "until": "2999-01-01T00:00:00Z",
                                "opened-at": "2025-01-01T00:00:00Z", "detail": "returned 402"}}}
        """);
    try (TestGateway gw = gateway("", "")) {
      assertEquals("open", gw.providerStatus("primary").path("state").asText(), "read from the old file");
      assertEquals("backup", gw.say("jo", "hello").json().path("provider").asText());
      assertEquals(0, primary.calls().size());
    }
    assertFalse(Files.exists(breakers));
    assertTrue(Files.exists(dir.resolve("data/breakers/primary.json.migrated")));
    try (TestGateway gw = gateway("", "")) {
      assertEquals("open", gw.providerStatus("primary").path("state").asText(), "now from the store");
    }
  }
}
