package switchboard.channels.http;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The channel's explicit pending count. A mailbox bound would drop overflow silently; this gate lets
 * the channel answer {@code busy} at once instead. Every admitted message holds a {@link Permit} that is
 * released exactly once, however its answer ends (reply, error, timeout).
 *
 * <p>A drain {@link #close closes} the gate: no message is admitted any more, and the callback runs
 * once, on whichever thread releases the last permit (or at once when none is out). Admission,
 * release and closing share one lock, so no message slips in after the gate reported empty.
 */
final class PendingGate {
  private final int max;
  private int pending;
  private long busyReplies;
  private boolean closed;
  private Runnable whenEmpty;

  PendingGate(int max) {
    this.max = max;
  }

  /**
   * A permit, or empty: when the gate is {@link #isClosed() closed}, or when {@code max} messages are
   * pending (then one more busy reply is counted).
   */
  synchronized Optional<Permit> tryAcquire() {
    if (closed) {
      return Optional.empty();
    }
    if (pending >= max) {
      busyReplies++;
      return Optional.empty();
    }
    pending++;
    return Optional.of(new Permit());
  }

  /** Admits nothing from now on; runs {@code whenEmpty} once no admitted message is pending. */
  void close(Runnable whenEmpty) {
    boolean emptyNow;
    synchronized (this) {
      closed = true;
      this.whenEmpty = whenEmpty;
      emptyNow = pending == 0;
    }
    if (emptyNow) {
      fireWhenEmpty();
    }
  }

  synchronized boolean isClosed() {
    return closed;
  }

  synchronized int pending() {
    return pending;
  }

  int max() {
    return max;
  }

  synchronized long busyReplies() {
    return busyReplies;
  }

  private void release() {
    boolean emptyNow;
    synchronized (this) {
      pending--;
      emptyNow = closed && pending == 0;
    }
    if (emptyNow) {
      fireWhenEmpty();
    }
  }

  private void fireWhenEmpty() {
    Runnable callback;
    synchronized (this) {
      callback = whenEmpty;
      whenEmpty = null;
    }
    if (callback != null) {
      callback.run();
    }
  }

  /** One admitted message; {@link #release()} is idempotent. */
  final class Permit {
    private final AtomicBoolean released = new AtomicBoolean();

    void release() {
      if (released.compareAndSet(false, true)) {
        PendingGate.this.release();
      }
    }
  }
}
