package switchboard.supervision.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import switchboard.providers.config.ConfigReader;
import switchboard.supervision.store.StoreConfig;

/**
 * {@code switchboard.cluster}: whether this process is one node of a Pekko Cluster, its address for
 * the other nodes ({@code host}, {@code port}: Artery TCP) and the static seed nodes it joins
 * through ({@code "host:port"} each). Off by default: a lone gateway opens no cluster port and runs
 * exactly as before.
 *
 * <p>Downing is Pekko's own split-brain resolver, {@code split-brain} choosing its strategy:
 * {@code lease-majority} (the default) with the lease in the shared store ({@link StoreLease}): the
 * side that holds the lease carries on, so the survivors of a 2- or 3-node cluster go on whichever
 * node is killed, and in a real partition only one side does. {@code keep-majority} needs no store
 * for downing but stops a 2-node cluster when its lower-address node dies. docs/cluster.md explains
 * the trade.
 */
public record ClusterConfig(
    boolean enabled, String host, int port, List<String> seedNodes, String splitBrain, Duration stableAfter) {

  /** The actor system's name: the same on every node, it is part of every node's address. */
  public static final String SYSTEM_NAME = "switchboard";

  public static final ClusterConfig OFF =
      new ClusterConfig(false, "127.0.0.1", 25520, List.of(), "lease-majority", Duration.ofSeconds(5));

  public ClusterConfig {
    seedNodes = List.copyOf(seedNodes);
  }

  /**
   * Reads {@code cluster.*} of the {@code switchboard} section. A cluster needs the shared
   * PostgreSQL store, seed nodes that parse (and are not listed twice), and a port that is not
   * also the HTTP channel's; each problem is one line naming the key.
   */
  public static ClusterConfig read(ConfigReader switchboard, StoreConfig store, String httpHost, int httpPort) {
    ConfigReader cluster = switchboard.section("cluster");
    boolean enabled = cluster.bool("enabled", false);
    String host = cluster.string("host", "127.0.0.1");
    int port = cluster.integer("port", 25520);
    List<String> seeds = cluster.strings("seed-nodes", List.of());
    String splitBrain = cluster.oneOf("split-brain", "lease-majority", List.of("lease-majority", "keep-majority"));
    Duration stableAfter = cluster.duration("stable-after", Duration.ofSeconds(5));
    if (!enabled) {
      return new ClusterConfig(false, host, port, seeds, splitBrain, stableAfter);
    }
    if (host.isBlank()) {
      cluster.problem("host", "\"\" is not a host (expected this node's address for the others, like \"10.0.0.5\")");
    }
    if (port < 1 || port > 65535) {
      cluster.problem("port", port + " is not a port (expected 1-65535)");
    } else if (port == httpPort && sameHost(host, httpHost)) {
      cluster.problem("port", port + " is also channels.http.port (each needs its own port)");
    }
    if (seeds.isEmpty()) {
      cluster.problem("seed-nodes", "is empty (expected the \"host:port\" of at least one node, e.g. this one's)");
    }
    Set<String> seen = new HashSet<>();
    for (String seed : seeds) {
      Optional<String> problem = seedProblem(seed);
      if (problem.isPresent()) {
        cluster.problem("seed-nodes", problem.get());
      } else if (!seen.add(normalized(seed))) {
        cluster.problem("seed-nodes", "\"" + seed + "\" is listed twice");
      }
    }
    if (store.kind() == StoreConfig.Kind.EMBEDDED) {
      switchboard.problem("persistence.store",
          "\"embedded\" cannot hold a cluster's state (every node needs the same store: set store = \"postgres\")");
    }
    if (stableAfter.isNegative() || stableAfter.isZero()) {
      cluster.problem("stable-after", stableAfter + " is not allowed (expected a positive duration)");
    }
    return new ClusterConfig(true, host, port, seeds, splitBrain, stableAfter);
  }

  private static boolean sameHost(String a, String b) {
    return a.equals(b) || b.equals("0.0.0.0") || a.equals("0.0.0.0");
  }

  private static String normalized(String seed) {
    return seed.trim().toLowerCase(java.util.Locale.ROOT);
  }

  /** Why {@code seed} is not a {@code host:port}, if it is not. */
  static Optional<String> seedProblem(String seed) {
    int colon = seed.lastIndexOf(':');
    if (colon <= 0 || colon == seed.length() - 1) {
      return Optional.of("\"" + seed + "\" is not host:port (expected e.g. \"127.0.0.1:25520\")");
    }
    String host = seed.substring(0, colon).trim();
    String port = seed.substring(colon + 1).trim();
    if (host.isEmpty() || host.contains("/") || host.contains(" ") || host.contains("@")) {
      return Optional.of("\"" + seed + "\" has no usable host (expected e.g. \"127.0.0.1:25520\")");
    }
    try {
      int p = Integer.parseInt(port);
      if (p < 1 || p > 65535) {
        return Optional.of("\"" + seed + "\" has port " + p + " (expected 1-65535)");
      }
    } catch (NumberFormatException e) {
      return Optional.of("\"" + seed + "\" has no numeric port (expected e.g. \"127.0.0.1:25520\")");
    }
    return Optional.empty();
  }

  /** This node as {@code host:port}, the way members are shown. */
  public String self() {
    return host + ":" + port;
  }

  /**
   * What this config sets in Pekko: the cluster provider over Artery TCP at {@code host:port}, the
   * seed nodes, the split-brain resolver, and the timings a chat backend wants (a dead node is
   * downed and its conversations and the Telegram poller move within ~{@code stable-after} + 5 s).
   * Empty (nothing changes) when the cluster is off.
   */
  public Config pekkoConfig() {
    if (!enabled) {
      return ConfigFactory.empty();
    }
    Map<String, Object> values = new LinkedHashMap<>();
    values.put("pekko.actor.provider", "cluster");
    values.put("pekko.remote.artery.transport", "tcp");
    values.put("pekko.remote.artery.canonical.hostname", host);
    values.put("pekko.remote.artery.canonical.port", port);
    List<String> seeds = new ArrayList<>();
    for (String seed : seedNodes) {
      seeds.add("pekko://" + SYSTEM_NAME + "@" + seed.trim());
    }
    values.put("pekko.cluster.seed-nodes", seeds);
    values.put("pekko.cluster.downing-provider-class", "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider");
    values.put("pekko.cluster.split-brain-resolver.active-strategy", splitBrain);
    values.put("pekko.cluster.split-brain-resolver.stable-after", stableAfter.toMillis() + "ms");
    return ConfigFactory.parseMap(values).withFallback(ConfigFactory.parseResources("switchboard-cluster.conf"));
  }
}
