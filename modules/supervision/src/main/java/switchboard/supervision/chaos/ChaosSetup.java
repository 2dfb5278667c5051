package switchboard.supervision.chaos;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import switchboard.providers.config.ProviderConfig;
import switchboard.supervision.GatewayConfig;
import switchboard.testkit.discord.FakeDiscord;
import switchboard.testkit.telegram.FakeBotApi;

/**
 * Everything a soak stands up before the gateway starts: one fake provider per provider of the
 * config (each with fresh, random keys), a fake Telegram with a random token, a free HTTP port with
 * a random gateway token, and two config files: the one the checks hold the gateway to, and the one
 * the gateway runs with (the same, unless a {@link Sabotage} changes it). Both are the soaked config
 * with everything that reaches outside replaced: provider addresses and keys, channels (HTTP, and the
 * fake Telegram and Discord), alerts, the store (embedded, in the run's directory) and the cluster
 * (off). Loopback only.
 */
final class ChaosSetup implements AutoCloseable {

  /** The soak's own config, when the operator gives none: three providers that misbehave in different ways. */
  static String builtInConfig(double rate, Duration duration) {
    // a daily cap on "metered" that a run reaches part way (each of its answers bills about 0.01)
    double cap = Math.max(0.03, 0.0004 * rate * duration.toSeconds());
    return String.format(java.util.Locale.ROOT, """
        # switchboard chaos: the built-in soak config (keys and addresses are replaced per run)
        switchboard {
          providers = [
            { name = "flaky", kind = "openai", model = "chaos-flaky", priority = 1, api-keys = ["one", "two"],
              timeout = 2s, quota-reset = 5s, stream-idle-timeout = 1s,
              price { input-per-million = 10, output-per-million = 30 } }
            { name = "metered", kind = "anthropic", model = "chaos-metered", priority = 2, api-keys = ["one"],
              timeout = 2s, quota-reset = 5s, stream-idle-timeout = 1s,
              price { input-per-million = 100, output-per-million = 300 }, budget { daily = %.4f } }
            { name = "steady", kind = "openai", model = "chaos-steady", priority = 3, api-keys = ["one", "two"],
              timeout = 3s, quota-reset = 5s, stream-idle-timeout = 1s }
          ]
          retry { max-retries = 2, backoff-base = 200ms, backoff-max = 1s, max-retry-after = 2s }
          breaker { unavailable-threshold = 5, cooldown-base = 2s, cooldown-max = 10s }
          request-timeout = 30s
          shutdown-timeout = 10s
          conversations { idle-timeout = 10s }
          channels.http.max-pending-messages = 500
          channels.telegram { max-pending-messages = 50, poll-timeout = 1s, retry-backoff-base = 200ms, retry-backoff-max = 2s }
        }
        """, cap);
  }

  private static final SecureRandom RANDOM = new SecureRandom();

  final Path dir;
  /** The config the checks hold the gateway to. */
  final GatewayConfig checked;
  /** The file the gateway runs with. */
  final Path gatewayConf;
  final List<ChaosProvider> providers = new ArrayList<>();
  final FakeBotApi telegram;
  final FakeDiscord discord;
  final int httpPort;
  final String httpToken;
  /** Every secret of the run: keys, the bot token, the gateway token. */
  final List<String> secrets = new ArrayList<>();

  private ChaosSetup(Path dir, GatewayConfig checked, Path gatewayConf, FakeBotApi telegram, FakeDiscord discord,
      int httpPort, String httpToken) {
    this.dir = dir;
    this.checked = checked;
    this.gatewayConf = gatewayConf;
    this.telegram = telegram;
    this.discord = discord;
    this.httpPort = httpPort;
    this.httpToken = httpToken;
  }

  /**
   * Stands up the fakes (providers, Telegram, Discord) and writes the configs under {@code settings.dir()}.
   *
   * @throws GatewayConfig.Invalid when the soaked config is not valid (its problems, one per line)
   */
  static ChaosSetup create(ChaosSettings settings, ChaosHistory history) throws GatewayConfig.Invalid, IOException {
    Path dir = settings.dir();
    Files.createDirectories(dir);
    Path soaked = settings.config().orElse(dir.resolve("chaos-base.conf"));
    if (settings.config().isEmpty()) {
      Files.writeString(soaked, builtInConfig(settings.rate(), settings.duration()), StandardCharsets.UTF_8);
    }
    GatewayConfig original = GatewayConfig.load(soaked);
    String botToken = RANDOM.nextInt(100_000_000, 999_999_999) + ":AA" + secret(16);
    String httpToken = "sb-chaos-" + secret(12);
    String discordToken = "chaos-discord-" + secret(16);
    FakeBotApi telegram = FakeBotApi.start(botToken);
    FakeDiscord discord = FakeDiscord.start(discordToken);
    Fakes channels = new Fakes(telegram, discord, discordToken);
    List<ConfigObject> entries = new ArrayList<>();
    List<ChaosProvider> fakes = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    int index = 0;
    try {
      for (Config entry : original.config().getConfigList("switchboard.providers")) {
        ProviderConfig provider = original.providers().stream()
            .filter(p -> p.name().equals(entry.getString("name"))).findFirst().orElseThrow();
        if (provider.kind() == ProviderConfig.Kind.SIMULATED) {
          entries.add(entry.root());
          continue;
        }
        boolean openAi = provider.kind() == ProviderConfig.Kind.OPENAI;
        List<String> providerKeys = new ArrayList<>();
        for (int i = 0; i < Math.max(1, provider.apiKeys().size()); i++) {
          providerKeys.add((openAi ? "sk-chaos-" : "sk-ant-chaos-") + secret(12));
        }
        keys.addAll(providerKeys);
        FaultMix.Profile profile = FaultMix.Profile.values()[Math.min(index++, FaultMix.Profile.values().length - 1)];
        ChaosProvider fake = new ChaosProvider(provider.name(), openAi, providerKeys, provider.price(),
            FaultMix.of(profile, openAi, settings.seed() * 31 + index), history);
        fakes.add(fake);
        entries.add(entry.root()
            .withValue("base-url", ConfigValueFactory.fromAnyRef(fake.baseUrl()))
            .withValue("api-keys", ConfigValueFactory.fromIterable(providerKeys)));
      }
    } catch (IOException | RuntimeException e) {
      fakes.forEach(ChaosProvider::close);
      channels.close();
      throw e;
    }
    int port = freePort();
    Path checkedConf = dir.resolve("chaos-checked.conf");
    Files.writeString(checkedConf, config(soaked, entries, dir, port, httpToken, channels, ""), StandardCharsets.UTF_8);
    Path gatewayConf = dir.resolve("chaos-gateway.conf");
    Files.writeString(gatewayConf, config(soaked, sabotaged(entries, fakes, settings), dir, port, httpToken, channels,
        sabotagedSettings(original, settings)), StandardCharsets.UTF_8);
    GatewayConfig checked;
    try {
      checked = GatewayConfig.load(checkedConf);
      GatewayConfig.load(gatewayConf);
    } catch (GatewayConfig.Invalid e) {
      fakes.forEach(ChaosProvider::close);
      channels.close();
      throw e;
    }
    ChaosSetup setup = new ChaosSetup(dir, checked, gatewayConf, telegram, discord, port, httpToken);
    setup.providers.addAll(fakes);
    setup.secrets.addAll(keys);
    setup.secrets.add(botToken);
    setup.secrets.add(discordToken);
    setup.secrets.add(httpToken);
    return setup;
  }

  /** The fake standing in for provider {@code name}, if any. */
  java.util.Optional<ChaosProvider> provider(String name) {
    return providers.stream().filter(p -> p.name.equals(name)).findFirst();
  }

  /** The fake chat services of a run. */
  private record Fakes(FakeBotApi telegram, FakeDiscord discord, String discordToken) {
    void close() {
      telegram.close();
      discord.close();
    }
  }

  private static String config(
      Path soaked, List<ConfigObject> providers, Path dir, int port, String httpToken, Fakes fakes, String extra) {
    FakeBotApi telegram = fakes.telegram();
    List<String> rendered = providers.stream().map(p -> p.render(ConfigRenderOptions.concise())).toList();
    return "# written by switchboard chaos: the soaked config with everything that reaches outside replaced\n"
        + "include file(" + quote(soaked.toAbsolutePath().toString()) + ")\n"
        + "switchboard {\n"
        + "  providers = [\n    " + String.join(",\n    ", rendered) + "\n  ]\n"
        + "  data-dir = " + quote(dir.resolve("data").toAbsolutePath().toString()) + "\n"
        + "  provider-log.path = " + quote(dir.resolve("logs/provider.log").toAbsolutePath().toString()) + "\n"
        + "  alerts { webhook-url = \"\", telegram-chat-id = \"\" }\n"
        + "  persistence.store = \"embedded\"\n"
        + "  cluster.enabled = false\n"
        + "  channels {\n"
        + "    http { enabled = true, host = \"127.0.0.1\", port = " + port + ", auth-token = " + quote(httpToken) + " }\n"
        + "    telegram { enabled = true, base-url = " + quote(telegram.baseUrl()) + ", token = " + quote(telegram.token())
        + ", allowed-chat-ids = [] }\n"
        + "    discord { enabled = true, token = " + quote(fakes.discordToken()) + ", api-base-url = "
        + quote(fakes.discord().apiBaseUrl()) + ", gateway-url = " + quote(fakes.discord().gatewayUrl())
        + ", allowed-channel-ids = [], retry-backoff-base = 200ms, retry-backoff-max = 2s }\n"
        + "  }\n"
        + extra
        + "}\n";
  }

  /** The gateway's provider entries under {@code settings}' sabotage. */
  private static List<ConfigObject> sabotaged(List<ConfigObject> entries, List<ChaosProvider> fakes, ChaosSettings settings) {
    List<ConfigObject> out = new ArrayList<>(entries);
    if (fakes.isEmpty()) {
      return out;
    }
    if (settings.breaks(Sabotage.SPEND)) {
      out.replaceAll(e -> {
        Config c = e.toConfig();
        if (!c.hasPath("budget")) {
          return e;
        }
        ConfigObject budget = c.getObject("budget");
        for (String window : List.of("daily", "monthly")) {
          if (c.hasPath("budget." + window)) {
            budget = budget.withValue(window, ConfigValueFactory.fromAnyRef(c.getDouble("budget." + window) * 20));
          }
        }
        return e.withValue("budget", budget);
      });
    }
    if (settings.breaks(Sabotage.BREAKER)) {
      int first = indexOf(out, fakes.get(0).name);
      ConfigObject original = out.get(first);
      int priority = original.toConfig().hasPath("priority") ? original.toConfig().getInt("priority") : 1;
      out.replaceAll(e -> {
        Config c = e.toConfig();
        int p = c.hasPath("priority") ? c.getInt("priority") : 1;
        return p > priority ? e.withValue("priority", ConfigValueFactory.fromAnyRef(p + 1)) : e;
      });
      out.add(first + 1, original.withValue("name", ConfigValueFactory.fromAnyRef(fakes.get(0).name + "-shadow"))
          .withValue("priority", ConfigValueFactory.fromAnyRef(priority + 1)));
    }
    if (settings.breaks(Sabotage.SECRET)) {
      ChaosProvider last = fakes.get(fakes.size() - 1);
      int i = indexOf(out, last.name);
      out.set(i, out.get(i).withValue("name", ConfigValueFactory.fromAnyRef(last.name + "-" + last.keys.get(0))));
    }
    return out;
  }

  private static String sabotagedSettings(GatewayConfig original, ChaosSettings settings) {
    StringBuilder extra = new StringBuilder();
    if (settings.breaks(Sabotage.RETRIES)) {
      extra.append("  retry.max-retries = ").append(original.retry().maxRetries() + 3).append('\n');
    }
    if (settings.breaks(Sabotage.HEAP)) {
      extra.append("  conversations.idle-timeout = 1h\n  channels.http.max-body-size = 2m\n");
    }
    return extra.toString();
  }

  private static int indexOf(List<ConfigObject> entries, String name) {
    for (int i = 0; i < entries.size(); i++) {
      if (name.equals(entries.get(i).toConfig().getString("name"))) {
        return i;
      }
    }
    throw new IllegalStateException("no provider entry " + name);
  }

  private static String quote(String text) {
    return ConfigValueFactory.fromAnyRef(text).render(ConfigRenderOptions.concise());
  }

  private static String secret(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress("127.0.0.1", 0));
      return socket.getLocalPort();
    }
  }

  @Override
  public void close() {
    providers.forEach(ChaosProvider::close);
    telegram.close();
    discord.close();
  }
}
