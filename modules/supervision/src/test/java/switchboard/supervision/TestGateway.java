package switchboard.supervision;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import switchboard.providers.fake.FakeProviderServer;

/**
 * A whole gateway (root guardian, real HTTP channel on a free port, real provider actors) against
 * fake provider servers, and an HTTP client to talk to it the way users do.
 */
final class TestGateway implements AutoCloseable {

  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration HTTP_TIMEOUT = Duration.ofSeconds(20);

  final Gateway gateway;
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  private TestGateway(Gateway gateway) {
    this.gateway = gateway;
  }

  /** One provider entry of the test config: an openai-kind provider at {@code server}. */
  static String provider(String name, int priority, FakeProviderServer server, String extra) {
    return "{ name = \"" + name + "\", kind = \"openai\", base-url = \"" + server.openAiBaseUrl() + "\","
        + " model = \"m-" + name + "\", priority = " + priority + ", api-keys = [\"sk-" + name + "-secret\"],"
        + " timeout = 5s" + (extra.isEmpty() ? "" : ", " + extra) + " }";
  }

  /**
   * Starts a gateway with {@code providers} (HOCON objects) and small, test-friendly timings;
   * {@code extra} is appended inside {@code switchboard { }}. Every supervised actor can be crashed
   * with the testkit's {@code Crashable}.
   */
  static TestGateway start(Path dir, List<String> providers, String extra) throws Exception {
    String conf =
        "switchboard {\n"
            + "  providers = [\n    " + String.join("\n    ", providers) + "\n  ]\n"
            + "  retry { max-retries = 1, backoff-base = 100ms, backoff-max = 200ms, jitter = 0 }\n"
            + "  request-timeout = 6s\n"
            + "  shutdown-timeout = 5s\n"
            + "  channels.http.port = 0\n"
            + "  " + extra + "\n"
            + "}\n"
            + "pekko.switchboard-test.behavior-decorator = \"switchboard.testkit.faults.Crashable\"\n";
    Path file = dir.resolve("gateway.conf");
    Files.writeString(file, conf);
    return new TestGateway(Gateway.start(GatewayConfig.load(file, Map.of(), dir)));
  }

  /** A response as the test reads it. */
  record Reply(int status, Map<String, List<String>> headers, String body, Duration took) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }

    String header(String name) {
      return TestGateway.header(headers, name);
    }

    String errorType() {
      return json().path("error").path("type").asText();
    }

    String errorMessage() {
      return json().path("error").path("message").asText();
    }
  }

  /** The first value of header {@code name} (any case), or null. */
  static String header(Map<String, List<String>> headers, String name) {
    return headers.entrySet().stream()
        .filter(e -> e.getKey().equalsIgnoreCase(name))
        .map(e -> e.getValue().get(0))
        .findFirst()
        .orElse(null);
  }

  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + gateway.httpPort() + path);
  }

  /** A POST with extra request headers (name, value, name, value, ...), e.g. the gateway token. */
  Reply post(String path, String body, String... headers) {
    return postAsync(path, body, headers).join();
  }

  CompletableFuture<Reply> postAsync(String path, String body, String... headers) {
    return send(jsonPost(path, body, headers));
  }

  private HttpRequest jsonPost(String path, String body, String... headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path))
        .timeout(HTTP_TIMEOUT)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      request.headers(headers);
    }
    return request.build();
  }

  Reply get(String path, String... headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).timeout(HTTP_TIMEOUT).GET();
    if (headers.length > 0) {
      request.headers(headers);
    }
    return send(request.build()).join();
  }

  Reply delete(String path) {
    return send(HttpRequest.newBuilder(uri(path)).timeout(HTTP_TIMEOUT).DELETE().build()).join();
  }

  /** One line of a streamed answer and when it arrived (nanoseconds after the request was sent). */
  record Line(long atNanos, String text) {}

  /**
   * A streamed answer read line by line as it arrives. {@code lines} holds every line until the body
   * ended or {@code stopAfter} lines with a {@code data:} prefix arrived (then the connection is
   * closed, as a client that goes away); {@code status} and headers are those of the response.
   */
  record Streamed(int status, Map<String, List<String>> headers, List<Line> lines) {
    /** The parsed JSON of every {@code data:} line except {@code [DONE]}. */
    List<JsonNode> data() {
      List<JsonNode> out = new java.util.ArrayList<>();
      for (Line line : lines) {
        if (line.text().startsWith("data: ") && !line.text().equals("data: [DONE]")) {
          try {
            out.add(JSON.readTree(line.text().substring(6)));
          } catch (IOException e) {
            throw new AssertionError("not JSON: " + line.text(), e);
          }
        }
      }
      return out;
    }

    boolean done() {
      return lines.stream().anyMatch(l -> l.text().equals("data: [DONE]"));
    }

    /** The concatenated {@code choices[0].delta.content} of the chunks. */
    String content() {
      StringBuilder text = new StringBuilder();
      data().forEach(d -> text.append(d.path("choices").path(0).path("delta").path("content").asText("")));
      return text.toString();
    }

    /** When the first chunk with content arrived (nanoseconds after the request). */
    long firstContentNanos() {
      for (Line line : lines) {
        if (line.text().contains("\"content\":\"") && !line.text().contains("\"content\":\"\"")
            || line.text().contains("text_delta")) {
          return line.atNanos();
        }
      }
      throw new AssertionError("no content in " + lines);
    }

    long lastNanos() {
      return lines.get(lines.size() - 1).atNanos();
    }

    String body() {
      StringBuilder out = new StringBuilder();
      lines.forEach(l -> out.append(l.text()).append('\n'));
      return out.toString();
    }

    String header(String name) {
      return TestGateway.header(headers, name);
    }
  }

  Streamed stream(String path, String body, int stopAfter, String... headers) throws Exception {
    HttpRequest request = jsonPost(path, body, headers);
    long start = System.nanoTime();
    HttpResponse<java.io.InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
    List<Line> lines = new java.util.ArrayList<>();
    int data = 0;
    try (java.io.BufferedReader in = new java.io.BufferedReader(
        new java.io.InputStreamReader(response.body(), java.nio.charset.StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isEmpty()) {
          continue;
        }
        lines.add(new Line(System.nanoTime() - start, line));
        if (line.startsWith("data:") && ++data >= stopAfter) {
          break;
        }
      }
    }
    return new Streamed(response.statusCode(), response.headers().map(), lines);
  }

  /** A message in conversation {@code id}. */
  Reply say(String id, String text) {
    return post("/api/conversations/" + id + "/messages", "{\"text\": " + quote(text) + "}");
  }

  CompletableFuture<Reply> sayAsync(String id, String text) {
    return postAsync("/api/conversations/" + id + "/messages", "{\"text\": " + quote(text) + "}");
  }

  private CompletableFuture<Reply> send(HttpRequest request) {
    Instant start = Instant.now();
    return client.sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .thenApply(r -> new Reply(r.statusCode(), r.headers().map(), r.body(), Duration.between(start, Instant.now())));
  }

  /** The provider entry {@code name} of {@code /api/status}. */
  JsonNode providerStatus(String name) {
    for (JsonNode provider : get("/api/status").json().path("providers")) {
      if (provider.path("name").asText().equals(name)) {
        return provider;
      }
    }
    throw new AssertionError("no provider " + name + " in /api/status");
  }

  static String quote(String text) {
    try {
      return JSON.writeValueAsString(text);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Waits (bounded) until {@code condition} holds: polling, for state only visible from outside. */
  static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
    Instant deadline = Instant.now().plusSeconds(15);
    while (!condition.getAsBoolean()) {
      assertTrue(Instant.now().isBefore(deadline), "timed out waiting for " + what);
      Thread.sleep(20);
    }
  }

  @Override
  public void close() {
    gateway.shutdown();
  }
}
