package switchboard.channels;

import org.apache.pekko.actor.typed.Behavior;

/**
 * One channel's config section ({@code switchboard.channels.<name>}), read and checked, and how to
 * start it. Each channel's config record implements this; {@link Channels#KINDS} lists how each is
 * read, and that list is the only place a new channel is registered.
 */
public interface ChannelSettings {

  /** The section's name, which is also the channel's name in {@code /api/status}, metrics and logs. */
  String name();

  boolean enabled();

  /**
   * Whether a cluster runs exactly one of this channel (a Cluster Singleton on the oldest node), as
   * for a bot that must not poll or connect twice; {@code false} runs it on every node (HTTP).
   */
  default boolean onePerCluster() {
    return false;
  }

  /** The channel's behaviour; the root spawns it under its restart-with-backoff supervisor. */
  Behavior<Channel.Command> behavior(ChannelContext context);
}
