package switchboard.supervision;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import switchboard.providers.config.ProviderConfig;

/** {@code switchboard provider ...}: what a config's providers are, without starting anything. */
@Command(name = "provider", description = "Inspect the providers of a config.",
    subcommands = {ProviderCommands.ListProviders.class, ProviderCommands.Reset.class}, mixinStandardHelpOptions = true)
final class ProviderCommands implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (list, reset)");
  }

  /**
   * Closes the breakers of a provider (or one key) of a running gateway, e.g. after topping up: the
   * next message may use it at once. One line on success (exit 0) or failure (exit 1).
   */
  @Command(name = "reset", description = "Close the breakers of provider NAME (or one key) of a running gateway.",
      mixinStandardHelpOptions = true)
  static final class Reset implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "the provider's name")
    String name;

    @Option(names = "--key", paramLabel = "ALIAS", description = "only this key, by alias (e.g. primary#2)")
    String key;

    @Mixin GatewayAddress gateway;

    @Override
    public Integer call() throws IOException {
      ObjectMapper json = new ObjectMapper();
      ObjectNode body = json.createObjectNode();
      if (key != null) {
        body.put("key", key);
      }
      String path = "/api/providers/" + URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20") + "/reset";
      Optional<String> answer = gateway.client(spec.commandLine()).post(path, body.toString());
      if (answer.isEmpty()) {
        return 1;
      }
      JsonNode reset = json.readTree(answer.get());
      JsonNode status = reset.path("status");
      List<String> keys = new ArrayList<>();
      status.path("keys").forEach(k -> keys.add(k.path("alias").asText() + "=" + k.path("state").asText()));
      boolean nothingOpen = reset.path("closed").asInt() == 0;
      spec.commandLine().getOut().println("reset " + name + (key == null ? "" : " key " + key)
          + (nothingOpen ? " (nothing was open)" : "") + ": provider " + status.path("state").asText("unknown")
          + (keys.isEmpty() ? "" : ", keys " + String.join(" ", keys)));
      return 0;
    }
  }

  /** One row per provider by priority; keys appear only as aliases like {@code primary#1}. */
  @Command(name = "list", description = "List providers by priority (keys only as aliases).",
      mixinStandardHelpOptions = true)
  static final class ListProviders implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
        description = "config file (default: " + Main.DEFAULT_CONFIG + ")")
    Path config;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      GatewayConfig loaded = Main.loadOrReport(Main.configFile(config), out).orElse(null);
      if (loaded == null) {
        return Main.INVALID;
      }
      List<List<String>> rows = new ArrayList<>();
      rows.add(List.of("PRIORITY", "NAME", "KIND", "MODEL", "FALLBACK-ONLY", "KEYS", "RPM", "TPM", "BUDGET DAY/MONTH",
          "STATUS"));
      for (ProviderConfig p : loaded.providers()) {
        rows.add(List.of(
            String.valueOf(p.priority()),
            p.name(),
            p.kind().wire(),
            p.model(),
            p.fallbackOnly() ? "yes" : "no",
            p.apiKeys().isEmpty() ? "-" : String.join(",", p.keyAliases()),
            p.rateLimitRpm() == 0 ? "-" : String.valueOf(p.rateLimitRpm()),
            p.rateLimitTpm() == 0 ? "-" : String.valueOf(p.rateLimitTpm()),
            amount(p.budget().daily()) + "/" + amount(p.budget().monthly()),
            p.usable() ? "used" : "left out: no api key"));
      }
      printTable(out, rows);
      return 0;
    }

    private static String amount(double value) {
      if (value == 0) {
        return "-";
      }
      return value == Math.rint(value) ? String.valueOf((long) value) : String.valueOf(value);
    }
  }

  /** Left-aligned columns, two spaces apart. */
  static void printTable(PrintWriter out, List<List<String>> rows) {
    int columns = rows.get(0).size();
    int[] widths = new int[columns];
    for (List<String> row : rows) {
      for (int i = 0; i < columns; i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < columns; i++) {
        line.append(i == columns - 1 ? row.get(i) : String.format("%-" + (widths[i] + 2) + "s", row.get(i)));
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
