package switchboard.channels;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * A chat channel's side of {@link Channel.Drain}: whoever asks is answered at once when nothing is
 * pending, else when the last pending message is answered ({@link #pendingChanged}) or at the first
 * drain's deadline (the channel's {@code deadline} message, handed to {@link #answer}). Used from the
 * channel actor only.
 */
public final class DrainWaiters {
  private final String channel;
  private final IntSupplier pending;
  private final TimerScheduler<Channel.Command> timers;
  private final Channel.Command deadline;
  private final List<ActorRef<Channel.Drained>> waiting = new ArrayList<>();

  public DrainWaiters(String channel, IntSupplier pending, TimerScheduler<Channel.Command> timers, Channel.Command deadline) {
    this.channel = channel;
    this.pending = pending;
    this.timers = timers;
    this.deadline = deadline;
  }

  public void add(Channel.Drain drain) {
    if (pending.getAsInt() == 0) {
      drain.replyTo().tell(new Channel.Drained(channel, 0));
      return;
    }
    if (waiting.isEmpty()) {
      timers.startSingleTimer(deadline, deadline, drain.timeout());
    }
    waiting.add(drain.replyTo());
  }

  /** Answers the waiters once nothing is pending any more. */
  public void pendingChanged() {
    if (pending.getAsInt() == 0 && !waiting.isEmpty()) {
      answer();
    }
  }

  /** Tells every waiter how many messages are still unanswered (the deadline, or the channel stopping). */
  public void answer() {
    waiting.forEach(w -> w.tell(new Channel.Drained(channel, pending.getAsInt())));
    waiting.clear();
    timers.cancel(deadline);
  }
}
