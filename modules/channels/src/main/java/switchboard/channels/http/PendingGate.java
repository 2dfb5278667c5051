package switchboard.channels.http;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The channel's explicit pending count. A mailbox bound would drop overflow silently; this gate lets
 * the channel answer {@code busy} at once instead. Every admitted message holds a {@link Permit} that is
 * released exactly once, however its answer ends (reply, error, timeout).
 */
final class PendingGate {
  private final int max;
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicLong busyReplies = new AtomicLong();

  PendingGate(int max) {
    this.max = max;
  }

  /** A permit, or empty (and one more busy reply counted) when {@code max} messages are pending. */
  Optional<Permit> tryAcquire() {
    while (true) {
      int now = pending.get();
      if (now >= max) {
        busyReplies.incrementAndGet();
        return Optional.empty();
      }
      if (pending.compareAndSet(now, now + 1)) {
        return Optional.of(new Permit());
      }
    }
  }

  int pending() {
    return pending.get();
  }

  int max() {
    return max;
  }

  long busyReplies() {
    return busyReplies.get();
  }

  /** One admitted message; {@link #release()} is idempotent. */
  final class Permit {
    private final AtomicBoolean released = new AtomicBoolean();

    void release() {
      if (released.compareAndSet(false, true)) {
        pending.decrementAndGet();
      }
    }
  }
}
