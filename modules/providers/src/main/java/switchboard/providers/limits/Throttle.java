package switchboard.providers.limits;

import java.time.Duration;
import java.time.Instant;

/**
 * A provider's self-throttle: keeps calls under {@code rate-limit-rpm} and {@code rate-limit-tpm},
 * and under what the provider itself says through its rate-limit headers.
 *
 * <p>Requests are spaced evenly, {@code 60s / rpm} apart, with no burst: 60 rpm means one call a
 * second, never ten at once. Tokens are a bucket that holds one minute's worth ({@code tpm}) and
 * refills continuously; a call takes its estimated tokens, and the estimate is corrected from the
 * response's usage afterwards (the bucket may go into debt, which delays later calls). When the
 * provider reports {@code remaining = 0} until a reset instant, no call is let through before then,
 * whatever the configured limits; a smaller remaining count than the local bucket tightens it.
 *
 * <p>Not thread-safe: owned by one provider actor (or one key of it).
 */
public final class Throttle {
  private static final Duration MINUTE = Duration.ofMinutes(1);

  private final int rpm;
  private final long tpm;
  /** Among how many cluster nodes the configured limits are divided (1 = a single gateway). */
  private int parts = 1;
  /** The earliest instant the next request may start (virtual scheduling, no burst). */
  private Instant nextRequestAt = Instant.EPOCH;
  /** Tokens in the bucket at {@link #tokensAt}; may be negative after corrections. */
  private double tokens;
  private Instant tokensAt = Instant.EPOCH;
  /** The provider said: nothing left until then. */
  private Instant blockedUntil = Instant.EPOCH;
  /** The provider said how many requests are left until a reset; -1 = unknown. */
  private long providerRequestsLeft = -1;
  private Instant providerRequestsReset = Instant.EPOCH;

  public Throttle(int rpm, long tpm) {
    this.rpm = Math.max(rpm, 0);
    this.tpm = Math.max(tpm, 0);
    this.tokens = this.tpm;
  }

  /**
   * This node's share of the configured limits when {@code parts} nodes call the provider: each gets
   * {@code rpm / parts} and {@code tpm / parts}, so together they stay under the configured limits.
   * Called again when the number of nodes changes; the provider's own headers are not divided.
   */
  public void divideAmong(int parts) {
    this.parts = Math.max(1, parts);
    if (tpm > 0 && tokens > capacity()) {
      tokens = capacity();
    }
  }

  /** The tokens-per-minute this node may use (its share of {@code tpm}). */
  private double capacity() {
    return tpm / (double) parts;
  }

  /** The spacing between two requests under this node's share of {@code rpm}. */
  private Duration spacing() {
    return MINUTE.multipliedBy(parts).dividedBy(rpm);
  }

  /** A throttle with no configured limit, that still obeys the provider's headers. */
  public static Throttle unlimited() {
    return new Throttle(0, 0);
  }

  /** How long a call costing {@code estimatedTokens} must wait from {@code now}; zero = may go now. */
  public Duration waitFor(long estimatedTokens, Instant now) {
    Instant ready = now;
    if (blockedUntil.isAfter(ready)) {
      ready = blockedUntil;
    }
    if (providerRequestsLeft == 0 && providerRequestsReset.isAfter(ready)) {
      ready = providerRequestsReset;
    }
    if (rpm > 0 && nextRequestAt.isAfter(ready)) {
      ready = nextRequestAt;
    }
    if (tpm > 0) {
      double needed = Math.min(estimatedTokens, capacity());
      double available = tokensAt(now);
      if (available < needed) {
        double perNano = capacity() / MINUTE.toNanos();
        Instant tokenReady = now.plusNanos((long) Math.ceil((needed - available) / perNano));
        if (tokenReady.isAfter(ready)) {
          ready = tokenReady;
        }
      }
    }
    return ready.isAfter(now) ? Duration.between(now, ready) : Duration.ZERO;
  }

  /** Takes room for a call that starts now; call only when {@link #waitFor} answered zero. */
  public void take(long estimatedTokens, Instant now) {
    if (rpm > 0) {
      Instant base = nextRequestAt.isAfter(now) ? nextRequestAt : now;
      nextRequestAt = base.plus(spacing());
    }
    if (tpm > 0) {
      tokens = tokensAt(now) - estimatedTokens;
      tokensAt = now;
    }
    if (providerRequestsLeft > 0) {
      providerRequestsLeft--;
    }
  }

  /** Corrects the bucket once the real token count of a call is known. */
  public void correct(long estimatedTokens, long actualTokens, Instant now) {
    if (tpm > 0 && actualTokens > 0) {
      tokens = tokensAt(now) + estimatedTokens - actualTokens;
      tokensAt = now;
    }
  }

  /**
   * What the provider said in its rate-limit headers: {@code requestsLeft} and {@code tokensLeft}
   * (-1 where it did not say) until the matching reset instants.
   */
  public void learn(long requestsLeft, Instant requestsReset, long tokensLeft, Instant tokensReset, Instant now) {
    if (requestsLeft >= 0) {
      providerRequestsLeft = requestsLeft;
      providerRequestsReset = requestsReset;
      if (requestsLeft == 0 && requestsReset.isAfter(blockedUntil)) {
        blockedUntil = requestsReset;
      }
    }
    if (tokensLeft >= 0) {
      if (tokensLeft == 0 && tokensReset.isAfter(blockedUntil)) {
        blockedUntil = tokensReset;
      }
      if (tpm > 0 && tokensAt(now) > tokensLeft) {
        tokens = tokensLeft;
        tokensAt = now;
      }
    }
  }

  /** Requests still allowed in the current minute: -1 when nothing limits them. */
  public long requestsLeft(Instant now) {
    if (blockedUntil.isAfter(now)) {
      return 0;
    }
    long configured = -1;
    if (rpm > 0) {
      long spacing = spacing().toNanos();
      long aheadNanos = nextRequestAt.isAfter(now) ? Duration.between(now, nextRequestAt).toNanos() : 0;
      configured = Math.max(0, rpm / parts - (aheadNanos + spacing - 1) / spacing);
    }
    if (providerRequestsLeft >= 0 && providerRequestsReset.isAfter(now)) {
      return configured < 0 ? providerRequestsLeft : Math.min(configured, providerRequestsLeft);
    }
    return configured;
  }

  /** Tokens in the bucket now: -1 when no tokens-per-minute limit is set. */
  public long tokensLeft(Instant now) {
    if (tpm <= 0) {
      return -1;
    }
    return Math.max(0, (long) Math.floor(tokensAt(now)));
  }

  private double tokensAt(Instant now) {
    if (!now.isAfter(tokensAt)) {
      return tokens;
    }
    double refill = Duration.between(tokensAt, now).toNanos() * (capacity() / MINUTE.toNanos());
    return Math.min(capacity(), tokens + refill);
  }
}
