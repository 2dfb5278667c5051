package switchboard.channels;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import switchboard.providers.CborSerializable;

/**
 * The contract between the gateway and each of its channels (HTTP, Telegram, Discord, ...). The
 * gateway's root starts every enabled channel from its config section ({@link ChannelSettings}),
 * watches it, and then speaks to it only through these messages: it reads its {@link GetStatus
 * status}, {@link Drain drains} it for a shutdown and hands it {@link AdminNotice admin notices}.
 * A channel's own protocol extends {@link Command}, so its behaviour is a {@code
 * Behavior<Channel.Command>} and the root holds every channel as the same kind of reference.
 *
 * <p>Adding a channel is a new actor and its config section: see docs/channels.md, "Write a new
 * channel", and the Discord channel as the example.
 */
public final class Channel {
  private Channel() {}

  /** What every channel understands; a channel's own messages extend it. */
  public interface Command extends CborSerializable {}

  /** Reply with this channel's {@link ChannelStatus} (what {@code /api/status} lists). */
  public record GetStatus(ActorRef<ChannelStatus> replyTo) implements Command {}

  /**
   * Prepare for a shutdown: accept no new message from now on (or, for a channel whose users'
   * messages wait for it durably, keep them for after the restart) and reply once every message
   * accepted before is answered, or {@code timeout} has passed. A second Drain gets the same answer.
   */
  public record Drain(Duration timeout, ActorRef<Drained> replyTo) implements Command {}

  /** The answer to {@link Drain}: accepted messages of {@code channel} still unanswered (0 = all answered). */
  public record Drained(String channel, int unanswered) implements CborSerializable {}

  /**
   * An operator alert ({@code out_of_credits}, {@code all_providers_down}, ...) as one text. A
   * channel with an admin destination configured (Telegram's {@code alerts.telegram-chat-id}) sends
   * it there, retried like any answer; a channel without one ignores it.
   */
  public record AdminNotice(String text) implements Command {}
}
