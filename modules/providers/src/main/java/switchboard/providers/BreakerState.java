package switchboard.providers;

import java.util.Locale;

/** A breaker's state as shown in {@code /api/status}: closed, open or half_open. */
public enum BreakerState {
  CLOSED,
  OPEN,
  HALF_OPEN;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }
}
