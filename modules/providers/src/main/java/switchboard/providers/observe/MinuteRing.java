package switchboard.providers.observe;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * The last {@code minutes} one-minute buckets of something counted as it happens, in a ring of fixed
 * size: a slot is cleared and reused when its minute comes round again, so old minutes drop out and
 * memory never grows. Thread-safe; a call holds the ring's lock only while it touches the buckets
 * (no I/O, no waiting on anything), so an actor may feed it from its own thread.
 *
 * @param <B> the mutable bucket of one minute, only touched under the lock
 */
public final class MinuteRing<B> {
  /** The history the status page shows: the last hour. */
  public static final int HOUR = 60;

  private final Clock clock;
  private final Supplier<B> fresh;
  private final long[] minuteOf;
  private final List<B> buckets;

  public MinuteRing(int minutes, Clock clock, Supplier<B> fresh) {
    if (minutes < 1) {
      throw new IllegalArgumentException("minutes must be at least 1: " + minutes);
    }
    this.clock = clock;
    this.fresh = fresh;
    this.minuteOf = new long[minutes];
    Arrays.fill(minuteOf, Long.MIN_VALUE);
    this.buckets = new ArrayList<>(Collections.nCopies(minutes, null));
  }

  /**
   * Applies {@code update} to the bucket of the minute of {@code time} ({@code null}: now). A time
   * older than the ring keeps, or one whose slot already holds a later minute, is dropped.
   */
  public synchronized void update(Instant time, Consumer<B> update) {
    long minute = Math.floorDiv((time == null ? clock.instant() : time).getEpochSecond(), 60);
    int slot = (int) Math.floorMod(minute, minuteOf.length);
    if (minuteOf[slot] > minute || minute <= currentMinute() - minuteOf.length) {
      return;
    }
    if (minuteOf[slot] != minute) {
      minuteOf[slot] = minute;
      buckets.set(slot, fresh.get());
    }
    update.accept(buckets.get(slot));
  }

  /**
   * The minutes of the window ending now that have a bucket, oldest first, each read under the lock
   * by {@code read} from the minute's start and its bucket.
   */
  public synchronized <S> List<S> read(BiFunction<Instant, B, S> read) {
    long now = currentMinute();
    List<S> out = new ArrayList<>();
    for (long minute = now - minuteOf.length + 1; minute <= now; minute++) {
      int slot = (int) Math.floorMod(minute, minuteOf.length);
      if (minuteOf[slot] == minute) {
        out.add(read.apply(Instant.ofEpochSecond(minute * 60), buckets.get(slot)));
      }
    }
    return out;
  }

  /** The clock's present instant. */
  public Instant now() {
    return clock.instant();
  }

  private long currentMinute() {
    return Math.floorDiv(clock.instant().getEpochSecond(), 60);
  }
}
