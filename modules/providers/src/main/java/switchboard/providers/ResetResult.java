package switchboard.providers;

import java.util.Optional;

/**
 * The answer to an operator's reset of a provider's breakers: whether the provider (and the key, when
 * one was named) exists, how many breakers the reset closed (0 when all were closed already), and the
 * provider's status afterwards.
 */
public record ResetResult(Outcome outcome, int closed, Optional<ProviderStatus> status) {

  /** What became of the reset. */
  public enum Outcome {
    RESET,
    UNKNOWN_PROVIDER,
    UNKNOWN_KEY
  }

  public static final ResetResult UNKNOWN_PROVIDER = new ResetResult(Outcome.UNKNOWN_PROVIDER, 0, Optional.empty());

  public static final ResetResult UNKNOWN_KEY = new ResetResult(Outcome.UNKNOWN_KEY, 0, Optional.empty());
}
