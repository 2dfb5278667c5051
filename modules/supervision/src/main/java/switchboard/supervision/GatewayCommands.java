package switchboard.supervision;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import switchboard.supervision.ops.ServiceUnit;
import switchboard.supervision.ops.ShutdownRecord;

/** {@code switchboard gateway ...}: run the gateway, or ask a running one how it is. */
@Command(name = "gateway", description = "Run the gateway or ask a running one for its status.",
    subcommands = {GatewayCommands.Run.class, GatewayCommands.Status.class, GatewayCommands.InstallService.class},
    mixinStandardHelpOptions = true)
final class GatewayCommands implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (run, status)");
  }

  /**
   * Runs the gateway in the foreground until SIGTERM or Ctrl-C, then drains (the accepted messages
   * are answered, for at most {@code shutdown-timeout}) and exits 0.
   */
  @Command(name = "run", description = "Run the gateway in the foreground (SIGTERM or Ctrl-C drains and stops it).",
      mixinStandardHelpOptions = true)
  static final class Run implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
        description = "config file (default: " + Main.DEFAULT_CONFIG + ")")
    Path config;

    @Override
    public Integer call() throws InterruptedException {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Path file = Main.configFile(config);
      GatewayConfig loaded = Main.loadOrReport(file, out).orElse(null);
      if (loaded == null) {
        return Main.INVALID;
      }
      Gateway gateway;
      try {
        gateway = Gateway.start(loaded);
      } catch (Gateway.StartFailure failure) {
        err.println("switchboard: " + failure.getMessage());
        return 1;
      }
      CountDownLatch stop = new CountDownLatch(1);
      AtomicReference<String> signal = new AtomicReference<>();
      Signals.onTerminationSignal(name -> {
        signal.compareAndSet(null, name);
        stop.countDown();
      });
      gateway.whenTerminated().thenRun(stop::countDown);
      gateway.lastShutdown().ifPresent(last -> out.println("Previous run " + last.describe()));
      out.println("Switchboard is running with " + file + ": providers "
          + String.join(", ", loaded.usableProviders().stream().map(p -> p.name()).toList()));
      gateway.httpAddress().ifPresent(a ->
          out.println("HTTP API on http://" + a.getHostString() + ":" + a.getPort()
              + "  (status: http://" + a.getHostString() + ":" + a.getPort() + "/api/status)"));
      out.println("Stop with Ctrl-C or SIGTERM.");
      out.flush();
      stop.await();
      if (signal.get() == null && gateway.endedByItself()) {
        err.println("switchboard: the gateway stopped by itself after a fatal error (see the log above)");
        return 1;
      }
      out.println("Stopping: answering the messages in flight (at most " + loaded.shutdownTimeout().toSeconds() + "s)...");
      out.flush();
      int unanswered = gateway.shutdown(signal.get() == null ? ShutdownRecord.REQUESTED : signal.get());
      out.println(unanswered == 0 ? "Stopped." : "Stopped with " + unanswered + " messages unanswered.");
      return 0;
    }
  }

  /** Writes (or prints) the systemd unit that keeps the gateway running. */
  @Command(name = "install-service", description = "Write the systemd unit for this gateway (--print: only show it).",
      mixinStandardHelpOptions = true)
  static final class InstallService implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
        description = "config file the service runs (default: " + Main.DEFAULT_CONFIG + ")")
    Path config;

    @Option(names = "--user", paramLabel = "USER", description = "run the gateway as this user")
    String user;

    @Option(names = "--print", description = "print the unit instead of writing " + "/etc/systemd/system/switchboard.service")
    boolean print;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      Path file = Main.configFile(config);
      GatewayConfig loaded = Main.loadOrReport(file, out).orElse(null);
      if (loaded == null) {
        return Main.INVALID;
      }
      String home = System.getProperty(Main.HOME_PROPERTY, "");
      Path root = home.isEmpty() ? Path.of("").toAbsolutePath() : Path.of(home);
      String unit = ServiceUnit.render(root, file, loaded.shutdownTimeout(), Optional.ofNullable(user));
      if (print) {
        out.print(unit);
        return 0;
      }
      try {
        Files.writeString(ServiceUnit.UNIT_PATH, unit);
      } catch (IOException e) {
        spec.commandLine().getErr().println("cannot write " + ServiceUnit.UNIT_PATH + " (" + e.getMessage()
            + "): run it with sudo, or use --print");
        return 1;
      }
      out.print(ServiceUnit.enableInstructions(ServiceUnit.UNIT_PATH));
      return 0;
    }
  }

  /** Prints the providers' breaker states and the channels' queue depths of a running gateway. */
  @Command(name = "status", description = "Show breaker states and channel queues of a running gateway.",
      mixinStandardHelpOptions = true)
  static final class Status implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin GatewayAddress gateway;

    @Override
    public Integer call() throws IOException {
      Optional<String> body = gateway.client(spec.commandLine()).get("/api/status");
      if (body.isEmpty()) {
        return 1;
      }
      print(spec.commandLine().getOut(), new ObjectMapper().readTree(body.get()), gateway.url);
      return 0;
    }

    /** How many of the recent alerts {@code gateway status} prints. */
    static final int ALERTS_SHOWN = 5;

    static void print(PrintWriter out, JsonNode status, String url) {
      out.println("gateway " + url + ", up " + status.path("uptime_seconds").asLong() + "s");
      JsonNode last = status.path("last_shutdown");
      if (last.isObject()) {
        out.println("previous run " + ShutdownRecord.describe(last));
      }
      List<List<String>> providers = new ArrayList<>();
      providers.add(List.of("PRIORITY", "PROVIDER", "STATE", "REASON", "OPEN UNTIL", "KEYS"));
      for (JsonNode p : status.path("providers")) {
        List<String> keys = new ArrayList<>();
        for (JsonNode key : p.path("keys")) {
          keys.add(key.path("alias").asText() + "=" + key.path("state").asText());
        }
        providers.add(List.of(
            p.path("priority").asText(),
            p.path("name").asText(),
            p.path("state").asText(),
            text(p.path("reason")),
            text(p.path("open_until")),
            keys.isEmpty() ? "-" : String.join(" ", keys)));
      }
      ProviderCommands.printTable(out, providers);
      out.println();
      List<List<String>> channels = new ArrayList<>();
      channels.add(List.of("CHANNEL", "STATE", "PENDING"));
      for (JsonNode c : status.path("channels")) {
        channels.add(List.of(
            c.path("name").asText(),
            c.path("state").asText(),
            c.path("pending").asInt() + "/" + c.path("max_pending").asInt()));
      }
      ProviderCommands.printTable(out, channels);
      JsonNode cluster = status.path("cluster");
      if (cluster.isObject()) {
        out.println();
        out.println("cluster: this node " + cluster.path("self").asText() + " (" + cluster.path("self_status").asText() + ")"
            + (cluster.hasNonNull("leader") ? ", leader " + cluster.path("leader").asText() : ""));
        List<List<String>> members = new ArrayList<>();
        members.add(List.of("MEMBER", "STATUS", "REACHABLE"));
        for (JsonNode m : cluster.path("members")) {
          String address = m.path("address").asText();
          members.add(List.of(address + (address.equals(cluster.path("self").asText()) ? " (this node)" : ""),
              m.path("status").asText(), m.path("reachable").asBoolean(true) ? "yes" : "no"));
        }
        ProviderCommands.printTable(out, members);
      }
      JsonNode alerts = status.path("alerts");
      if (alerts.isArray()) {
        out.println();
        out.println(alerts.isEmpty() ? "no alerts since start" : "recent alerts (newest first):");
        for (int i = 0; i < Math.min(ALERTS_SHOWN, alerts.size()); i++) {
          JsonNode alert = alerts.get(i);
          out.println("  " + alert.path("time").asText() + "  " + alert.path("text").asText(alert.path("message").asText()));
        }
        if (alerts.size() > ALERTS_SHOWN) {
          out.println("  ... " + (alerts.size() - ALERTS_SHOWN) + " more on the status page");
        }
      }
    }

    private static String text(JsonNode node) {
      return node.isMissingNode() || node.isNull() || node.asText().isEmpty() ? "-" : node.asText();
    }
  }
}
