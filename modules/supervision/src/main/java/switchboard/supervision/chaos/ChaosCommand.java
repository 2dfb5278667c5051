package switchboard.supervision.chaos;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import switchboard.providers.ErrorClassifier;
import switchboard.supervision.GatewayConfig;

/**
 * {@code switchboard chaos}: a bounded soak on loopback. Fake providers answer with a seeded mix of
 * every fault the error model knows, HTTP clients and a fake Telegram send messages at a set rate,
 * the gateway process is optionally killed and stopped at random moments and restarted, and at the
 * end every promise is checked and printed as a table (CONTRACT.md section 1). Exit 0 when all
 * hold, 1 naming the failed checks on the last line, 2 for bad options or an invalid config.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true,
    description = {
      "Soak the gateway on loopback under a seeded mix of provider faults, channel load and (with --kill) process kills,",
      "then check every promise: each message answered once and none lost, calls within the contract's bounds,",
      "no call to an open breaker, spend within the caps, no secret in any log, metrics or status, bounded heap",
      "and threads. Prints a table; exit 0 when every check holds, 1 naming the failed checks on the last line.",
      "Everything runs on 127.0.0.1: providers, Telegram and keys are fakes made for the run."
    })
public final class ChaosCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--duration", paramLabel = "D", defaultValue = "60s",
      description = "how long load is sent (default: ${DEFAULT-VALUE}; at most 24h); answers are awaited after it")
  String duration;

  @Option(names = "--seed", paramLabel = "N", description = "seed of the fault mix, the load and the kills (default: random, printed)")
  Long seed;

  @Option(names = "--rate", paramLabel = "R", defaultValue = "10",
      description = "user messages per second over all channels (default: ${DEFAULT-VALUE}; at most 200)")
  double rate;

  @Option(names = "--kill", description = "kill the gateway (SIGKILL) and stop it (SIGTERM) at random moments, restarting it each time")
  boolean kill;

  @Option(names = "--config", paramLabel = "FILE",
      description = "soak this gateway config (its providers, retries, breakers, caps, channels' limits); default: a built-in one")
  Path config;

  @Option(names = "--break", paramLabel = "CHECK", split = ",",
      description = "break a promise on purpose to see its check fail: retries, breaker, spend, secret, twice, lost, heap")
  List<String> breaks = new ArrayList<>();

  @Option(names = "--dir", paramLabel = "DIR", description = "where the run keeps its configs, store and logs (default: a new temporary directory)")
  Path dir;

  @Override
  public Integer call() throws Exception {
    ChaosSettings settings = settings();
    PrintWriter out = spec.commandLine().getOut();
    ChaosRun.Result result;
    try {
      result = new ChaosRun(settings, out).run();
    } catch (GatewayConfig.Invalid invalid) {
      invalid.problems().forEach(out::println);
      out.flush();
      return switchboard.supervision.Main.INVALID;
    }
    ChaosReport.print(out, settings, result.rows(), result.dir());
    return result.rows().stream().allMatch(ChaosChecks.Row::ok) ? 0 : 1;
  }

  private ChaosSettings settings() {
    Duration d = ErrorClassifier.parseResetDuration(duration).orElseThrow(() ->
        new ParameterException(spec.commandLine(), "--duration \"" + duration + "\" is not a duration like 90s, 30m or 1h"));
    if (d.compareTo(Duration.ofSeconds(5)) < 0 || d.compareTo(ChaosSettings.MAX_DURATION) > 0) {
      throw new ParameterException(spec.commandLine(), "--duration " + duration + " is out of range (expected 5s to 24h)");
    }
    if (!(rate > 0 && rate <= ChaosSettings.MAX_RATE)) {
      throw new ParameterException(spec.commandLine(), "--rate " + rate + " is out of range (expected more than 0, at most 200)");
    }
    if (config != null && !Files.isRegularFile(config)) {
      throw new ParameterException(spec.commandLine(), "--config " + config + ": config file not found");
    }
    Set<Sabotage> broken = EnumSet.noneOf(Sabotage.class);
    try {
      breaks.forEach(b -> broken.add(Sabotage.parse(b)));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    long s = seed != null ? seed : new java.security.SecureRandom().nextInt(1_000_000);
    Path where;
    try {
      where = dir != null ? dir : Files.createTempDirectory("switchboard-chaos-" + s + "-");
    } catch (java.io.IOException e) {
      throw new IllegalStateException("cannot create a directory for the run: " + e.getMessage(), e);
    }
    return new ChaosSettings(d, s, rate, kill, Optional.ofNullable(config), broken, where.toAbsolutePath());
  }
}
