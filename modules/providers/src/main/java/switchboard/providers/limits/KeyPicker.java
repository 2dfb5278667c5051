package switchboard.providers.limits;

import java.util.OptionalInt;
import java.util.function.IntPredicate;
import switchboard.providers.config.ProviderConfig.KeyStrategy;

/**
 * Picks the next key of a credential pool among those that may be used now ({@code usable}):
 * {@code round-robin} rotates, {@code fill-first} uses the first usable key until it cannot be
 * used, {@code least-used} takes the key with the fewest calls so far. Not thread-safe: owned by
 * one provider actor.
 */
public final class KeyPicker {
  private final KeyStrategy strategy;
  private final long[] uses;
  private int cursor;

  public KeyPicker(KeyStrategy strategy, int keys) {
    this.strategy = strategy;
    this.uses = new long[keys];
  }

  /** The index of the key to use next, or empty when none is usable. Counts it as used. */
  public OptionalInt next(IntPredicate usable) {
    int n = uses.length;
    int chosen = -1;
    switch (strategy) {
      case ROUND_ROBIN -> {
        for (int i = 0; i < n && chosen < 0; i++) {
          int candidate = (cursor + i) % n;
          if (usable.test(candidate)) {
            chosen = candidate;
          }
        }
        if (chosen >= 0) {
          cursor = (chosen + 1) % n;
        }
      }
      case FILL_FIRST -> {
        for (int i = 0; i < n && chosen < 0; i++) {
          if (usable.test(i)) {
            chosen = i;
          }
        }
      }
      case LEAST_USED -> {
        for (int i = 0; i < n; i++) {
          if (usable.test(i) && (chosen < 0 || uses[i] < uses[chosen])) {
            chosen = i;
          }
        }
      }
    }
    if (chosen < 0) {
      return OptionalInt.empty();
    }
    uses[chosen]++;
    return OptionalInt.of(chosen);
  }

  public long uses(int key) {
    return uses[key];
  }
}
