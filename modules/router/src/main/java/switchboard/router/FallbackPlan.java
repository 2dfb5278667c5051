package switchboard.router;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import switchboard.providers.OutcomeKind;

/**
 * Where a message goes when a provider fails: first to the provider's other keys (a pool of
 * {@code keys} of them), then to the providers after it in the order a message tries them
 * ({@link RouterActor#attemptOrder}) when its failure kind is one of {@code fallback.on}. Alerts read
 * it to say what will really happen ("messages go to backup meanwhile", or that they fail).
 */
public record FallbackPlan(List<String> order, Set<OutcomeKind> fallbackOn, Map<String, Integer> keys) {

  /** No providers, no fallback. */
  public static final FallbackPlan NONE = new FallbackPlan(List.of(), Set.of(), Map.of());

  public FallbackPlan {
    order = List.copyOf(order);
    fallbackOn = Set.copyOf(fallbackOn);
    keys = Map.copyOf(keys);
  }

  /** The plan of {@code providers} (any order) under {@code settings}, with each provider's key count. */
  public static FallbackPlan of(List<ProviderHandle> providers, RouterSettings settings, Map<String, Integer> keys) {
    List<ProviderHandle> byPriority = providers.stream().sorted(Comparator.comparingInt(ProviderHandle::priority)).toList();
    return new FallbackPlan(
        RouterActor.attemptOrder(byPriority).stream().map(ProviderHandle::name).toList(), settings.fallbackOn(), keys);
  }

  /** How many keys {@code provider} has (1 when unknown). */
  public int keysOf(String provider) {
    return keys.getOrDefault(provider, 1);
  }

  /** The providers a message falls back to, in order, when {@code provider} fails with {@code kind}. */
  public List<String> after(String provider, OutcomeKind kind) {
    int at = order.indexOf(provider);
    if (at < 0 || !fallbackOn.contains(kind)) {
      return List.of();
    }
    return order.subList(at + 1, order.size());
  }
}
