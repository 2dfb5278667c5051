package switchboard.supervision;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import switchboard.supervision.store.StoreSchema;

/** {@code switchboard config ...}: checking a config before it is deployed. */
@Command(name = "config", description = "Work with gateway configs.", subcommands = ConfigCommands.Check.class,
    mixinStandardHelpOptions = true)
final class ConfigCommands implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (check)");
  }

  /** Validates a config: {@code ok} and exit 0, or one line per problem on stdout and exit 2. */
  @Command(name = "check", description = "Validate a config: prints ok, or one line per problem (exit 2).",
      mixinStandardHelpOptions = true)
  static final class Check implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "config file (default: " + Main.DEFAULT_CONFIG + ")")
    Path config;

    @Override
    public Integer call() {
      GatewayConfig loaded = Main.loadOrReport(Main.configFile(config), spec.commandLine().getOut()).orElse(null);
      if (loaded == null) {
        return Main.INVALID;
      }
      loaded.warnings().forEach(w -> spec.commandLine().getErr().println("warning: " + w));
      try {
        StoreSchema.reach(loaded.store());
      } catch (StoreSchema.Unavailable e) {
        spec.commandLine().getOut().println("switchboard.persistence: " + e.getMessage());
        return Main.INVALID;
      }
      spec.commandLine().getOut().println("ok");
      return 0;
    }
  }
}
