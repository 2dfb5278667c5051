package switchboard.supervision.chaos;

import java.util.EnumMap;
import java.util.Map;
import java.util.Random;

/**
 * How often a fake provider answers with each {@link Fault}: a weighted draw from a random source
 * seeded by the run's seed, so a run's sequence of faults can be replayed.
 */
final class FaultMix {

  /** What kind of provider a fake plays. */
  enum Profile {
    /** The first provider: every fault, often. */
    FLAKY,
    /** The second: mostly fine, runs out of credits now and then, overloaded at times. */
    METERED,
    /** The rest: mostly fine. */
    STEADY
  }

  private final Map<Fault, Integer> weights;
  private final int total;
  private final Random random;

  private FaultMix(Map<Fault, Integer> weights, Random random) {
    this.weights = weights;
    this.total = weights.values().stream().mapToInt(Integer::intValue).sum();
    this.random = random;
  }

  /** The mix of {@code profile} for a provider of OpenAI's wire format ({@code openAi}) or Anthropic's. */
  static FaultMix of(Profile profile, boolean openAi, long seed) {
    Map<Fault, Integer> w = new EnumMap<>(Fault.class);
    // weights in tenths of a percent
    switch (profile) {
      case FLAKY -> {
        w.put(Fault.OK, 440);
        w.put(Fault.SLOW_OK, 50);
        w.put(Fault.SLOW_STREAM, 40);
        w.put(Fault.RATE_LIMITED_RETRY_AFTER, 70);
        w.put(Fault.RATE_LIMITED, 50);
        w.put(Fault.BUDGET_EXCEEDED, 8);
        w.put(Fault.INSUFFICIENT_QUOTA, 6);
        w.put(Fault.OUT_OF_CREDITS, 8);
        w.put(Fault.AUTH_FAILED, 3);
        w.put(Fault.SERVER_ERROR, 70);
        w.put(Fault.OVERLOADED, 30);
        w.put(Fault.HTML, 30);
        w.put(Fault.HANG, 15);
        w.put(Fault.CLOSE, 20);
        w.put(Fault.GARBAGE, 30);
        w.put(Fault.TRUNCATED, 30);
        w.put(Fault.STREAM_ERROR, 30);
        w.put(Fault.STREAM_DROP, 20);
        w.put(Fault.STREAM_STALL, 15);
        w.put(Fault.STREAM_CUT, 20);
      }
      case METERED -> {
        w.put(Fault.OK, 820);
        w.put(Fault.SLOW_STREAM, 40);
        w.put(Fault.OUT_OF_CREDITS, 10);
        w.put(Fault.OVERLOADED, 50);
        w.put(Fault.RATE_LIMITED_RETRY_AFTER, 30);
        w.put(Fault.SERVER_ERROR, 25);
        w.put(Fault.HANG, 5);
        w.put(Fault.GARBAGE, 10);
        w.put(Fault.STREAM_ERROR, 10);
      }
      case STEADY -> {
        w.put(Fault.OK, 900);
        w.put(Fault.SLOW_OK, 40);
        w.put(Fault.SERVER_ERROR, 35);
        w.put(Fault.RATE_LIMITED_RETRY_AFTER, 15);
        w.put(Fault.AUTH_FAILED, 2);
        w.put(Fault.STREAM_DROP, 8);
      }
    }
    if (!openAi) {
      w.keySet().removeIf(Fault::openAiOnly);
    }
    return new FaultMix(w, new Random(seed));
  }

  /** The next fault drawn. */
  synchronized Fault next() {
    int pick = random.nextInt(total);
    for (Map.Entry<Fault, Integer> e : weights.entrySet()) {
      pick -= e.getValue();
      if (pick < 0) {
        return e.getKey();
      }
    }
    throw new IllegalStateException("weights sum to " + total);
  }
}
