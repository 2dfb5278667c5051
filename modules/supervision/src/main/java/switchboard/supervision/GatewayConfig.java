package switchboard.supervision;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import switchboard.providers.config.BreakerConfig;
import switchboard.providers.config.ConfigReader;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.config.RetryConfig;
import switchboard.channels.ChannelSettings;
import switchboard.channels.Channels;
import switchboard.channels.http.HttpChannelConfig;
import switchboard.channels.telegram.TelegramConfig;
import switchboard.router.ConversationSettings;
import switchboard.router.ModelRoutes;
import switchboard.router.RouterSettings;
import switchboard.supervision.ops.AlertsConfig;
import switchboard.supervision.ops.ProviderLogConfig;
import switchboard.supervision.cluster.ClusterConfig;
import switchboard.supervision.store.StoreConfig;

/**
 * The whole gateway configuration, read and validated in one pass so that a broken file is reported
 * completely (one line per problem) before anything starts, instead of failing on the first bad key
 * at run time. The file is HOCON, merged over every module's {@code reference.conf}; {@code ${?VAR}}
 * substitutions read the environment, which is how secrets get in without being written down.
 *
 * @param config        the resolved tree (user file over the references), for the actor system
 * @param providers     every provider entry by priority, including those left out for lack of a key
 * @param warnings      things worth telling the operator that do not stop the gateway
 */
public record GatewayConfig(
    Path source,
    Config config,
    List<ProviderConfig> providers,
    RetryConfig retry,
    BreakerConfig breaker,
    RouterSettings router,
    ConversationSettings conversations,
    List<ChannelSettings> channels,
    Path dataDir,
    Duration shutdownTimeout,
    AlertsConfig alerts,
    ProviderLogConfig providerLog,
    StoreConfig store,
    ClusterConfig cluster,
    ModelRoutes routes,
    List<String> warnings) {

  public GatewayConfig {
    providers = List.copyOf(providers);
    channels = List.copyOf(channels);
    warnings = List.copyOf(warnings);
  }

  /** {@code switchboard.channels.http}. */
  public HttpChannelConfig http() {
    return Channels.find(channels, HttpChannelConfig.class).orElseThrow();
  }

  /** {@code switchboard.channels.telegram}. */
  public TelegramConfig telegram() {
    return Channels.find(channels, TelegramConfig.class).orElse(TelegramConfig.DEFAULT);
  }

  /** The channels this gateway starts, in registry order. */
  public List<ChannelSettings> enabledChannels() {
    return channels.stream().filter(ChannelSettings::enabled).toList();
  }

  /** Environment variable that overrides {@code switchboard.data-dir}. */
  public static final String DATA_DIR_VARIABLE = "SWITCHBOARD_DATA_DIR";

  /** A configuration that cannot be used; {@link #problems()} has one line per problem. */
  public static final class Invalid extends Exception {
    private final List<String> problems;

    public Invalid(List<String> problems) {
      super(String.join("\n", problems));
      this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
      return problems;
    }
  }

  /** The providers the gateway runs: simulated ones and real ones with at least one key. */
  public List<ProviderConfig> usableProviders() {
    return providers.stream().filter(ProviderConfig::usable).toList();
  }

  /** Loads {@code file} with the process environment, resolving relative paths from the working directory. */
  public static GatewayConfig load(Path file) throws Invalid {
    return load(file, System.getenv(), Path.of("").toAbsolutePath());
  }

  /**
   * Loads {@code file}, taking substitutions from {@code env} only (so tests can set variables) and
   * resolving relative paths ({@code data-dir}, {@code provider-log.path}) from {@code workingDir}.
   */
  public static GatewayConfig load(Path file, Map<String, String> env, Path workingDir) throws Invalid {
    if (!Files.isRegularFile(file)) {
      throw new Invalid(List.of(file + ": config file not found"));
    }
    Config user;
    try {
      // absolute, so that `include "other.conf"` is found beside the including file
      user = ConfigFactory.parseFile(
          file.toAbsolutePath().toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    } catch (ConfigException e) {
      throw new Invalid(List.of(located(e)));
    }
    Config environment = ConfigValueFactory.fromMap(env).toConfig();
    Config reference = ConfigFactory.defaultReferenceUnresolved();
    Config resolved;
    Config known;
    try {
      resolved = withoutEnvironment(
          user.withFallback(PEKKO_DEFAULTS).withFallback(reference).withFallback(environment).resolve(ConfigResolveOptions.noSystem()),
          env.keySet(), user);
      known = reference.withFallback(environment).resolve(ConfigResolveOptions.noSystem());
    } catch (ConfigException e) {
      throw new Invalid(redacted(List.of(located(e)), env));
    }
    try {
      return read(file, user, resolved, known, env, workingDir);
    } catch (Invalid e) {
      throw new Invalid(redacted(e.problems(), env));
    }
  }

  /**
   * A problem line shows the value as written, which may have come from a secret's variable (e.g.
   * a key substituted into the wrong field): such values are masked.
   */
  private static List<String> redacted(List<String> problems, Map<String, String> env) {
    List<String> secrets =
        env.entrySet().stream()
            .filter(e -> SECRET_NAME.matcher(e.getKey()).find() && e.getValue().length() >= 6)
            .map(Map.Entry::getValue)
            .toList();
    return problems.stream()
        .map(line -> {
          String out = line;
          for (String secret : secrets) {
            // long values are shown cut short: mask whatever prefix of the secret appears
            for (int end = secret.length(); end >= 6; end--) {
              if (out.contains(secret.substring(0, end))) {
                out = out.replace(secret.substring(0, end), "<secret>");
                break;
              }
            }
          }
          return out;
        })
        .toList();
  }

  /** Pekko settings the gateway ships with: over Pekko's reference, under the user's config. */
  private static final Config PEKKO_DEFAULTS = ConfigFactory.parseResources(GatewayConfig.class, "/switchboard-pekko.conf");

  private static final java.util.regex.Pattern SECRET_NAME =
      java.util.regex.Pattern.compile("(?i)(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)");

  private static GatewayConfig read(
      Path file, Config user, Config resolved, Config known, Map<String, String> env, Path workingDir)
      throws Invalid {
    List<String> problems = new ArrayList<>();
    for (String key : user.root().keySet()) {
      if (!known.root().containsKey(key)) {
        problems.add(key + ": is not a known key" + UnknownKeys.hint(key, Set.of("switchboard", "pekko")));
      }
    }
    if (resolved.root().get("switchboard").valueType() != ConfigValueType.OBJECT) {
      problems.add("switchboard: is not an object (expected switchboard { ... })");
      throw new Invalid(problems);
    }
    problems.addAll(
        UnknownKeys.find(
            (ConfigObject) resolved.root().get("switchboard"), (ConfigObject) known.root().get("switchboard")));

    ConfigReader r = ConfigReader.of(resolved.getConfig("switchboard"), "switchboard");
    List<ProviderConfig> providers = ProviderConfig.readAll(r);
    RetryConfig retry = RetryConfig.read(r);
    BreakerConfig breaker = BreakerConfig.read(r);
    RouterSettings router = RouterSettings.read(r);
    ConversationSettings conversations = ConversationSettings.read(r);
    List<ChannelSettings> read = Channels.read(r);
    HttpChannelConfig http = Channels.find(read, HttpChannelConfig.class).orElseThrow();
    Path dataDir = workingDir.resolve(dataDir(r, env));
    Duration shutdownTimeout = positive(r, "shutdown-timeout", Duration.ofSeconds(10));
    AlertsConfig alerts = AlertsConfig.read(r);
    List<ChannelSettings> channels = read.stream()
        .map(c -> c instanceof TelegramConfig telegram ? telegram.withAdminChat(alerts.telegramChatId()) : c)
        .toList();
    ProviderLogConfig logged = ProviderLogConfig.read(r);
    ProviderLogConfig providerLog = new ProviderLogConfig(workingDir.resolve(logged.path()), logged.level());
    StoreConfig store = StoreConfig.read(r, dataDir);
    ClusterConfig cluster = ClusterConfig.read(r, store, http.host(), http.port());
    ModelRoutes routes = ModelRoutes.read(r, providers.stream().map(ProviderConfig::name)
        .collect(java.util.stream.Collectors.toSet()));

    List<String> warnings = new ArrayList<>();
    for (ProviderConfig provider : providers) {
      if (!provider.usable()) {
        warnings.add("provider " + provider.name() + " is left out: it has no api-keys (is its key variable set?)");
      }
    }
    if (providers.stream().noneMatch(ProviderConfig::usable)) {
      problems.add(
          "switchboard.providers: "
              + (providers.isEmpty() ? "is empty" : "has no usable provider")
              + " (expected at least one simulated provider or one with api-keys)");
    }
    problems.addAll(r.problems());
    if (!problems.isEmpty()) {
      throw new Invalid(problems);
    }
    return new GatewayConfig(
        file, resolved, providers, retry, breaker, router, conversations, channels, dataDir, shutdownTimeout, alerts,
        providerLog, store, cluster, routes, warnings);
  }

  private static String dataDir(ConfigReader r, Map<String, String> env) {
    String fromEnv = env.getOrDefault(DATA_DIR_VARIABLE, "");
    if (!fromEnv.isBlank()) {
      return fromEnv;
    }
    String dir = r.string("data-dir", "data");
    if (dir.isBlank()) {
      r.problem("data-dir", "\"\" is not a directory (expected a path like \"data\")");
      return "data";
    }
    return dir;
  }

  private static Duration positive(ConfigReader r, String key, Duration fallback) {
    Duration value = r.duration(key, fallback);
    if (value.isZero() || value.isNegative()) {
      r.problem(key, value + " is not allowed (expected a positive duration)");
      return fallback;
    }
    return value;
  }

  /** The environment was only a source for substitutions: it does not belong in the tree. */
  private static Config withoutEnvironment(Config resolved, Set<String> variables, Config user) {
    Config out = resolved;
    for (String variable : variables) {
      if (!user.root().containsKey(variable) && out.root().containsKey(variable)) {
        out = out.withoutPath(ConfigUtil.joinPath(variable));
      }
    }
    return out;
  }

  /** One line, {@code file:line: what}, for a parse or resolve error. */
  static String located(ConfigException e) {
    String message = e.getMessage();
    ConfigOrigin origin = e.origin();
    if (origin == null) {
      return message;
    }
    String description = origin.description();
    if (message.startsWith(description + ": ")) {
      message = message.substring(description.length() + 2);
    }
    String where = origin.filename() != null ? origin.filename() : description;
    if (origin.lineNumber() >= 0 && origin.filename() != null) {
      where += ":" + origin.lineNumber();
    }
    return where + ": " + message;
  }
}
