package switchboard.router;

import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import switchboard.providers.config.ConfigReader;

/**
 * {@code switchboard.routes} and {@code switchboard.unknown-models} (CONTRACT.md section 6): which
 * model names a caller may send, each naming a chain of providers tried in that order, and what
 * happens to a name that is neither a route nor a provider's model or name.
 *
 * @param routes        route name to provider names, by name (HOCON does not keep an object's order)
 * @param rejectUnknown {@code unknown-models = "reject"}: such a name is {@code model_not_found};
 *     otherwise ({@code "default-chain"}) it is served by the default chain
 */
public record ModelRoutes(Map<String, List<String>> routes, boolean rejectUnknown) {
  public static final ModelRoutes NONE = new ModelRoutes(Map.of(), false);

  /** What a {@code model} of {@code "default"} (or none) means. */
  public static final String DEFAULT_MODEL = "default";

  public ModelRoutes {
    Map<String, List<String>> copy = new LinkedHashMap<>();
    routes.forEach((name, chain) -> copy.put(name, List.copyOf(chain)));
    routes = java.util.Collections.unmodifiableMap(copy);
  }

  /**
   * Reads both keys of {@code switchboard}; every provider a chain names must be one of
   * {@code providerNames} (problems are reported on the reader, one per bad entry).
   */
  public static ModelRoutes read(ConfigReader switchboard, Set<String> providerNames) {
    String policy = switchboard.oneOf("unknown-models", "default-chain", List.of("default-chain", "reject"));
    Map<String, List<String>> routes = new java.util.TreeMap<>();
    if (switchboard.has("routes")) {
      ConfigValue value = switchboard.config().root().get("routes");
      if (value.valueType() != ConfigValueType.OBJECT) {
        switchboard.problem("routes", "must be an object of model name = [provider names]");
      } else {
        for (Map.Entry<String, ConfigValue> e : ((ConfigObject) value).entrySet()) {
          routes.put(e.getKey(), chain(switchboard, e.getKey(), e.getValue(), providerNames));
        }
      }
    }
    return new ModelRoutes(routes, policy.equals("reject"));
  }

  private static List<String> chain(ConfigReader switchboard, String name, ConfigValue value, Set<String> providers) {
    String key = "routes.\"" + name + "\"";
    List<String> out = new ArrayList<>();
    if (value.valueType() != ConfigValueType.LIST) {
      switchboard.problem(key, "must be a list of provider names, like [\"primary\", \"backup\"]");
      return out;
    }
    for (Object item : (List<?>) value.unwrapped()) {
      String provider = String.valueOf(item);
      if (!providers.contains(provider)) {
        switchboard.problem(key, "\"" + provider + "\" is not a provider (expected one of "
            + String.join(", ", new java.util.TreeSet<>(providers)) + ")");
      } else if (out.contains(provider)) {
        switchboard.problem(key, "\"" + provider + "\" is listed twice");
      } else {
        out.add(provider);
      }
    }
    if (out.isEmpty() && ((List<?>) value.unwrapped()).isEmpty()) {
      switchboard.problem(key, "is empty (expected at least one provider name)");
    }
    return out;
  }

  /** Every model name a caller may send, for {@code GET /v1/models}: the routes, then the providers' models. */
  public List<String> models(List<String> providerModels) {
    Set<String> out = new LinkedHashSet<>(routes.keySet());
    out.addAll(providerModels);
    return List.copyOf(out);
  }
}
