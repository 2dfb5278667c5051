package switchboard.supervision.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.stream.Stream;
import switchboard.supervision.GatewayConfig;
import switchboard.supervision.chaos.ChaosHistory.Channel;
import switchboard.supervision.chaos.ChaosHistory.ProcessChange;

/**
 * One soak from start to table: stands the fakes up, starts the gateway, sends the load, kills and
 * restarts the gateway on a seeded plan, waits for the last answers, gathers what the gateway
 * printed and served, stops it with SIGTERM and runs the checks. This runs on the command's own
 * thread, which waits between steps; nothing here is an actor.
 */
final class ChaosRun {

  /** How long a gateway process runs before its heap and threads are first sampled. */
  static final Duration WARMUP = Duration.ofSeconds(8);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The checks' rows and where the run kept its files. */
  record Result(List<ChaosChecks.Row> rows, Path dir) {}

  /** A kill the plan holds: at {@code at}, SIGKILL ({@code hard}) or SIGTERM. */
  record Kill(Instant at, boolean hard) {}

  private final ChaosSettings settings;
  private final PrintWriter out;

  ChaosRun(ChaosSettings settings, PrintWriter out) {
    this.settings = settings;
    this.out = out;
  }

  Result run() throws GatewayConfig.Invalid, IOException, InterruptedException {
    ChaosHistory history = new ChaosHistory();
    try (ChaosSetup setup = ChaosSetup.create(settings, history)) {
      out.printf(java.util.Locale.ROOT, "chaos: seed %d, %d s of load at %s messages/s, %s; providers %s; files in %s%n",
          settings.seed(), settings.duration().toSeconds(), trim(settings.rate()),
          settings.kill() ? "with SIGKILL and SIGTERM" : "no kills",
          setup.providers.stream().map(p -> p.name).toList(), settings.dir());
      settings.breaks().forEach(s -> out.println("chaos: breaking on purpose (" + s.flag() + "): " + s.does));
      out.flush();
      Map<String, String> texts = new LinkedHashMap<>();
      Map<String, List<String>> turns = new LinkedHashMap<>();
      List<ChaosLoad.Drop> drops;
      ChaosGateway gateway = new ChaosGateway(setup, history);
      try (gateway;
          BreakerWatch watch = new BreakerWatch(gateway.base(), setup.httpToken, history);
          ChaosLoad load = new ChaosLoad(settings, setup, history, gateway.base())) {
        gateway.start();
        watch.start();
        load.start();
        soak(gateway, load, history);
        drain(load, setup.checked.router().requestTimeout());
        if (gateway.sample("end").isPresent()) {
          out.println("chaos: sampled the heap and threads at the end");
        }
        texts.put("GET /metrics", watch.get("/metrics").orElse(""));
        texts.put("GET /api/status", watch.get("/api/status").orElse(""));
        texts.put("GET / (status page)", watch.get("/").orElse(""));
        turns.putAll(storedTurns(watch, history));
        watch.close();
        gateway.terminate(ProcessChange.EXITED);
        drops = List.copyOf(load.drops);
      }
      texts.putAll(logs(setup.dir));
      history.write(setup.dir);
      ChaosChecks.Evidence evidence = new ChaosChecks.Evidence(history, drops, ChaosChecks.Bounds.of(setup.checked),
          List.copyOf(setup.secrets), texts, turns);
      return new Result(ChaosChecks.all(evidence), setup.dir);
    }
  }

  private void soak(ChaosGateway gateway, ChaosLoad load, ChaosHistory history) throws IOException, InterruptedException {
    Instant begin = Instant.now();
    Instant end = begin.plus(settings.duration());
    List<Kill> plan = settings.kill() ? plan(begin) : new ArrayList<>();
    Duration every = Duration.ofSeconds(Math.max(10, settings.duration().toSeconds() / 20));
    Instant nextProgress = begin.plus(every);
    Instant sampleAt = begin.plus(WARMUP);
    boolean sampled = false;
    while (Instant.now().isBefore(end)) {
      Instant now = Instant.now();
      if (!plan.isEmpty() && !now.isBefore(plan.get(0).at())) {
        Kill k = plan.remove(0);
        if (sampled) {
          gateway.sample(k.hard() ? "before SIGKILL" : "before SIGTERM");
        }
        if (k.hard()) {
          gateway.kill();
        } else {
          int code = gateway.terminate(ProcessChange.TERMINATED);
          out.println("chaos: SIGTERM, exit code " + code);
        }
        gateway.start();
        load.restarted(Instant.now());
        out.printf("chaos: +%ds %s, gateway restarted (process %d)%n", Duration.between(begin, Instant.now()).toSeconds(),
            k.hard() ? "SIGKILL" : "SIGTERM", gateway.generation());
        out.flush();
        sampleAt = Instant.now().plus(WARMUP);
        sampled = false;
      }
      if (!gateway.alive()) {
        // it died on its own (a failed check already): start it again so the run goes on meaning something
        gateway.start();
        load.restarted(Instant.now());
        out.printf("chaos: +%ds the gateway died on its own; restarted (process %d)%n",
            Duration.between(begin, Instant.now()).toSeconds(), gateway.generation());
        sampleAt = Instant.now().plus(WARMUP);
        sampled = false;
      }
      if (!sampled && !now.isBefore(sampleAt)) {
        sampled = gateway.sample("start").isPresent();
        sampleAt = sampled ? Instant.MAX : now.plusSeconds(5);
      }
      if (!now.isBefore(nextProgress)) {
        out.printf("chaos: +%ds %d messages sent, %d awaiting an answer, %d provider calls%n",
            Duration.between(begin, now).toSeconds(), history.messages.size(), load.pending(), history.calls.size());
        out.flush();
        nextProgress = nextProgress.plus(every);
      }
      Thread.sleep(50);
    }
    load.stopSending();
  }

  /** Waits for the answers still on their way: at most the request timeout and 30 s more. */
  private void drain(ChaosLoad load, Duration requestTimeout) throws InterruptedException {
    Instant until = Instant.now().plus(requestTimeout).plusSeconds(30);
    load.giveUpAt(until.minusSeconds(5));
    out.println("chaos: load stopped; waiting for " + load.pending() + " answers");
    out.flush();
    while (load.pending() > 0 && Instant.now().isBefore(until)) {
      Thread.sleep(100);
    }
  }

  /**
   * The kills, from the seed: one every five minutes (at least two, a SIGKILL first, then turn
   * about with SIGTERM; one SIGKILL for a run under 40 s), each at a random moment of its slot,
   * none in the last 15% so the last process is measured.
   */
  List<Kill> plan(Instant begin) {
    Random random = new Random(settings.seed() ^ 0x5DEECE66DL);
    long seconds = settings.duration().toSeconds();
    int count = seconds < 40 ? 1 : (int) Math.max(2, seconds / 300);
    double slot = 0.85 * settings.duration().toMillis() / count;
    List<Kill> plan = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long at = (long) ((i + 0.25 + 0.5 * random.nextDouble()) * slot);
      plan.add(new Kill(begin.plusMillis(at), i % 2 == 0));
    }
    return plan;
  }

  /** Each HTTP conversation's stored user turns at the end, as message ids. */
  private static Map<String, List<String>> storedTurns(BreakerWatch watch, ChaosHistory history) {
    Map<String, List<String>> turns = new LinkedHashMap<>();
    TreeSet<String> conversations = new TreeSet<>();
    history.messages.stream().filter(m -> m.channel() == Channel.CONVERSATION).forEach(m -> conversations.add(m.conversation()));
    for (String c : conversations) {
      watch.get("/api/conversations/" + c).ifPresent(body -> {
        try {
          List<String> ids = new ArrayList<>();
          for (JsonNode m : JSON.readTree(body).path("messages")) {
            if (m.path("role").asText().equals("user")) {
              Matcher id = ChaosProvider.MESSAGE_ID.matcher(m.path("content").asText());
              if (id.find()) {
                ids.add(id.group(1));
              }
            }
          }
          turns.put(c, ids);
        } catch (IOException e) {
          turns.put(c, List.of());
        }
      });
    }
    return turns;
  }

  /** What the gateway wrote: its output and error streams of every process, and its log files. */
  private static Map<String, String> logs(Path dir) throws IOException {
    Map<String, String> texts = new LinkedHashMap<>();
    List<Path> files;
    try (Stream<Path> all = Files.walk(dir)) {
      files = all.filter(Files::isRegularFile)
          .filter(p -> {
            String name = p.getFileName().toString();
            return !p.startsWith(dir.resolve("data")) && !name.startsWith("chaos-") && !name.endsWith(".conf");
          })
          .sorted().toList();
    }
    for (Path f : files) {
      texts.put(dir.relativize(f).toString(), new String(Files.readAllBytes(f), StandardCharsets.UTF_8));
    }
    return texts;
  }

  private static String trim(double rate) {
    return rate == Math.rint(rate) ? Long.toString((long) rate) : Double.toString(rate);
  }
}
