package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static switchboard.supervision.TestGateway.eventually;
import static switchboard.supervision.TestGateway.provider;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import switchboard.providers.fake.FakeProviderServer;
import switchboard.providers.fake.FakeProviderServer.Step;
import switchboard.supervision.ops.WebhookReceiver;

/**
 * Issue 6's "done means", through the real gateway (real HTTP channel, real provider actors, fake
 * provider servers): the Prometheus series after a 402 fallback, exactly one webhook alert for five
 * 402s in a row, one provider-log line per HTTP call, no API key in any log or endpoint, and why the
 * previous run stopped.
 */
@Timeout(60)
class ObservabilityEndToEndTest extends TwoProviderTest {

  static final List<String> KEYS = List.of("sk-primary-secret", "sk-backup-secret");

  private String providerLog() {
    return "provider-log.path = \"" + dir.resolve("logs/provider.log").toString().replace("\\", "/") + "\"";
  }

  @Test
  void metricsAfterA402FallbackShowTheCallTheFallbackTheBreakerAndTheRequests() throws Exception {
    primary.enqueue(Step.status(402));
    try (TestGateway gw = gateway("", "")) {
      Metrics before = Metrics.scrape(gw);
      assertEquals(0.0, before.value("switchboard_breaker_state", "provider", "primary", "key", ""),
          "breaker series exist (closed) before anything happens");

      assertEquals("backup", gw.say("alice", "hello").json().path("provider").asText());
      assertEquals("backup", gw.say("bob", "hello").json().path("provider").asText());
      assertEquals(400, gw.post("/v1/chat/completions", "{\"messages\": [").status());
      assertEquals(1, primary.calls().size());

      Metrics m = Metrics.scrape(gw);
      assertEquals(1.0, m.value("switchboard_provider_calls_total",
          "provider", "primary", "key", "primary#1", "outcome", "out_of_credits", "status", "402"), m.text());
      assertEquals(1.0, m.sum("switchboard_provider_calls_total", "provider", "primary"), "one call, never retried");
      assertEquals(2.0, m.value("switchboard_provider_calls_total",
          "provider", "backup", "key", "backup#1", "outcome", "ok", "status", "200"));
      assertEquals(2.0, m.value("switchboard_fallbacks_total", "from", "primary", "to", "backup", "reason", "out_of_credits"),
          "both messages passed from primary to backup");
      assertEquals(1.0, m.value("switchboard_provider_refused_total", "provider", "primary", "outcome", "out_of_credits"),
          "the second one without a call");
      assertEquals(1.0, m.value("switchboard_breaker_state", "provider", "primary", "key", ""));
      assertEquals(1.0, m.value("switchboard_breaker_state", "provider", "primary", "key", "primary#1"));
      assertEquals(0.0, m.value("switchboard_breaker_state", "provider", "backup", "key", ""));
      assertEquals(2.0, m.value("switchboard_requests_total", "channel", "http", "outcome", "ok"));
      assertEquals(1.0, m.value("switchboard_requests_total", "channel", "http", "outcome", "invalid_request"));
      assertEquals(0.0, m.value("switchboard_pending_messages", "channel", "http"));
      assertEquals(2.0, m.value("switchboard_provider_latency_seconds_count", "provider", "backup"));
      assertEquals(3.0, m.value("switchboard_request_seconds_count", "channel", "http"));
      assertTrue(m.value("switchboard_provider_tokens_total", "provider", "backup", "direction", "output") > 0);
    }
  }

  @Test
  void fiveOutOfCreditsAnswersInARowMakeExactlyOneWebhookAlert() throws Exception {
    primary.setDefault(Step.status(402));
    String fiveKeys = "api-keys = [\"sk-p1\", \"sk-p2\", \"sk-p3\", \"sk-p4\", \"sk-p5\"]";
    try (WebhookReceiver hook = new WebhookReceiver(0);
        TestGateway gw = gateway(fiveKeys, "alerts.webhook-url = \"" + hook.url() + "\"")) {
      TestGateway.Reply reply = gw.say("alice", "hello");
      assertEquals(200, reply.status(), reply.body());
      assertEquals("backup", reply.json().path("provider").asText());
      assertEquals(5, primary.calls().size(), "each key of the pool answered 402 once");
      assertEquals(List.of("sk-p1", "sk-p2", "sk-p3", "sk-p4", "sk-p5"),
          primary.calls().stream().map(FakeProviderServer.RecordedCall::apiKey).sorted().toList());

      WebhookReceiver.Received alert = hook.next(10);
      assertEquals("out_of_credits", alert.body().path("type").asText(), alert.body().toString());
      assertEquals("primary", alert.body().path("provider").asText());
      assertTrue(alert.body().path("message").asText().contains("402"), alert.body().toString());
      Instant.parse(alert.body().path("time").asText());

      assertEquals(200, gw.say("bob", "hello").status());
      assertEquals(5, primary.calls().size(), "the open breaker makes no call");
      assertNull(hook.poll(1500), "no second alert for the same billing period");

      JsonNode alerts = gw.get("/api/status").json().path("alerts");
      assertEquals(1, alerts.size(), alerts.toString());
      assertEquals("out_of_credits", alerts.get(0).path("type").asText());
      for (String key : List.of("sk-p1", "sk-p2", "sk-p3", "sk-p4", "sk-p5")) {
        assertFalse(alert.body().toString().contains(key));
        assertFalse(alerts.toString().contains(key));
      }
    }
  }

  @Test
  void theProviderLogHasOneLinePerCallAndNoKeyIsAnywhere() throws Exception {
    Path log = dir.resolve("logs/provider.log");
    primary.enqueue(Step.status(429)
        .withHeader("retry-after", "1")
        .withHeader("x-ratelimit-remaining-requests", "0")
        .withHeader("x-request-id", "req-not-for-the-log"));
    primary.enqueue(Step.ok("after the wait"));
    primary.enqueue(Step.status(402));
    try (LogCapture gatewayLog = new LogCapture(); TestGateway gw = gateway("", providerLog())) {
      TestGateway.Reply first = gw.say("carol", "hello");
      assertEquals("primary", first.json().path("provider").asText(), first.body());
      TestGateway.Reply second = gw.say("carol", "and again");
      assertEquals("backup", second.json().path("provider").asText(), second.body());
      int calls = primary.calls().size() + backup.calls().size();
      assertEquals(4, calls, "429, retry ok, 402, backup ok");

      eventually("one log line per call", () -> callLines(log).size() == calls);
      List<JsonNode> lines = callLines(log);
      JsonNode limited = lines.get(0);
      for (String field : List.of("time", "provider", "key", "model", "origin", "channel", "conversation", "attempt",
          "status", "outcome", "latency_ms", "tokens_in", "tokens_out", "rate_limit")) {
        assertTrue(limited.has(field), field + " in " + limited);
      }
      Instant.parse(limited.path("time").asText());
      assertEquals("primary", limited.path("provider").asText());
      assertEquals("primary#1", limited.path("key").asText());
      assertEquals("m-primary", limited.path("model").asText());
      assertEquals("http", limited.path("channel").asText());
      assertEquals("carol", limited.path("conversation").asText());
      assertEquals(1, limited.path("attempt").asInt());
      assertEquals(429, limited.path("status").asInt());
      assertEquals("rate_limited", limited.path("outcome").asText());
      assertEquals("1", limited.path("rate_limit").path("retry-after").asText());
      assertEquals("0", limited.path("rate_limit").path("x-ratelimit-remaining-requests").asText());
      assertFalse(limited.toString().contains("req-not-for-the-log"), "only rate-limit headers: " + limited);

      JsonNode retried = lines.get(1);
      assertEquals(2, retried.path("attempt").asInt());
      assertEquals("ok", retried.path("outcome").asText());
      assertTrue(retried.path("tokens_in").asInt() > 0 && retried.path("tokens_out").asInt() > 0, retried.toString());
      assertTrue(retried.path("latency_ms").asLong() >= 0);
      assertEquals(List.of("rate_limited", "ok", "out_of_credits", "ok"),
          lines.stream().map(l -> l.path("outcome").asText()).toList());
      assertEquals(List.of("primary", "primary", "primary", "backup"),
          lines.stream().map(l -> l.path("provider").asText()).toList());

      String status = gw.get("/api/status").body();
      String metrics = gw.get("/metrics").body();
      String providerLog = Files.readString(log);
      assertTrue(gatewayLog.text().contains("gateway started"), "the capture works: " + gatewayLog.text());
      assertTrue(providerLog.contains("hello") == false && providerLog.contains("after the wait") == false,
          "no message text in the provider log");
      for (String key : KEYS) {
        assertFalse(providerLog.contains(key), key + " in the provider log");
        assertFalse(gatewayLog.text().contains(key), key + " in the gateway log");
        assertFalse(status.contains(key), key + " in /api/status");
        assertFalse(metrics.contains(key), key + " in /metrics");
      }
    }
  }

  @Test
  void aRestartShowsWhyThePreviousRunStopped() throws Exception {
    Path record = dir.resolve("data/last-shutdown.json");
    TestGateway first = gateway("", "");
    assertTrue(first.gateway.lastShutdown().isEmpty());
    assertTrue(first.get("/api/status").json().path("last_shutdown").isMissingNode(), "nothing known yet");
    assertEquals(0, first.gateway.shutdown());
    JsonNode written = TestGateway.JSON.readTree(record.toFile());
    assertEquals("shutdown requested", written.path("reason").asText());
    assertEquals(0, written.path("unanswered").asInt());

    try (LogCapture log = new LogCapture(); TestGateway second = gateway("", "")) {
      JsonNode last = second.get("/api/status").json().path("last_shutdown");
      assertEquals("shutdown requested", last.path("reason").asText(), last.toString());
      assertEquals(0, last.path("unanswered").asInt());
      assertEquals(written.path("time").asText(), last.path("time").asText());
      assertTrue(log.text().contains("previous run stopped at " + written.path("time").asText()
          + ": shutdown requested, 0 unanswered"), log.text());

      MainTest.Run cli = MainTest.run("gateway", "status", "--url", "http://127.0.0.1:" + second.gateway.httpPort());
      assertEquals(0, cli.code(), cli.err());
      assertTrue(cli.out().contains("previous run stopped at " + written.path("time").asText()
          + ": shutdown requested, 0 unanswered"), cli.out());
      assertTrue(cli.out().contains("no alerts since start"), cli.out());

      second.gateway.system().terminate();
      eventually("the fatal stop recorded", () -> read(record).path("reason").asText().equals("fatal error"));
    }
    try (TestGateway third = gateway("", "")) {
      assertEquals("fatal error", third.get("/api/status").json().path("last_shutdown").path("reason").asText());
    }
  }

  @Test
  void aStartFailureIsRecordedAsTheLastShutdown() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      Gateway.StartFailure failure = assertThrows(Gateway.StartFailure.class,
          () -> gateway("", "channels.http.port = " + taken.getLocalPort()));
      JsonNode record = read(dir.resolve("data/last-shutdown.json"));
      assertEquals("start failure", record.path("reason").asText());
      assertEquals(failure.getMessage(), record.path("detail").asText());
    }
  }

  @Test
  void gatewayStatusListsTheRecentAlerts() throws Exception {
    primary.enqueue(Step.status(402));
    try (TestGateway gw = gateway("", "")) {
      assertEquals(200, gw.say("alice", "hello").status());
      eventually("the alert", () -> gw.get("/api/status").json().path("alerts").size() == 1);
      MainTest.Run cli = MainTest.run("gateway", "status", "--url", "http://127.0.0.1:" + gw.gateway.httpPort());
      assertEquals(0, cli.code(), cli.err());
      assertTrue(cli.out().contains("recent alerts (newest first):"), cli.out());
      assertTrue(cli.out().lines().anyMatch(l -> l.matches("\\s+\\S+Z\\s+\\[out_of_credits\\] primary: .*402.*")), cli.out());
    }
  }

  private static JsonNode read(Path file) {
    try {
      return Files.exists(file) ? TestGateway.JSON.readTree(file.toFile()) : TestGateway.JSON.createObjectNode();
    } catch (IOException e) {
      return TestGateway.JSON.createObjectNode();
    }
  }

  private static List<JsonNode> callLines(Path log) {
    if (!Files.exists(log)) {
      return List.of();
    }
    try {
      List<JsonNode> calls = new ArrayList<>();
      for (String line : Files.readAllLines(log)) {
        JsonNode json = TestGateway.JSON.readTree(line);
        if (json.path("type").asText().equals("call")) {
          calls.add(json);
        }
      }
      return calls;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A scraped {@code /metrics}: series by name and labels. */
  record Metrics(String text, Map<String, Map<Map<String, String>, Double>> series) {
    private static final Pattern LINE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    static Metrics scrape(TestGateway gw) {
      TestGateway.Reply reply = gw.get("/metrics");
      assertEquals(200, reply.status());
      Map<String, Map<Map<String, String>, Double>> series = new TreeMap<>();
      for (String line : reply.body().lines().toList()) {
        Matcher m = LINE.matcher(line);
        if (line.startsWith("#") || !m.matches()) {
          continue;
        }
        Map<String, String> labels = new TreeMap<>();
        if (m.group(3) != null) {
          Matcher l = LABEL.matcher(m.group(3));
          while (l.find()) {
            labels.put(l.group(1), l.group(2));
          }
        }
        series.computeIfAbsent(m.group(1), n -> new java.util.HashMap<>()).put(labels, Double.parseDouble(m.group(4)));
      }
      return new Metrics(reply.body(), series);
    }

    /** The one series of {@code name} with exactly these labels. */
    double value(String name, String... labels) {
      Map<String, String> wanted = new TreeMap<>();
      for (int i = 0; i < labels.length; i += 2) {
        wanted.put(labels[i], labels[i + 1]);
      }
      Double value = series.getOrDefault(name, Map.of()).get(wanted);
      assertTrue(value != null, "no " + name + wanted + " in\n" + text);
      return value;
    }

    /** The sum of the series of {@code name} whose labels include these. */
    double sum(String name, String... labels) {
      return series.getOrDefault(name, Map.of()).entrySet().stream()
          .filter(e -> {
            for (int i = 0; i < labels.length; i += 2) {
              if (!labels[i + 1].equals(e.getKey().get(labels[i]))) {
                return false;
              }
            }
            return true;
          })
          .mapToDouble(Map.Entry::getValue)
          .sum();
    }
  }
}
