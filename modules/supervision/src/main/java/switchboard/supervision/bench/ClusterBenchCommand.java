package switchboard.supervision.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import switchboard.supervision.Main;

/**
 * {@code switchboard bench cluster}: throughput of 1, 2, 3... real {@code gateway run} processes
 * forming one cluster on a PostgreSQL store, with a simulated provider, the load spread evenly over
 * the nodes' HTTP APIs ({@code POST /api/conversations/{id}/messages}, one conversation per lane);
 * and, on two nodes, the extra latency of a message whose conversation lives on the other node
 * (docs/benchmark.md). Every process runs on this machine, so the numbers show the cost of the
 * cluster's hops, not how it scales on more machines.
 */
@Command(name = "cluster", mixinStandardHelpOptions = true,
    description = "Measure 1, 2, 3... gateway processes in one cluster on PostgreSQL, and the cost of a message whose "
        + "conversation lives on another node.")
public final class ClusterBenchCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern ADDRESS = Pattern.compile("HTTP API on (http://127\\.0\\.0\\.1:\\d+)");
  private static final Duration START = Duration.ofSeconds(90);

  @Spec CommandSpec spec;

  @Option(names = "--nodes", paramLabel = "N,N,...", split = ",", defaultValue = "1,2,3",
      description = "cluster sizes to measure, one after the other (default: ${DEFAULT-VALUE})")
  List<Integer> sizes;

  @Option(names = "--requests", paramLabel = "N", defaultValue = "3000", description = "measured messages per size (default: ${DEFAULT-VALUE})")
  int requests;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "1000", description = "unmeasured messages first (default: ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--concurrency", paramLabel = "C", defaultValue = "32", description = "messages in flight (default: ${DEFAULT-VALUE})")
  int concurrency;

  @Option(names = "--provider-latency", paramLabel = "D", defaultValue = "20ms",
      description = "the simulated provider's time per call (default: ${DEFAULT-VALUE})")
  String providerLatency;

  @Option(names = "--postgres-url", paramLabel = "URL", required = true, description = "the store every node shares")
  String postgresUrl;

  @Mixin PostgresLogin login;

  @Option(names = "--heap", paramLabel = "SIZE", defaultValue = "512m", description = "each node's -Xmx (default: ${DEFAULT-VALUE})")
  String heap;

  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  /** One node's process and address. */
  private record Node(Process process, String base, int clusterPort) {}

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    out.printf(Locale.ROOT, "cluster bench: %s node(s), %d messages at concurrency %d, provider latency %s, %d cpus, store %s%n",
        sizes, requests, concurrency, providerLatency, Runtime.getRuntime().availableProcessors(), postgresUrl);
    out.println("| nodes | msg/s | p50 ms | p99 ms | errors |");
    out.println("|---|---|---|---|---|");
    int failures = 0;
    String run = Long.toString(System.currentTimeMillis(), 36);
    for (int size : sizes) {
      Path dir = Files.createTempDirectory("switchboard-bench-cluster-");
      List<Node> nodes = new ArrayList<>();
      try {
        nodes = start(size, dir);
        List<Node> cluster = nodes;
        String prefix = run + "-" + size + "-";
        new LoadRun(client, warmup, (lane, i) -> message(cluster.get(lane % cluster.size()), prefix + lane, i)).run(concurrency, Duration.ofMinutes(5));
        PhaseResult measured = new LoadRun(client, requests,
            (lane, i) -> message(cluster.get(lane % cluster.size()), prefix + lane, i)).run(concurrency, Duration.ofMinutes(5));
        failures += measured.errorCount();
        out.printf(Locale.ROOT, "| %d | %.0f | %.1f | %.1f | %d |%n", size, measured.throughput(),
            measured.percentile(0.5) / 1e6, measured.percentile(0.99) / 1e6, measured.errorCount());
        measured.errors().forEach((what, n) -> out.printf(Locale.ROOT, "    %d x %s%n", n, what));
        if (size == 2) {
          crossNode(out, cluster, prefix);
        }
      } finally {
        stop(nodes);
      }
    }
    return failures == 0 ? 0 : 1;
  }

  /** One at a time, messages to conversations that live on the node asked, then on the other one. */
  private void crossNode(PrintWriter out, List<Node> nodes, String prefix) throws Exception {
    List<Long> local = new ArrayList<>();
    List<Long> remote = new ArrayList<>();
    for (int c = 0; c < 200 && (local.size() < 500 || remote.size() < 500); c++) {
      String id = prefix + "x" + c;
      send(message(nodes.get(0), id, 0));
      String home = JSON.readTree(send(HttpRequest.newBuilder(URI.create(nodes.get(0).base() + "/api/conversations/" + id)).GET().build()))
          .path("node").asText();
      boolean onFirst = home.endsWith(":" + nodes.get(0).clusterPort());
      for (int i = 1; i <= 5; i++) {
        long start = System.nanoTime();
        send(message(nodes.get(0), id, i));
        (onFirst ? local : remote).add(System.nanoTime() - start);
      }
    }
    out.printf(Locale.ROOT, "two nodes, one message at a time: p50 %.2f ms when the conversation lives on the node asked "
            + "(%d messages), %.2f ms when it lives on the other node (%d); a node hop adds %.2f ms%n",
        median(local), local.size(), median(remote), remote.size(), median(remote) - median(local));
  }

  private static double median(List<Long> nanos) {
    long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
    return sorted.length == 0 ? Double.NaN : sorted[sorted.length / 2] / 1e6;
  }

  private String send(HttpRequest request) throws Exception {
    HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("HTTP " + response.statusCode() + ": " + response.body());
    }
    return response.body();
  }

  private static HttpRequest message(Node node, String conversation, int i) {
    return HttpRequest.newBuilder(URI.create(node.base() + "/api/conversations/" + conversation + "/messages"))
        .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"text\": \"message " + i + "\"}")).build();
  }

  private List<Node> start(int size, Path dir) throws Exception {
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      ports.add(freePort());
    }
    List<Node> nodes = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      nodes.add(startNode(i, ports, dir));
    }
    long end = System.nanoTime() + START.toNanos();
    while (!nodes.stream().allMatch(n -> upMembers(n) == size)) {
      if (System.nanoTime() > end) {
        throw new IllegalStateException("the " + size + " node(s) did not form a cluster within " + START.toSeconds() + "s");
      }
      Thread.sleep(200);
    }
    return nodes;
  }

  private Node startNode(int index, List<Integer> ports, Path dir) throws Exception {
    String seeds = String.join(", ", ports.subList(0, Math.min(2, ports.size())).stream().map(p -> "\"127.0.0.1:" + p + "\"").toList());
    Path conf = dir.resolve("node-" + index + ".conf");
    Files.writeString(conf, "switchboard {\n"
        + "  providers = [{ name = \"sim\", kind = \"simulated\", simulate.latency = " + providerLatency + " }]\n"
        + "  channels.http { port = 0, max-pending-messages = 100000 }\n"
        + "  data-dir = \"" + dir.resolve("node-" + index) + "\"\n"
        + "  provider-log.level = \"off\"\n"
        + "  persistence { store = \"postgres\", postgres { url = \"" + postgresUrl + "\", user = \"" + login.user
        + "\", password = ${?SWITCHBOARD_DB_PASSWORD} } }\n"
        + "  cluster { enabled = true, port = " + ports.get(index) + ", seed-nodes = [" + seeds + "] }\n"
        + "}\n");
    ProcessBuilder builder = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + heap,
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "gateway", "run", "--config", conf.toString())
        .redirectError(dir.resolve("node-" + index + ".log").toFile());
    builder.environment().put("SWITCHBOARD_DB_PASSWORD", login.password());
    Process process = builder.start();
    String base = readAddress(process).get(START.toSeconds(), TimeUnit.SECONDS);
    if (base == null) {
      process.destroyForcibly();
      throw new IllegalStateException("node " + index + " did not start: see " + dir.resolve("node-" + index + ".log"));
    }
    return new Node(process, base, ports.get(index));
  }

  /**
   * The HTTP address {@code gateway run} prints, read on a thread of its own that then keeps the pipe
   * drained (not on a pool thread: it blocks for the life of the process).
   */
  public static CompletableFuture<String> readAddress(Process process) {
    CompletableFuture<String> address = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
          Matcher m = ADDRESS.matcher(line);
          if (!address.isDone() && m.find()) {
            address.complete(m.group(1));
          }
        }
      } catch (IOException e) {
        // the process is gone
      }
      address.complete(null);
    }, "switchboard-node-output");
    reader.setDaemon(true);
    reader.start();
    return address;
  }

  private int upMembers(Node node) {
    try {
      JsonNode status = JSON.readTree(send(HttpRequest.newBuilder(URI.create(node.base() + "/api/status")).GET().build()));
      int up = 0;
      for (JsonNode m : status.path("cluster").path("members")) {
        up += m.path("status").asText().equals("up") ? 1 : 0;
      }
      return up;
    } catch (Exception e) {
      return 0;
    }
  }

  private static void stop(List<Node> nodes) throws InterruptedException {
    nodes.forEach(n -> n.process().destroy());
    for (Node n : nodes) {
      if (!n.process().waitFor(30, TimeUnit.SECONDS)) {
        n.process().destroyForcibly();
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress("127.0.0.1", 0));
      return socket.getLocalPort();
    }
  }
}
