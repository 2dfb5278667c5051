package switchboard.providers.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import switchboard.providers.wire.AnthropicKind;
import switchboard.providers.wire.OpenAiKind;
import switchboard.providers.wire.ProviderKind;
import switchboard.providers.wire.SimulatedKind;

/**
 * One entry of {@code switchboard.providers} (CONTRACT.md section 2), with the defaults of
 * {@code switchboard.provider-defaults} applied.
 */
public record ProviderConfig(
    String name,
    Kind kind,
    String baseUrl,
    String model,
    int priority,
    List<String> apiKeys,
    Duration timeout,
    int rateLimitRpm,
    long rateLimitTpm,
    QuotaReset quotaReset,
    boolean fallbackOnly,
    boolean authErrorsMeanQuota,
    Price price,
    Budget budget,
    int maxTokens,
    KeyStrategy keyStrategy,
    int throttleQueue,
    int maxConnections,
    Simulation simulate,
    Duration streamIdleTimeout) {

  /**
   * Pooled HTTP connections to one provider: calls beyond them wait in the pool's queue, so this
   * bounds how many answers can be generated at once (Pekko HTTP's own default of 4 would queue a
   * busy chat behind four slow completions).
   */
  public static final int DEFAULT_MAX_CONNECTIONS = 32;

  /** A stream silent this long after its first event has failed (CONTRACT.md section 6). */
  public static final Duration DEFAULT_STREAM_IDLE_TIMEOUT = Duration.ofSeconds(30);

  public ProviderConfig withStreamIdleTimeout(Duration idle) {
    return new ProviderConfig(
        name, kind, baseUrl, model, priority, apiKeys, timeout, rateLimitRpm, rateLimitTpm, quotaReset,
        fallbackOnly, authErrorsMeanQuota, price, budget, maxTokens, keyStrategy, throttleQueue, maxConnections,
        simulate, idle);
  }

  /**
   * Calls that may wait for a pooled connection; beyond it Pekko HTTP fails the call at once.
   * Generous, since each waiting call is a user's message already accepted by a channel (a power of
   * two, as Pekko requires).
   */
  public static final int MAX_OPEN_REQUESTS = 1024;

  /** Calls that may wait for one of this provider's {@code max-connections} (a power of two). */
  public int maxOpenRequests() {
    return Math.max(MAX_OPEN_REQUESTS, Integer.highestOneBit(maxConnections) * 2);
  }

  public ProviderConfig {
    Objects.requireNonNull(name, "name");
    apiKeys = List.copyOf(apiKeys);
  }

  /**
   * The registered provider kinds: each names the class that owns its wire format
   * ({@link ProviderKind}). Adding a kind is its class plus one line here.
   */
  public enum Kind {
    OPENAI(OpenAiKind.INSTANCE),
    ANTHROPIC(AnthropicKind.INSTANCE),
    SIMULATED(SimulatedKind.INSTANCE);

    private final ProviderKind impl;

    Kind(ProviderKind impl) {
      this.impl = impl;
    }

    /** The class that speaks this kind's wire format. */
    public ProviderKind impl() {
      return impl;
    }

    public String wire() {
      return impl.name();
    }

    public String defaultBaseUrl() {
      return impl.defaultBaseUrl();
    }

    public String defaultModel() {
      return impl.defaultModel();
    }

    static List<String> names() {
      return java.util.Arrays.stream(values()).map(Kind::wire).toList();
    }

    static Kind of(String wire) {
      for (Kind kind : values()) {
        if (kind.wire().equals(wire)) {
          return kind;
        }
      }
      throw new IllegalArgumentException(wire);
    }
  }

  /** How a credential pool picks the next key among those whose breaker is closed. */
  public enum KeyStrategy {
    ROUND_ROBIN("round-robin"),
    FILL_FIRST("fill-first"),
    LEAST_USED("least-used");

    private final String wire;

    KeyStrategy(String wire) {
      this.wire = wire;
    }

    public String wire() {
      return wire;
    }

    static List<String> names() {
      return List.of("round-robin", "fill-first", "least-used");
    }

    static KeyStrategy of(String wire) {
      for (KeyStrategy s : values()) {
        if (s.wire.equals(wire)) {
          return s;
        }
      }
      throw new IllegalArgumentException(wire);
    }
  }

  /** Price per million tokens, in the operator's currency; 0 = unknown. */
  public record Price(double inputPerMillion, double outputPerMillion) {
    public static final Price UNKNOWN = new Price(0, 0);

    public boolean known() {
      return inputPerMillion > 0 || outputPerMillion > 0;
    }
  }

  /** Spending caps in the price's currency; 0 = none. */
  public record Budget(double daily, double monthly) {
    public static final Budget NONE = new Budget(0, 0);
  }

  /**
   * How a {@code kind = "simulated"} provider misbehaves; 0 = never. Counts are of messages this
   * provider answered since start.
   *
   * @param outOfCreditsAfter answer out_of_credits from message N+1 on
   * @param rateLimitEvery    every Nth message is rate_limited (Retry-After {@code retryAfter})
   * @param failEvery         every Nth message is unavailable
   * @param latency           how long each answer takes
   */
  public record Simulation(
      int outOfCreditsAfter, int rateLimitEvery, int failEvery, Duration latency, Duration retryAfter) {
    public static final Simulation NONE =
        new Simulation(0, 0, 0, Duration.ofMillis(20), Duration.ofSeconds(1));
  }

  /** Aliases of this provider's keys, in order: {@code name#1}, {@code name#2}, ... */
  public List<String> keyAliases() {
    List<String> aliases = new ArrayList<>();
    for (int i = 1; i <= apiKeys.size(); i++) {
      aliases.add(name + "#" + i);
    }
    return aliases;
  }

  /**
   * A provider is used when it needs no key (simulated) or has at least one: a real provider whose
   * key variable is not set is left out at start-up with a warning, so one config serves with or
   * without keys.
   */
  public boolean usable() {
    return kind.impl().inProcess() || !apiKeys.isEmpty();
  }

  /**
   * Reads every entry of {@code switchboard.providers} of {@code switchboard}, each over
   * {@code switchboard.provider-defaults}; reports duplicate names. Sorted by priority, then order.
   */
  public static List<ProviderConfig> readAll(ConfigReader switchboard) {
    com.typesafe.config.Config defaults =
        switchboard.has("provider-defaults")
            ? switchboard.config().getConfig("provider-defaults")
            : com.typesafe.config.ConfigFactory.empty();
    List<ProviderConfig> out = new ArrayList<>();
    Set<String> names = new HashSet<>();
    List<ConfigReader> entries = switchboard.list("providers");
    for (ConfigReader entry : entries) {
      ProviderConfig provider = read(entry, defaults);
      if (!provider.name().isEmpty() && !names.add(provider.name())) {
        entry.problem("name", "\"" + provider.name() + "\" is used by another provider (expected unique names)");
      }
      out.add(provider);
    }
    out.sort(Comparator.comparingInt(ProviderConfig::priority));
    return out;
  }

  /** Reads one provider entry, with {@code defaults} under it. */
  public static ProviderConfig read(ConfigReader entry, com.typesafe.config.Config defaults) {
    ConfigReader r = entry.withFallback(defaults);
    String name = entry.has("name") ? r.requiredString("name") : "";
    if (!entry.has("name")) {
      entry.problem("name", "is missing (expected a unique name)");
    }
    Kind kind = Kind.of(r.oneOf("kind", "openai", Kind.names()));
    String baseUrl = r.string("base-url", "");
    if (baseUrl.isEmpty()) {
      baseUrl = kind.defaultBaseUrl();
    }
    if (!kind.impl().inProcess()
        && !(baseUrl.startsWith("http://") || baseUrl.startsWith("https://"))) {
      r.problem("base-url", "\"" + baseUrl + "\" is not a URL (expected http://... or https://...)");
    }
    while (baseUrl.endsWith("/")) {
      baseUrl = baseUrl.substring(0, baseUrl.length() - 1);
    }
    String model = r.string("model", "");
    if (model.isEmpty()) {
      model = kind.defaultModel();
    }
    int priority = r.atLeast("priority", 1, 1);
    List<String> keys = new ArrayList<>(r.strings("api-keys", List.of()));
    keys.removeIf(String::isBlank);
    Duration timeout = r.duration("timeout", Duration.ofSeconds(60));
    if (timeout.isZero() || timeout.isNegative()) {
      r.problem("timeout", timeout + " is not allowed (expected a positive duration)");
      timeout = Duration.ofSeconds(60);
    }
    int rpm = r.atLeast("rate-limit-rpm", 0, 0);
    long tpm = r.longValue("rate-limit-tpm", 0);
    if (tpm < 0) {
      r.problem("rate-limit-tpm", tpm + " is too small (expected at least 0)");
      tpm = 0;
    }
    QuotaReset quotaReset = QuotaReset.read(r, "quota-reset");
    boolean fallbackOnly = r.bool("fallback-only", false);
    boolean authQuota = r.bool("auth-errors-mean-quota", false);
    ConfigReader price = r.section("price");
    Price p = new Price(price.atLeast("input-per-million", 0.0, 0.0), price.atLeast("output-per-million", 0.0, 0.0));
    ConfigReader budget = r.section("budget");
    Budget b = new Budget(budget.atLeast("daily", 0.0, 0.0), budget.atLeast("monthly", 0.0, 0.0));
    int maxTokens = r.atLeast("max-tokens", 1024, 1);
    KeyStrategy strategy = KeyStrategy.of(r.oneOf("key-strategy", "round-robin", KeyStrategy.names()));
    int queue = r.atLeast("throttle-queue", 100, 0);
    int connections = r.atLeast("max-connections", DEFAULT_MAX_CONNECTIONS, 1);
    ConfigReader sim = r.section("simulate");
    Simulation simulation =
        new Simulation(
            sim.atLeast("out-of-credits-after", 0, 0),
            sim.atLeast("rate-limit-every", 0, 0),
            sim.atLeast("fail-every", 0, 0),
            sim.duration("latency", Simulation.NONE.latency()),
            sim.duration("retry-after", Simulation.NONE.retryAfter()));
    Duration idle = r.duration("stream-idle-timeout", DEFAULT_STREAM_IDLE_TIMEOUT);
    if (idle.isZero() || idle.isNegative()) {
      r.problem("stream-idle-timeout", idle + " is not allowed (expected a positive duration)");
      idle = DEFAULT_STREAM_IDLE_TIMEOUT;
    }
    return new ProviderConfig(
        name, kind, baseUrl, model, priority, keys, timeout, rpm, tpm, quotaReset, fallbackOnly, authQuota,
        p, b, maxTokens, strategy, queue, connections, simulation, idle);
  }

  /** A provider with every default, for tests. */
  public static ProviderConfig defaults(String name, Kind kind, String baseUrl, List<String> keys) {
    return new ProviderConfig(
        name, kind, baseUrl, kind.defaultModel(), 1, keys, Duration.ofSeconds(60), 0, 0,
        new QuotaReset.Daily(), false, false, Price.UNKNOWN, Budget.NONE, 1024, KeyStrategy.ROUND_ROBIN,
        100, DEFAULT_MAX_CONNECTIONS, Simulation.NONE, DEFAULT_STREAM_IDLE_TIMEOUT);
  }

  public ProviderConfig withPriority(int newPriority) {
    return new ProviderConfig(
        name, kind, baseUrl, model, newPriority, apiKeys, timeout, rateLimitRpm, rateLimitTpm, quotaReset,
        fallbackOnly, authErrorsMeanQuota, price, budget, maxTokens, keyStrategy, throttleQueue, maxConnections,
        simulate, streamIdleTimeout);
  }

  public ProviderConfig withTimeout(Duration newTimeout) {
    return new ProviderConfig(
        name, kind, baseUrl, model, priority, apiKeys, newTimeout, rateLimitRpm, rateLimitTpm, quotaReset,
        fallbackOnly, authErrorsMeanQuota, price, budget, maxTokens, keyStrategy, throttleQueue, maxConnections,
        simulate, streamIdleTimeout);
  }
}
