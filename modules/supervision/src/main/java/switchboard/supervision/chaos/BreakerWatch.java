package switchboard.supervision.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import switchboard.supervision.chaos.ChaosHistory.BreakerView;

/**
 * Watches the gateway's breakers through {@code GET /api/status} four times a second, so the checks
 * can tell whether a provider call arrived while the gateway itself said that provider (or key) was
 * open; and plays the operator: a key refused as {@code auth_failed} for two seconds is reset with
 * {@code POST /api/providers/{name}/reset}, as someone who fixed the key would.
 */
final class BreakerWatch implements AutoCloseable {

  static final Duration EVERY = Duration.ofMillis(250);
  static final Duration OPERATOR_DELAY = Duration.ofSeconds(2);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String base;
  private final String token;
  private final ChaosHistory history;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(switchboard.providers.fake.FakeProviderServer.daemon("chaos-breaker-watch"));
  private final Map<String, Instant> authOpenSince = new HashMap<>();

  BreakerWatch(String base, String token, ChaosHistory history) {
    this.base = base;
    this.token = token;
    this.history = history;
  }

  void start() {
    timer.scheduleWithFixedDelay(this::poll, 0, EVERY.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** {@code path} of the gateway, with the gateway token; empty when it does not answer. */
  Optional<String> get(String path) {
    try {
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(base + path))
          .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? Optional.of(r.body()) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  private void poll() {
    try {
      Instant asked = Instant.now();
      Optional<String> body = get("/api/status");
      if (body.isEmpty()) {
        return;
      }
      Instant answered = Instant.now();
      Map<String, BreakerView> breakers = new HashMap<>();
      for (JsonNode p : JSON.readTree(body.get()).path("providers")) {
        String name = p.path("name").asText();
        breakers.put(name, view(p));
        for (JsonNode k : p.path("keys")) {
          breakers.put(k.path("alias").asText(), view(k));
          operator(name, k, answered);
        }
      }
      history.poll(new ChaosHistory.StatusPoll(asked, answered, breakers));
    } catch (IOException | RuntimeException e) {
      // the gateway is restarting, or answered something odd: the next poll tries again
    }
  }

  private void operator(String provider, JsonNode key, Instant now) throws IOException {
    String alias = key.path("alias").asText();
    boolean auth = key.path("state").asText().equals("open") && key.path("reason").asText().equals("auth_failed");
    if (!auth) {
      authOpenSince.remove(alias);
      return;
    }
    Instant since = authOpenSince.computeIfAbsent(alias, a -> now);
    if (Duration.between(since, now).compareTo(OPERATOR_DELAY) < 0) {
      return;
    }
    authOpenSince.remove(alias);
    history.reset(new ChaosHistory.Reset(Instant.now(), alias));
    try {
      client.send(HttpRequest.newBuilder(URI.create(base + "/api/providers/" + provider + "/reset"))
          .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
          .timeout(Duration.ofSeconds(5))
          .POST(HttpRequest.BodyPublishers.ofString(JSON.createObjectNode().put("key", alias).toString())).build(),
          HttpResponse.BodyHandlers.discarding());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static BreakerView view(JsonNode node) {
    String until = node.path("open_until").asText("");
    return new BreakerView(node.path("state").asText(""),
        until.isEmpty() || until.equals("null") ? Optional.empty() : Optional.of(Instant.parse(until)));
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
