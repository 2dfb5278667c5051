package switchboard.supervision.bench;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import switchboard.providers.ErrorClassifier;

/**
 * {@code switchboard bench}: how much latency the gateway adds to a provider call and how many
 * requests a second it passes, measured against an in-process fake provider on loopback, so the
 * numbers can be compared with other gateways' and tracked over time (docs/benchmark.md).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {StoreBenchCommand.class, ClusterBenchCommand.class},
    description = {
      "Measure the latency and throughput the gateway adds: the same load straight at an in-process fake",
      "provider, then through a gateway in front of it (everything on 127.0.0.1). Exit 1 if any request failed."
    })
public final class BenchCommand implements Callable<Integer> {

  /** Beyond the run's own --timeout, how long shutdown and clean-up may take before the command gives up. */
  private static final Duration GRACE = Duration.ofSeconds(60);

  @Spec CommandSpec spec;

  @Option(names = "--requests", paramLabel = "N", defaultValue = "2000",
      description = "measured requests per target (default: ${DEFAULT-VALUE})")
  int requests;

  @Option(names = "--concurrency", paramLabel = "C", defaultValue = "16",
      description = "requests in flight at once (default: ${DEFAULT-VALUE})")
  int concurrency;

  @Option(names = "--provider-latency", paramLabel = "D", defaultValue = "0ms",
      description = "how long the fake provider takes per call, e.g. 0ms, 100ms, 1s (default: ${DEFAULT-VALUE})")
  String providerLatency;

  @Option(names = "--endpoint", paramLabel = "E", defaultValue = "completions",
      description = "completions (POST /v1/chat/completions) or conversations "
          + "(POST /api/conversations/{id}/messages, one conversation per in-flight request) (default: ${DEFAULT-VALUE})")
  String endpoint;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "500",
      description = "unmeasured requests per target first (default: ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--provider-connections", paramLabel = "N", defaultValue = "0",
      description = "the gateway's connections to the provider (the provider's max-connections); "
          + "0 = the default the gateway ships with (default: ${DEFAULT-VALUE})")
  int providerConnections;

  @Option(names = "--stream", paramLabel = "PIECES", arity = "0..1", fallbackValue = "20", defaultValue = "0",
      description = "stream every answer (\"stream\": true) in PIECES pieces spread over the provider latency "
          + "(20 when no number is given) and report the time to the first piece; 0 = whole answers (default)")
  int stream;

  @Option(names = "--timeout", paramLabel = "D", defaultValue = "5m",
      description = "hard limit on the whole run (default: ${DEFAULT-VALUE})")
  String timeout;

  @Override
  public Integer call() throws Exception {
    BenchSettings settings = settings();
    PrintWriter out = spec.commandLine().getOut();
    CompletableFuture<BenchReport> run = new CompletableFuture<>();
    Thread runner = new Thread(() -> {
      try {
        run.complete(Benchmark.run(settings));
      } catch (Exception | Error e) {
        run.completeExceptionally(e);
      }
    }, "switchboard-bench");
    runner.setDaemon(true);
    runner.start();
    BenchReport report;
    try {
      report = run.get(settings.timeout().plus(GRACE).toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      spec.commandLine().getErr().println("switchboard: bench did not stop within " + settings.timeout().plus(GRACE).toSeconds() + "s");
      return 1;
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
    report.print(out);
    return report.errorCount() == 0 ? 0 : 1;
  }

  private BenchSettings settings() {
    try {
      return new BenchSettings(requests, concurrency, duration("--provider-latency", providerLatency),
          Endpoint.parse(endpoint), warmup, duration("--timeout", timeout), providerConnections, stream);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  private static Duration duration(String option, String text) {
    return ErrorClassifier.parseResetDuration(text).orElseThrow(() ->
        new IllegalArgumentException(option + " \"" + text + "\" is not a duration like 0ms, 100ms, 2s or 5m"));
  }
}
