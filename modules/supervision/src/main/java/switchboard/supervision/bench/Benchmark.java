package switchboard.supervision.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import switchboard.providers.fake.FakeProviderServer;
import switchboard.supervision.Gateway;
import switchboard.providers.config.ProviderConfig;
import switchboard.supervision.GatewayConfig;

/**
 * Measures what the gateway adds to a provider call: the same closed-loop load first straight at a
 * fake OpenAI-compatible provider, then through a real gateway (the classes {@code gateway run}
 * uses, configured from a generated HOCON file) in front of that provider. Everything runs in this
 * JVM on loopback, so the difference between the two is the gateway's own cost: HTTP parsing on both
 * sides, the actors, JSON, the provider call log.
 */
final class Benchmark {

  /** The provider's name in the generated config, also what {@code X-Switchboard-Provider} says. */
  static final String PROVIDER = "fake";

  private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

  private final BenchSettings settings;
  private final long deadline;

  private Benchmark(BenchSettings settings) {
    this.settings = settings;
    this.deadline = System.nanoTime() + settings.timeout().toNanos();
  }

  /** Runs the whole benchmark; never takes (much) longer than {@code settings.timeout()}. */
  static BenchReport run(BenchSettings settings) throws Exception {
    return new Benchmark(settings).run();
  }

  /** The OpenAI Chat Completions body of request number {@code i}. */
  static String completionBody(int i) {
    return "{\"model\":\"bench-model\",\"messages\":[{\"role\":\"user\",\"content\":\"ping " + i + "\"}]}";
  }

  /** The same with {@code "stream": true}. */
  static String streamedBody(int i) {
    return "{\"model\":\"bench-model\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"ping " + i + "\"}]}";
  }

  private BenchReport run() throws Exception {
    // The fake provider is the JDK's HttpServer, which by default leaves Nagle's algorithm on: each
    // answer (headers, then body) would then wait ~40ms for a delayed ACK and the fake, not the
    // gateway, would dominate every figure. Read once, when the first server starts in this JVM.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    Path dir = Files.createTempDirectory("switchboard-bench");
    try (FakeProviderServer fake = FakeProviderServer.start(0)) {
      fake.setDefault(answer());
      Gateway gateway = Gateway.start(GatewayConfig.load(writeConfig(dir, fake), Map.of(), dir));
      try {
        return measure(fake, gateway);
      } finally {
        gateway.shutdown();
      }
    } finally {
      deleteTree(dir);
    }
  }

  private BenchReport measure(FakeProviderServer fake, Gateway gateway) throws InterruptedException {
    HttpClient client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
    URI direct = URI.create(fake.openAiBaseUrl() + "/chat/completions");
    String gatewayBase = "http://127.0.0.1:" + gateway.httpPort();
    Endpoint endpoint = settings.endpoint();

    long heapBefore = heapAfterGc();
    boolean stream = settings.stream();
    BiFunction<Integer, Integer, HttpRequest> toProvider =
        (lane, i) -> post(direct, stream ? streamedBody(i) : completionBody(i));
    BiFunction<Integer, Integer, HttpRequest> toGateway =
        (lane, i) -> post(URI.create(gatewayBase + endpoint.gatewayPath(lane)), stream ? streamedBody(i) : endpoint.gatewayBody(i));
    PhaseResult directResult = phase(client, fake, toProvider);
    PhaseResult gatewayResult = phase(client, fake, toGateway);
    long heapAfter = heapAfterGc();
    ProviderConfig provider = gateway.config().usableProviders().get(0);
    return new BenchReport(settings, directResult, gatewayResult, heapBefore, heapAfter,
        provider.maxConnections(), provider.maxOpenRequests());
  }

  /** A warmup (unmeasured, its errors counted all the same) and then the measured run. */
  private PhaseResult phase(HttpClient client, FakeProviderServer fake, BiFunction<Integer, Integer, HttpRequest> requests)
      throws InterruptedException {
    PhaseResult warmup = new LoadRun(client, settings.warmup(), requests, settings.stream())
        .run(settings.concurrency(), remaining());
    forgetCalls(fake);
    PhaseResult measured = new LoadRun(client, settings.requests(), requests, settings.stream())
        .run(settings.concurrency(), remaining());
    forgetCalls(fake);
    return warmup.errorCount() == 0 ? measured : measured.withWarmupErrors(warmup.errors());
  }

  /**
   * The fake records every call (for tests that count them); between phases, with nothing in
   * flight, those records are dropped so they neither show in the heap figures nor slow the fake.
   */
  private void forgetCalls(FakeProviderServer fake) {
    fake.reset();
    fake.setDefault(answer());
  }

  /**
   * A whole answer after the provider latency; streamed, {@code chunks} pieces of a 200-character
   * answer spread evenly over it (the first after one interval).
   */
  private FakeProviderServer.Step answer() {
    if (!settings.stream()) {
      return FakeProviderServer.Step.ok().withDelay(settings.providerLatency());
    }
    Duration every = settings.providerLatency().dividedBy(settings.chunks());
    return FakeProviderServer.Step.ok("x".repeat(Math.max(200, settings.chunks()))).withChunks(settings.chunks(), every);
  }

  private HttpRequest post(URI uri, String body) {
    return HttpRequest.newBuilder(uri)
        .timeout(settings.providerLatency().plusSeconds(30))
        .header("Content-Type", "application/json")
        .header("Authorization", "Bearer sk-bench")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
  }

  private Duration remaining() {
    return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
  }

  /**
   * One openai-kind provider at the fake server, the HTTP channel on a free loopback port with room
   * for every request in flight, and all state and logs inside {@code dir}.
   */
  private Path writeConfig(Path dir, FakeProviderServer fake) throws IOException {
    int pending = settings.concurrency() * 2 + 16;
    String conf = "switchboard {\n"
        + "  providers = [{ name = \"" + PROVIDER + "\", kind = \"openai\", base-url = \"" + fake.openAiBaseUrl() + "\","
        + " model = \"bench-model\", api-keys = [\"sk-bench\"], timeout = 60s }]\n"
        + "  data-dir = \"data\"\n"
        + "  provider-log.path = \"logs/provider.log\"\n"
        + "  shutdown-timeout = 5s\n"
        + "  channels.http { host = \"127.0.0.1\", port = 0, max-pending-messages = " + pending + " }\n"
        + "}\n"
        + providerPool();
    Path file = dir.resolve("bench.conf");
    Files.writeString(file, conf);
    return file;
  }

  /**
   * The operator's knob for the gateway's connections to a provider ({@code max-connections}), when
   * asked for; otherwise the provider default the gateway ships with.
   */
  private String providerPool() {
    int connections = settings.providerConnections();
    return connections == 0 ? "" : "switchboard.provider-defaults.max-connections = " + connections + "\n";
  }

  /** Heap in use once the garbage that can go is gone: what the run keeps, not what it churns. */
  private static long heapAfterGc() {
    MEMORY.gc();
    MEMORY.gc();
    return MEMORY.getHeapMemoryUsage().getUsed();
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
