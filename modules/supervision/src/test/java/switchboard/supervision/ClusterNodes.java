package switchboard.supervision;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Real {@code gateway run} processes forming one cluster on loopback, as an operator runs them: each
 * its own JVM (the test's class path), config file, data dir and ports, all on one PostgreSQL store.
 * A node can be killed with SIGKILL ({@link Node#kill}), the way a crashed machine goes.
 */
final class ClusterNodes implements AutoCloseable {

  static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  private final Path dir;
  private final String shared;
  private final List<Integer> clusterPorts = new ArrayList<>();
  final List<Node> nodes = new ArrayList<>();

  /** One node: its process, HTTP base URL, cluster address and log. */
  static final class Node {
    final int index;
    final int clusterPort;
    final Process process;
    final String base;
    final Path log;

    Node(int index, int clusterPort, Process process, String base, Path log) {
      this.index = index;
      this.clusterPort = clusterPort;
      this.process = process;
      this.base = base;
      this.log = log;
    }

    /** This node's {@code host:port} in the cluster. */
    String address() {
      return "127.0.0.1:" + clusterPort;
    }

    /** SIGKILL: no drain, no leaving the cluster. */
    void kill() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }

    TestGateway.Reply get(String path) throws Exception {
      return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
    }

    TestGateway.Reply post(String path, String body) throws Exception {
      return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    private TestGateway.Reply send(HttpRequest.Builder request) throws Exception {
      long start = System.nanoTime();
      HttpResponse<String> response = HTTP.send(request.timeout(Duration.ofSeconds(90)).build(),
          HttpResponse.BodyHandlers.ofString());
      return new TestGateway.Reply(response.statusCode(), response.headers().map(), response.body(),
          Duration.ofNanos(System.nanoTime() - start));
    }

    /** The members this node sees as up. */
    List<String> upMembers() {
      try {
        TestGateway.Reply status = get("/api/status");
        List<String> up = new ArrayList<>();
        for (JsonNode m : status.json().path("cluster").path("members")) {
          if (m.path("status").asText().equals("up") && m.path("reachable").asBoolean()) {
            up.add(m.path("address").asText());
          }
        }
        return up;
      } catch (Exception | AssertionError e) {
        return List.of();
      }
    }

    String logText() {
      try {
        return Files.readString(log);
      } catch (IOException e) {
        return "";
      }
    }
  }

  /**
   * Nodes that will run {@code switchboard { ... }} with {@code shared} (providers, the store, ...)
   * inside; {@code count} cluster ports are taken now, the first two are the seed nodes.
   */
  ClusterNodes(Path dir, int count, String shared) throws IOException {
    this.dir = dir;
    this.shared = shared;
    for (int i = 0; i < count; i++) {
      clusterPorts.add(freePort());
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress("127.0.0.1", 0));
      return socket.getLocalPort();
    }
  }

  String config(int index, String extra) {
    List<String> seeds = clusterPorts.subList(0, Math.min(2, clusterPorts.size())).stream()
        .map(p -> "\"127.0.0.1:" + p + "\"").toList();
    return "switchboard {\n"
        + "  " + shared + "\n"
        + "  channels.http.port = 0\n"
        + "  data-dir = \"" + dir.resolve("node-" + index) + "\"\n"
        + "  provider-log.path = \"" + dir.resolve("node-" + index + "/provider.log") + "\"\n"
        + "  shutdown-timeout = 3s\n"
        + "  cluster { enabled = true, host = \"127.0.0.1\", port = " + clusterPorts.get(index)
        + ", seed-nodes = [" + String.join(", ", seeds) + "] }\n"
        + "  " + extra + "\n"
        + "}\n";
  }

  /** Starts node {@code index} and returns once its HTTP API listens (it may still be joining). */
  Node start(int index) throws Exception {
    return start(index, "");
  }

  Node start(int index, String extra) throws Exception {
    Path conf = dir.resolve("node-" + index + ".conf");
    Files.writeString(conf, config(index, extra));
    Path log = dir.resolve("node-" + index + ".log");
    List<String> command = List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        // the gateway's own logging (to stderr, kept in the node's log), not the tests' console one
        "-Dlogback.configurationFile=" + Projects.root().resolve("modules/supervision/src/main/resources/logback.xml"),
        "-cp", System.getProperty("java.class.path"),
        Main.class.getName(), "gateway", "run", "--config", conf.toString());
    Process process = new ProcessBuilder(command).directory(dir.toFile())
        .redirectError(log.toFile()).start();
    process.getOutputStream().close();
    String base = switchboard.supervision.bench.ClusterBenchCommand.readAddress(process)
        .get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    if (base == null) {
      throw new AssertionError("node " + index + " did not start: " + Files.readString(log));
    }
    Node node = new Node(index, clusterPorts.get(index), process, base, log);
    nodes.add(node);
    return node;
  }

  /** Waits until every node in {@code alive} sees exactly those nodes up. */
  static void awaitMembers(List<Node> alive, Duration within) throws Exception {
    List<String> expected = alive.stream().map(Node::address).sorted().toList();
    await(within, () -> alive.stream().allMatch(n -> n.upMembers().stream().sorted().toList().equals(expected)),
        () -> "members " + expected + "; seen: " + alive.stream().map(n -> n.address() + "=" + n.upMembers()).toList());
  }

  static void await(Duration within, BooleanSupplier check, java.util.function.Supplier<String> what) throws Exception {
    long end = System.nanoTime() + within.toNanos();
    while (!check.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + within + ": " + what.get());
      }
      Thread.sleep(100);
    }
  }

  /** Each node's log is kept under {@code target/cluster-logs/<test>/} for a look after a failure. */
  private void keepLogs() {
    try {
      Path kept = Files.createDirectories(Path.of("target", "cluster-logs", dir.getFileName().toString()));
      for (Node node : nodes) {
        Files.copy(node.log, kept.resolve(node.log.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      // only a convenience
    }
  }

  @Override
  public void close() {
    for (Node node : nodes) {
      node.process.destroyForcibly();
    }
    keepLogs();
    for (Node node : nodes) {
      try {
        node.process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
