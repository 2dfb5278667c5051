package switchboard.supervision.chaos;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * One soak's settings, from {@code switchboard chaos}.
 *
 * @param rate user messages per second over all channels
 * @param kill whether the gateway process is killed (SIGKILL) and stopped (SIGTERM) at random moments, and restarted
 * @param config the operator's gateway config to soak; empty = the built-in one
 * @param breaks promises broken on purpose, to see their checks fail
 * @param dir where the run keeps its configs, data and logs
 */
record ChaosSettings(
    Duration duration, long seed, double rate, boolean kill, Optional<Path> config, Set<Sabotage> breaks, Path dir) {

  static final Duration MAX_DURATION = Duration.ofHours(24);
  static final double MAX_RATE = 200;

  ChaosSettings {
    breaks = Set.copyOf(breaks);
  }

  boolean breaks(Sabotage s) {
    return breaks.contains(s);
  }
}
