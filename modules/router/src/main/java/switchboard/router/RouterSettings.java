package switchboard.router;

import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import switchboard.providers.OutcomeKind;
import switchboard.providers.config.ConfigReader;

/**
 * {@code switchboard.request-timeout} and {@code switchboard.fallback}: how long one user message may
 * take in all, and which outcomes move it on to the next provider.
 */
public record RouterSettings(Duration requestTimeout, Set<OutcomeKind> fallbackOn) {

  public static final RouterSettings DEFAULT =
      new RouterSettings(
          Duration.ofSeconds(120),
          EnumSet.of(
              OutcomeKind.OUT_OF_CREDITS,
              OutcomeKind.RATE_LIMITED,
              OutcomeKind.BUDGET_EXCEEDED,
              OutcomeKind.UNAVAILABLE));

  public RouterSettings {
    fallbackOn = fallbackOn.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(fallbackOn));
  }

  public static RouterSettings read(ConfigReader switchboard) {
    Duration timeout = switchboard.duration("request-timeout", DEFAULT.requestTimeout());
    ConfigReader fallback = switchboard.section("fallback");
    List<String> names =
        fallback.strings("on", DEFAULT.fallbackOn().stream().map(OutcomeKind::wire).toList());
    EnumSet<OutcomeKind> kinds = EnumSet.noneOf(OutcomeKind.class);
    for (String name : names) {
      OutcomeKind kind = OutcomeKind.fromWire(name).orElse(null);
      if (kind == null || kind == OutcomeKind.OK) {
        fallback.problem(
            "on",
            "\"" + name + "\" is not an outcome kind (expected some of rate_limited, budget_exceeded, "
                + "out_of_credits, auth_failed, bad_request, unavailable)");
      } else {
        kinds.add(kind);
      }
    }
    return new RouterSettings(timeout, kinds);
  }
}
