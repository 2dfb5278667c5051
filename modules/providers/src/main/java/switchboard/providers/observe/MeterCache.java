package switchboard.providers.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Meters looked up by name and tag values instead of built and registered on every event: a
 * {@code Counter.builder(...).register(registry)} per call builds an id, sorts its tags and searches
 * the registry, which under load cost more than the counting itself. The first event of a tag tuple
 * registers the meter; later ones find it in one hash lookup. Thread-safe.
 */
public final class MeterCache {
  private final MeterRegistry registry;
  private final Map<List<String>, Counter> counters = new ConcurrentHashMap<>();
  private final Map<List<String>, Timer> timers = new ConcurrentHashMap<>();

  public MeterCache(MeterRegistry registry) {
    this.registry = registry;
  }

  /** The counter {@code name} with {@code tags} (name, value, name, value...), registered on first use. */
  public Counter counter(String name, String description, String... tags) {
    return counters.computeIfAbsent(
        key(name, tags), k -> Counter.builder(name).description(description).tags(tags).register(registry));
  }

  /**
   * The timer {@code name} with {@code tags}, registered on first use by {@code build} (which adds its
   * description, histogram and bounds to the builder it is given).
   */
  public Timer timer(String name, Function<Timer.Builder, Timer.Builder> build, String... tags) {
    return timers.computeIfAbsent(key(name, tags), k -> build.apply(Timer.builder(name).tags(tags)).register(registry));
  }

  private static List<String> key(String name, String[] tags) {
    String[] key = new String[tags.length + 1];
    key[0] = name;
    System.arraycopy(tags, 0, key, 1, tags.length);
    return List.of(key);
  }
}
