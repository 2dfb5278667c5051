package switchboard.supervision.chaos;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import switchboard.supervision.Main;
import switchboard.supervision.chaos.ChaosHistory.ProcessChange;
import switchboard.supervision.chaos.ChaosHistory.ProcessEvent;

/**
 * The gateway under test as a process of its own ({@code gateway run} on the run's config, the same
 * class path as this one), so that it can be killed with SIGKILL and stopped with SIGTERM like a
 * deployed one, and restarted on the same port and data. Each start is a new generation with its
 * own output files; a process that ends without being told to is recorded as {@code DIED}.
 */
final class ChaosGateway implements AutoCloseable {

  static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

  private final ChaosSetup setup;
  private final ChaosHistory history;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private volatile Process process;
  private volatile int generation;
  private volatile boolean stopping;

  ChaosGateway(ChaosSetup setup, ChaosHistory history) {
    this.setup = setup;
    this.history = history;
  }

  String base() {
    return "http://127.0.0.1:" + setup.httpPort;
  }

  int generation() {
    return generation;
  }

  /** Whether the current process runs. */
  boolean alive() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** Starts a new generation and returns once its {@code /health} answers 200. */
  void start() throws IOException, InterruptedException {
    int g = ++generation;
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m"));
    // the gateway's own logging, even when this runs from a test class path with a test logback config
    URL logback = ChaosGateway.class.getClassLoader().getResource("logback.xml");
    if (logback != null) {
      command.add("-Dlogback.configurationFile=" + logback);
    }
    command.addAll(List.of("-cp", classPath(), Main.class.getName(),
        "gateway", "run", "--config", setup.gatewayConf.toString()));
    Process p = new ProcessBuilder(command).directory(setup.dir.toFile())
        .redirectOutput(setup.dir.resolve("gateway-" + g + ".out").toFile())
        .redirectError(setup.dir.resolve("gateway-" + g + ".err").toFile())
        .start();
    p.getOutputStream().close();
    stopping = false;
    process = p;
    p.onExit().thenAccept(ended -> {
      if (!stopping && process == ended) {
        history.process(new ProcessEvent(Instant.now(), g, ProcessChange.DIED, ended.exitValue()));
      }
    });
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (!healthy()) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        p.destroyForcibly();
        throw new IOException("the gateway did not start within " + START_TIMEOUT.toSeconds() + " s; see "
            + setup.dir.resolve("gateway-" + g + ".err"));
      }
      Thread.sleep(100);
    }
    history.process(new ProcessEvent(Instant.now(), g, ProcessChange.STARTED, 0));
  }

  /** This JVM's class path with every entry absolute: the gateway runs in the run's directory. */
  private static String classPath() {
    List<String> entries = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      entries.add(entry.isEmpty() ? entry : Path.of(entry).toAbsolutePath().toString());
    }
    return String.join(java.io.File.pathSeparator, entries);
  }

  private boolean healthy() {
    try {
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(base() + "/health"))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** SIGKILL: the process ends at once, whatever it was doing. */
  void kill() throws InterruptedException {
    Process p = process;
    stopping = true;
    history.process(new ProcessEvent(Instant.now(), generation, ProcessChange.KILLED, 0));
    p.destroyForcibly();
    p.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM, then waits for the exit (at most the shutdown timeout and 20 s more); returns the exit code. */
  int terminate(ProcessChange as) throws InterruptedException {
    Process p = process;
    stopping = true;
    history.process(new ProcessEvent(Instant.now(), generation, ProcessChange.STOPPING, 0));
    p.destroy();
    long wait = setup.checked.shutdownTimeout().toSeconds() + 20;
    if (!p.waitFor(wait, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
      history.process(new ProcessEvent(Instant.now(), generation, as, -1));
      return -1;
    }
    history.process(new ProcessEvent(Instant.now(), generation, as, p.exitValue()));
    return p.exitValue();
  }

  /**
   * Heap after a full GC and live threads, through {@code jcmd} and {@code /proc}; empty when they
   * cannot be read (a JRE without jcmd, a system without /proc).
   */
  Optional<ChaosHistory.Sample> sample(String label) {
    Process p = process;
    if (p == null || !p.isAlive()) {
      return Optional.empty();
    }
    try {
      jcmd(p.pid(), "GC.run");
      String info = jcmd(p.pid(), "GC.heap_info");
      long usedKb = 0;
      for (String line : info.split("\n")) {
        Matcher m = HEAP_USED.matcher(line);
        if (!line.contains("Metaspace") && !line.contains("class space") && m.find()) {
          usedKb += Long.parseLong(m.group(1));
        }
      }
      int threads = -1;
      Path status = Path.of("/proc", Long.toString(p.pid()), "status");
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith("Threads:")) {
          threads = Integer.parseInt(line.substring("Threads:".length()).trim());
        }
      }
      if (usedKb == 0 || threads < 0) {
        return Optional.empty();
      }
      ChaosHistory.Sample sample = new ChaosHistory.Sample(Instant.now(), generation, label, usedKb * 1024, threads);
      history.sample(sample);
      return Optional.of(sample);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  private static String jcmd(long pid, String what) throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), what).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("jcmd " + what + " failed: " + out);
    }
    return out;
  }

  @Override
  public void close() {
    Process p = process;
    if (p != null && p.isAlive()) {
      stopping = true;
      p.destroyForcibly();
    }
  }
}
