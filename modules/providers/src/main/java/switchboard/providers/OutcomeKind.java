package switchboard.providers;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * The one outcome every provider response is classified into (CONTRACT.md section 3).
 * {@link #wire()} is the name used in config ({@code fallback.on}), JSON error bodies, logs and metrics.
 */
public enum OutcomeKind {
  OK,
  RATE_LIMITED,
  BUDGET_EXCEEDED,
  OUT_OF_CREDITS,
  AUTH_FAILED,
  BAD_REQUEST,
  UNAVAILABLE;

  private final String wire = name().toLowerCase(Locale.ROOT);

  public String wire() {
    return wire;
  }

  /** Whether the same provider may be called again for the same message. */
  public boolean retryable() {
    return this == RATE_LIMITED || this == UNAVAILABLE;
  }

  public static Optional<OutcomeKind> fromWire(String name) {
    return Arrays.stream(values()).filter(k -> k.wire.equals(name)).findFirst();
  }
}
