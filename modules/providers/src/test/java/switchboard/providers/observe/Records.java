package switchboard.providers.observe;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import switchboard.providers.BreakerState;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderEvents.BreakerChange;
import switchboard.providers.ProviderEvents.CallRecord;
import switchboard.providers.Usage;

/** Event records for the observer tests. */
final class Records {
  static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");

  private Records() {}

  static CallRecord call(String provider, String key, int status, OutcomeKind kind, Map<String, String> headers) {
    return new CallRecord(
        T0, provider, key, "gpt-4o-mini", "http:conv-7", 1, status, kind, Duration.ofMillis(250),
        kind == OutcomeKind.OK ? new Usage(12, 30) : Usage.NONE, kind == OutcomeKind.OK ? 0.0015 : 0.0, headers);
  }

  static BreakerChange open(String provider, Optional<String> key, OutcomeKind reason, Instant at) {
    return new BreakerChange(
        at, provider, key, BreakerState.CLOSED, BreakerState.OPEN, Optional.of(reason),
        Optional.of(at.plus(Duration.ofHours(14))), "opened by " + reason.wire());
  }

  static BreakerChange close(String provider, Optional<String> key, BreakerState from, Instant at) {
    return new BreakerChange(at, provider, key, from, BreakerState.CLOSED, Optional.empty(), Optional.empty(), "closed");
  }
}
