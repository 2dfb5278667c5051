package switchboard.supervision;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import switchboard.supervision.bench.BenchCommand;
import switchboard.supervision.chaos.ChaosCommand;

/**
 * The {@code switchboard} command line (CONTRACT.md section 1). Exit codes: 0 ok, 2 bad usage or an
 * invalid config (one line per problem, never a stack trace), 1 anything else.
 */
@Command(
    name = "switchboard",
    mixinStandardHelpOptions = true,
    version = "switchboard 0.1.0",
    description = "A resilient chat backend: channels on one side, LLM providers on the other.",
    subcommands = {
      GatewayCommands.class,
      ConfigCommands.class,
      ProviderCommands.class,
      SimulateCommand.class,
      BenchCommand.class,
      ChaosCommand.class
    })
public final class Main implements Runnable {

  /** Exit code of a config that cannot be used, same as picocli's usage errors. */
  public static final int INVALID = CommandLine.ExitCode.USAGE;

  /** System property the launcher sets to the project directory, to find the default config from anywhere. */
  public static final String HOME_PROPERTY = "switchboard.home";

  /** The config used when {@code --config} is not given. */
  public static final String DEFAULT_CONFIG = "config/gateway.conf";

  @Spec CommandSpec spec;

  public static void main(String[] args) {
    sizeCommonPool();
    PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
    System.exit(execute(out, err, args));
  }

  /**
   * Pekko HTTP hands back futures whose callbacks run on the JVM's common fork-join pool. On a
   * two-core machine that pool has parallelism 1, and then the JDK starts a new thread for every
   * asynchronous step, several per request (the benchmark measured half the throughput). Unless the
   * operator chose a value, give it at least two threads; it must be set before the pool is first used.
   */
  static void sizeCommonPool() {
    String key = "java.util.concurrent.ForkJoinPool.common.parallelism";
    if (System.getProperty(key) == null) {
      System.setProperty(key, String.valueOf(Math.max(2, Runtime.getRuntime().availableProcessors() - 1)));
    }
  }

  /**
   * The config at {@code file}, or empty after printing its problems to {@code out}, one line each
   * (the caller then exits {@link #INVALID}).
   */
  static java.util.Optional<GatewayConfig> loadOrReport(java.nio.file.Path file, PrintWriter out) {
    try {
      return java.util.Optional.of(GatewayConfig.load(file));
    } catch (GatewayConfig.Invalid invalid) {
      invalid.problems().forEach(out::println);
      return java.util.Optional.empty();
    }
  }

  /** Runs one command line, writing to {@code out} and {@code err}; returns the exit code. */
  public static int execute(PrintWriter out, PrintWriter err, String... args) {
    CommandLine commandLine = new CommandLine(new Main());
    commandLine.setOut(out);
    commandLine.setErr(err);
    commandLine.setExecutionExceptionHandler(
        (exception, cmd, parseResult) -> {
          err.println("switchboard: " + describe(exception));
          err.flush();
          return CommandLine.ExitCode.SOFTWARE;
        });
    int code = commandLine.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }

  /**
   * The config file to use: an explicit {@code --config} as given (relative to the working
   * directory); the default is looked up in the working directory first, then in the project the
   * launcher belongs to, so {@code bin/switchboard gateway run} works from anywhere.
   */
  static Path configFile(Path option) {
    if (option != null) {
      return option;
    }
    Path local = Path.of(DEFAULT_CONFIG);
    String home = System.getProperty(HOME_PROPERTY, "");
    if (Files.exists(local) || home.isEmpty()) {
      return local;
    }
    return Path.of(home).resolve(DEFAULT_CONFIG);
  }

  private static String describe(Throwable exception) {
    Throwable cause = exception;
    while (cause.getCause() != null && cause.getMessage() == null) {
      cause = cause.getCause();
    }
    return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
  }
}
